"""Benchmarks of June as a whole, from the outside (``june bench e2e``).

The per-service benchmarks live with their services (``june.stt.bench``,
``june.tts.bench``, ``june.inference.bench``); these drive a running June
through its public API, the way a person's client does.
"""
