"""Telegram bot worker (``june serve telegram``): voice and text in, voice and text out."""
