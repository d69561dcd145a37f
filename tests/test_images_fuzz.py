"""Random bytes and damaged real images: the service answers with a Prediction or its own ImageError, nothing else."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from samples import pictures as styles
from digits.images import ImageError, ImageLimits
from digits.inference import InferenceService, Prediction
from model_store import ModelStore

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def service(trained_store: Path):
    # A small pixel limit keeps mutated headers from asking for long decodes.
    service = InferenceService(ModelStore(trained_store), ImageLimits(max_pixels=4_000_000))
    service.load()
    yield service
    service.close()


@pytest.fixture(scope="module")
def seeds(test_digits) -> list[bytes]:
    rng = np.random.default_rng(0)
    digit = test_digits[0][0]
    return [styles.tiny_mnist(digit, rng), styles.phone_photo(digit, rng), styles.gif_first_frame(digit, rng), styles.palette_png(digit, rng),
            styles.cmyk_tiff(digit, rng), styles.exif_rotated(digit, rng), styles.encode(styles.black_on_white(styles.upscale(digit, 60)), "WEBP"),
            styles.encode(styles.black_on_white(styles.upscale(digit, 60)), "BMP")]


def check(service: InferenceService, data: bytes) -> None:
    try:
        result = service.predict(data)
    except ImageError as error:
        assert str(error)
        return
    assert isinstance(result, Prediction) and 1 <= len(result.digits) <= 12 and result.number.isdigit()
    for reading in result.digits:
        assert 0 <= reading.digit <= 9 and np.isfinite(reading.probabilities).all() and reading.input_image.shape == (28, 28)


@FUZZ
@given(data=st.binary(max_size=2000))
def test_random_bytes(service: InferenceService, data: bytes) -> None:
    check(service, data)


@FUZZ
@given(
    choice=st.integers(min_value=0, max_value=7),
    edits=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255), st.sampled_from(["set", "insert", "delete", "truncate"])), min_size=1, max_size=8),
)
def test_mutated_images(service: InferenceService, seeds: list[bytes], choice: int, edits) -> None:
    data = bytearray(seeds[choice])
    for where, value, how in edits:
        at = min(int(where * len(data)), len(data) - 1) if data else 0
        if how == "set" and data:
            data[at] = value
        elif how == "insert":
            data.insert(at, value)
        elif how == "delete" and data:
            del data[at]
        elif how == "truncate":
            del data[at:]
    check(service, bytes(data))
