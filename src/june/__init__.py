"""June: a self-hosted voice assistant."""

__version__ = "0.1.0"
