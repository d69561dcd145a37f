"""The versioned model store, laid out like TensorFlow Serving's, and its operator CLI (`python -m model_store`).

`store.py` holds the versions and the served pointer; `files.py` writes files whole or not at all; `__main__.py`
lists, shows, promotes and rolls back. Where the store is comes from `MODEL_STORE` (default `./models`).
"""

from collections.abc import Mapping
from pathlib import Path

from model_store.store import CorruptVersionError, LoadedModel, ModelStore, StoreError

__all__ = ["CorruptVersionError", "LoadedModel", "ModelStore", "StoreError", "store_location"]

DEFAULT_LOCATION = "models"


def store_location(env: Mapping[str, str]) -> Path:
    """Where the store is: `MODEL_STORE`, else `./models`."""
    return Path(env.get("MODEL_STORE") or DEFAULT_LOCATION)
