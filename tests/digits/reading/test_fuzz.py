"""Random bytes and damaged real images: the service answers with a Prediction or its own ImageError, nothing else."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from digits.inference import InferenceService, Prediction
from digits.reading import ImageError, ImageLimits
from model_store import ModelStore
from samples import pictures as styles
from tests.fixtures.hostile import dot_grid, tall_png

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def service(trained_store: Path):
    # A small pixel limit keeps mutated headers from asking for long decodes.
    service = InferenceService(ModelStore(trained_store), ImageLimits(max_pixels=4_000_000))
    service.load()
    yield service
    service.close()


# Every mode Pillow decodes the accepted formats to. (HSV is missing: no format Pillow reads back stores it.)
TIFF_MODES = ["1", "L", "P", "PA", "LA", "RGB", "RGBA", "CMYK", "LAB", "YCbCr", "I", "I;16", "I;16B", "F"]
# Paper and ink levels of float pictures at the ends of float32: subnormal, overflowing once stretched, the extremes.
FLOAT_LEVELS = [(0.0, 1e-40), (1e-45, 0.0), (-3e38, 3e38), (3.4e38, -3.4e38), (-3.4e38, 0.0)]


def in_mode(image: Image.Image, mode: str) -> Image.Image:
    return image.convert("I").convert(mode) if mode.startswith("I;16") else image.convert("RGB").convert(mode)


def float_tiff(coverage: np.ndarray, paper: float, ink: float, specks: float | None = None) -> bytes:
    pixels = (paper + (ink - paper) * coverage.astype(np.float64)).astype(np.float32)
    if specks is not None:
        pixels[::7, ::5] = specks
    return styles.encode(Image.fromarray(pixels, "F"), "TIFF")


@pytest.fixture(scope="module")
def seeds(test_digits) -> list[bytes]:
    rng = np.random.default_rng(0)
    digit = test_digits[0][0]
    drawing, coverage = styles.black_on_white(styles.upscale(digit, 60)), styles.upscale(digit, 60)
    return [
        styles.tiny_mnist(digit, rng), styles.phone_photo(digit, rng), styles.gif_first_frame(digit, rng), styles.palette_png(digit, rng),
        styles.cmyk_tiff(digit, rng), styles.exif_rotated(digit, rng), styles.encode(drawing, "WEBP"), styles.encode(drawing, "BMP"),
        styles.cmyk_jpeg(digit, rng), styles.sixteen_bit(digit, rng), styles.grey_alpha(digit, rng),
        *(styles.encode(in_mode(drawing, mode), "TIFF") for mode in TIFF_MODES),
        *(styles.encode(in_mode(drawing, mode), "PNG") for mode in ("1", "LA", "I;16")),
        *(float_tiff(coverage, paper, ink) for paper, ink in FLOAT_LEVELS),
        float_tiff(coverage, 0.0, 1.0, specks=np.nan), float_tiff(coverage, 0.0, 1.0, specks=np.inf),
        styles.encode(Image.fromarray((coverage * (2**32 - 1) - 2**31).astype(np.int32), "I"), "TIFF"),
    ]


# Pictures refused before they cost much (issue 25): a grid of 4,096 dots (4.2 s of CPU before; read at the scale of
# its ink, a grey texture), and 1 × 39,000,000 pixels (312 MB of Pillow's row pointers before; over this service's
# pixel limit, mutated ones under it).
REFUSED = {"a grid of 4,096 dots": (dot_grid, "no digit found|I can read up to 12 digits"),
           "1 × 39,000,000 pixels": (tall_png, "the image is too large")}


@pytest.fixture(scope="module")
def corpus(seeds: list[bytes]) -> list[bytes]:
    return seeds + [make() for make, _ in REFUSED.values()]


def test_every_seed_is_read(service: InferenceService, seeds: list[bytes]) -> None:
    for index, data in enumerate(seeds):
        assert isinstance(service.predict(data), Prediction), index


@pytest.mark.parametrize("name", REFUSED)
def test_hostile_seeds_are_refused_at_once(service: InferenceService, name: str) -> None:
    make, message = REFUSED[name]
    data = make()
    started = time.process_time()
    with pytest.raises(ImageError, match=message):
        service.predict(data)
    assert time.process_time() - started < 0.5  # CPU seconds; the grid of dots took 4.2 before


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
    choice=st.integers(min_value=0),
    edits=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255), st.sampled_from(["set", "insert", "delete", "truncate"])), min_size=1, max_size=8),
)
def test_mutated_images(service: InferenceService, corpus: list[bytes], choice: int, edits) -> None:
    data = bytearray(corpus[choice % len(corpus)])
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
