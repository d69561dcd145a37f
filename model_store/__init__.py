"""The versioned model store, laid out like TensorFlow Serving's, and its operator CLI (`python -m model_store`).

`store.py` holds the versions and the served pointer; `__main__.py` lists, shows, promotes and rolls back.
"""

from model_store.store import CorruptVersionError, LoadedModel, ModelStore, StoreError

__all__ = ["CorruptVersionError", "LoadedModel", "ModelStore", "StoreError"]
