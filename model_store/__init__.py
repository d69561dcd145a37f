"""The versioned model store and its operator CLI (`python -m model_store`).

`store.py` is the one interface (`ModelStore(location)` opens a folder or a `postgresql://` URL) and what every
kind of store shares; `folder.py` keeps the versions in a folder (one machine), `postgres.py` in PostgreSQL (a bot
on several machines); `locks.py` holds the locks every process of a bot sees (the trainer's, the gateway's
identify turns); `database.py` the PostgreSQL connections; `files.py` writes files whole or not at all;
`__main__.py` lists, shows, promotes, rolls back and copies. Where the store is comes from `MODEL_STORE`
(default `./models`).
"""

from collections.abc import Mapping
from pathlib import Path

from model_store.database import DatabaseError, is_database_url, location_text, password_of, redact
from model_store.folder import FolderStore
from model_store.locks import Holder, Lock, LockBusy, open_lock
from model_store.store import TRAINER_LOCK, CorruptVersionError, LoadedModel, ModelStore, StoreError

__all__ = ["TRAINER_LOCK", "CorruptVersionError", "DatabaseError", "FolderStore", "Holder", "LoadedModel", "Lock", "LockBusy",
           "ModelStore", "StoreError", "is_database_url", "location_text", "open_lock", "password_of", "redact",
           "store_location"]

DEFAULT_LOCATION = "models"


def store_location(env: Mapping[str, str]) -> Path | str:
    """Where the store is: `MODEL_STORE` (a folder, or a `postgresql://` URL), else `./models`. Any other URL stays
    text, for `ModelStore` to refuse in one line."""
    location = env.get("MODEL_STORE") or DEFAULT_LOCATION
    return location if "://" in location else Path(location)
