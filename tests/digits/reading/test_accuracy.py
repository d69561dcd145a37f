"""Pictures as people post them read as well as the raw MNIST digits they were made from (within 3 points)."""

from __future__ import annotations


import numpy as np
import pytest

from digits.inference import InferenceService
from model_store import ModelStore
from network.architecture import normalize
from samples import pictures as styles
from samples.userlike import low_res_scan

DIGITS = 300
TOLERANCE = 0.03


def accuracy_gap(service: InferenceService, style: styles.Style, images: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(accuracy on the raw digits through `normalize`, accuracy on the styled pictures through the service)."""
    raw = ModelStore(service.store.root).load(service.version).network().predict(normalize(images)).argmax(axis=1)
    rng = np.random.default_rng(0)
    results = service.predict_batch([style(image, rng) for image in images])
    read = np.array([getattr(result, "digit", -1) for result in results])
    return float(np.mean(raw == labels)), float(np.mean(read == labels))


@pytest.mark.parametrize("name", list(styles.USER_IMAGE_STYLES))
def test_user_pictures_read_as_well_as_raw_digits(name: str, service: InferenceService, test_digits) -> None:
    images, labels = test_digits
    raw, styled = accuracy_gap(service, styles.USER_IMAGE_STYLES[name], images[:DIGITS], labels[:DIGITS])
    assert raw > 0.9, "the model under test is not properly trained"
    assert styled >= raw - TOLERANCE, f"{name}: {styled:.1%} on pictures, {raw:.1%} on the raw digits"


def test_12_megapixel_photos_read_as_well_as_raw_digits(service: InferenceService, test_digits) -> None:
    images, labels = test_digits
    # Fewer digits: each 4000×3000 JPEG takes a fifth of a second to make.
    raw, styled = accuracy_gap(service, styles.photo_4000x3000, images[:100], labels[:100])
    assert styled >= raw - TOLERANCE, f"{styled:.1%} on 4000×3000 photos, {raw:.1%} on the raw digits"


def test_low_resolution_scans_read_within_12_points_of_the_raw_digits(service: InferenceService, test_digits) -> None:
    # Issue 24: the photo preprocessing averaged every picture at least 64 px large over 3×3 pixels and measured the
    # ink against the whole picture, smearing a scan's blurred strokes thicker than MNIST's (15 points below raw with
    # this suite's tutorial-recipe model); read in its own region at its own scale, the scan loses 9.
    images, labels = test_digits
    raw, styled = accuracy_gap(service, low_res_scan, images[:DIGITS], labels[:DIGITS])
    assert styled >= raw - 0.12, f"{styled:.1%} on low-resolution scans, {raw:.1%} on the raw digits"
