"""Speech-to-text service (``june serve stt``): any audio in, transcripts out, over gRPC."""
