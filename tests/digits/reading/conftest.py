"""The fixture the tests of reading share: the inference service on the session's trained store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from digits.inference import InferenceService
from model_store import ModelStore


@pytest.fixture(scope="module")
def service(trained_store: Path) -> Iterator[InferenceService]:
    """The service reading with the suite's trained model (test_fuzz.py keeps its own, under tighter limits)."""
    service = InferenceService(ModelStore(trained_store))
    service.load()
    yield service
    service.close()
