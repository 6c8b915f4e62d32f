"""The voice turn (issue 7): audio → stt → inference → sentence splitter → tts, shared by the
gateway and the Telegram bot. Built step by step; :mod:`june.voice.bargein` is the first."""
