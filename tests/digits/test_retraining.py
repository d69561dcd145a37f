"""A retrain while serving, driven without Discord: train.py as a subprocess, the promotion decision, the hot swap."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from digits.inference import InferenceService
from digits.options import TrainingOptions
from digits.records import Done
from digits.retraining import Reason, RetrainJob, Status, trainer_environment
from digits.community import AnsweredDigit, Corrections, in_test_half
from model_store import ModelStore, password_of
from model_store.store import copy_versions, opened
from tests.fixtures.mnist import verified_mnist_dir
from tests.fixtures.models import two_versions

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def service(trained_store: Path, tmp_path: Path):
    root = tmp_path / "models"
    shutil.copytree(trained_store, root)
    service = InferenceService(ModelStore(root))
    service.load()
    yield service
    service.close()


def job(service: InferenceService, floor_points: float, train_limit: int = 3000) -> RetrainJob:
    return RetrainJob(TrainingOptions(epochs=1, batch_size=64), service, "a test", floor_points=floor_points,
                      train_limit=train_limit, mnist_dir=verified_mnist_dir())


@pytest.fixture
def any_service(trained_store: Path, store_location: Path | str):
    """The trained model served from a store of each kind (a folder, PostgreSQL)."""
    with opened(trained_store) as source, opened(store_location) as target:
        copy_versions(source, target)
    service = InferenceService(ModelStore(store_location))
    service.load()
    yield service
    service.close()
    service.store.close()


async def test_a_version_that_clears_the_floor_is_promoted_and_hot_swapped(
        any_service: InferenceService, database_location: Path | str, test_digits: tuple[np.ndarray, np.ndarray]) -> None:
    service = any_service
    # The bot's corrections are handed to the trainer (train.py --community, a file or a URL): 12 accepted examples,
    # by members whose examples are all trained on (none held out, so MNIST alone decides the promotion).
    images, labels = test_digits
    authors = [author for author in range(7000, 7100) if not in_test_half(author)][:12]
    corrections = Corrections(database_location)
    for index, author in enumerate(authors):
        answer = AnsweredDigit(7, 8, 20_000 + index, 0, author, images[index].astype(np.float32) / 255, 1,
                               (int(labels[index]) + 1) % 10)
        corrections.vote(answer, voter_id=1, label=int(labels[index]), admin=True)
    corrections.close()
    retrain = RetrainJob(TrainingOptions(epochs=1, batch_size=64), service, "a test", floor_points=100,
                         train_limit=3000, mnist_dir=verified_mnist_dir(), database=database_location)
    if isinstance(database_location, str):  # a URL's password goes to the trainer's environment, not its argv
        password = password_of(database_location)
        assert password and not any(password in arg for arg in retrain._argv) and retrain._env["PGPASSWORD"] == password
    outcome = await retrain.run()
    assert outcome.status is Status.SERVING and outcome.serving == 2 and outcome.decision is not None
    assert service.version == 2 and service.store.current() == 2 and service.card.hyperparameters.train_images == 3000
    assert service.card.community_examples == 12 and service.card.community_test_images == 0
    assert service.store.trainer() is None  # the trainer let go of the store's lock


async def test_a_version_below_the_floor_is_saved_but_not_served(service: InferenceService) -> None:
    outcome = await job(service, floor_points=0.5, train_limit=300).run()  # 300 images: far below the served ~97 %
    assert outcome.status is Status.NOT_SERVED and outcome.decision is not None
    assert outcome.decision.reason is Reason.BELOW_FLOOR and outcome.serving == 1
    assert service.version == 1 and service.store.current() == 1 and service.store.versions() == [1, 2]


async def test_the_trainer_never_sees_the_bot_token(service: InferenceService, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "secret.token.value")
    assert "DISCORD_TOKEN" not in trainer_environment(os.environ, None)
    retrain = job(service, floor_points=100, train_limit=60000)
    running = asyncio.create_task(retrain.run())
    await asyncio.wait_for(retrain.progressed.wait(), 120)
    assert retrain._process is not None
    environ = Path(f"/proc/{retrain._process.pid}/environ").read_bytes()
    assert b"secret.token.value" not in environ and b"MNIST_DIR=" in environ
    assert await retrain.cancel()
    assert (await running).status is Status.CANCELLED and service.store.versions() == [1]


class OvertakenService(InferenceService):
    """Serves as any service does, but another process (its own store handle) promotes version 1 right after this one
    promotes: two bots deciding at once (issue 25 item 13), made to happen every time."""

    def __init__(self, location: Path | str) -> None:
        super().__init__(ModelStore(location))
        self.location = location

    def promote(self, version: int):  # type: ignore[no-untyped-def]
        result = super().promote(version)
        other = ModelStore(self.location)
        try:
            other.promote(1)
        finally:
            other.close()
        return result


async def test_a_promotion_overtaken_by_another_process_announces_what_is_served(
        trained_store: Path, store_location: Path | str) -> None:
    """The outcome (what the bot announces) is the version the store serves after the promotion, read back: not the
    version this process promoted when another switched the store meanwhile; and this process serves it too."""
    two_versions(store_location, trained_store)
    service = OvertakenService(store_location)
    service.load()
    try:
        _, card = service.store.weights_of(2)
        retrain = job(service, floor_points=100)
        done = Done(version=2, promoted=False, store=service.store.location, test_accuracy=card.test_accuracy,
                    test_loss=card.test_loss, epochs=1, batch_size=64, fit_seconds=1.0, first_predictions=[],
                    first_labels=[], community_test_images=0, community_test_accuracy=None, compared_version=1,
                    compared_community_test_accuracy=None)
        outcome = await retrain.conclude(done)
        assert outcome.status is Status.NOT_SERVED and outcome.serving == 1 and outcome.error is not None
        assert "version 1" in outcome.error
        assert service.store.current() == 1 and service.version == 1
    finally:
        service.close()
        service.store.close()
