"""Object storage (audio, uploads) behind one small interface."""

from june.storage.objects import (
    InvalidObjectKeyError,
    LocalObjectStore,
    ObjectNotFoundError,
    ObjectStore,
    S3ObjectStore,
    open_object_store,
)

__all__ = [
    "InvalidObjectKeyError",
    "LocalObjectStore",
    "ObjectNotFoundError",
    "ObjectStore",
    "S3ObjectStore",
    "open_object_store",
]
