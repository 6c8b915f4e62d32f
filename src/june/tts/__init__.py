"""Text-to-speech service (``june serve tts``): text in, audio streamed out, over gRPC."""
