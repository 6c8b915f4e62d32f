"""Embedded infrastructure: a real PostgreSQL + pgvector and a real nats-server, started by June.

One code path: these are the same servers and drivers a production deployment
uses, only started for you when ``JUNE_DATABASE_URL`` / ``JUNE_NATS_URL`` are unset.
"""


class InfraError(RuntimeError):
    """A part of the embedded infrastructure cannot start; ``str()`` says why and what to do."""
