"""The digit network's definition, its MNIST data, its training and the versioned model store.

Nothing here imports TensorFlow except `model_store.training` and `build_keras_model`.
"""

from model_store.config import StoreSettings
from model_store.network import ArchitectureSpec, NumpyNetwork
from model_store.store import CorruptVersionError, LoadedModel, ModelStore, StoreError

__all__ = ["ArchitectureSpec", "CorruptVersionError", "LoadedModel", "ModelStore", "NumpyNetwork", "StoreError", "StoreSettings"]
