"""Training with community corrections (issue 14): train.py --community, the card, the promotion rule, the bot's job."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from digits.augment import COMMUNITY_MAX_DRAWS, EpochAugmenter
from digits.community import AnsweredDigit, Corrections, accepted_examples, in_test_half
from digits.inference import InferenceService
from digits.options import TrainingOptions, parse_train_command
from digits.retraining import CommunityComparison, Reason, RetrainJob, decide_promotion
from model_store import ModelStore
from network.architecture import normalize
from tests.fixtures.processes import SMALL, json_events, project_lines, run_train

pytestmark = pytest.mark.timeout(600)

AUTHORS = range(5000, 5040)
PER_AUTHOR = 8


def community_database(path: Path, digits: np.ndarray, labels: np.ndarray) -> Path:
    """40 members' corrections of MNIST test digits: 8 each, all accepted (two agreeing votes, or an admin's)."""
    corrections = Corrections(path, votes_per_hour=10_000)
    for n, author in enumerate(AUTHORS):
        for k in range(PER_AUTHOR):
            index = n * PER_AUTHOR + k
            answer = AnsweredDigit(7, 8, message_id=10_000 + index, position=0, author_id=author,
                            image=digits[index].astype(np.float32) / 255, model_version=1, predicted=int(labels[index] + 1) % 10)
            if k % 2:
                corrections.vote(answer, voter_id=1, label=int(labels[index]), admin=True)
            else:
                corrections.vote(answer, voter_id=author, label=int(labels[index]))
                corrections.vote(answer, voter_id=author + 1, label=int(labels[index]))
    corrections.vote(AnsweredDigit(7, 8, 99_999, 0, 5000, digits[999] / 255, 1, 0), voter_id=2, label=3)  # pending: unused
    corrections.close()
    return path


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory, test_digits: tuple[np.ndarray, np.ndarray]) -> Path:
    return community_database(tmp_path_factory.mktemp("community") / "digitbot.sqlite3", *test_digits)


@pytest.fixture(scope="module")
def community_run(tmp_path_factory: pytest.TempPathFactory, database: Path, trained_store: Path) -> tuple[Path, list[dict]]:
    """A small run with the community's examples, beside the trained store's served version 1."""
    store = tmp_path_factory.mktemp("community-train") / "models"
    shutil.copytree(trained_store, store)
    return store, json_events(run_train(store, *SMALL, "--community", str(database), "--json"))


def test_train_py_mixes_in_the_accepted_examples_and_records_them(community_run: tuple[Path, list[dict]],
                                                                  database: Path) -> None:
    store, events = community_run
    data = accepted_examples(database)
    test_authors = sum(in_test_half(a) for a in AUTHORS)
    assert len(data.test_labels) == PER_AUTHOR * test_authors and len(data.train_labels) == PER_AUTHOR * (40 - test_authors)
    model = ModelStore(store).load(events[-1]["version"])
    card = model.card
    assert card.community_examples == len(data.train_labels) and card.community_test_images == len(data.test_labels)
    # The recorded accuracy is the stored weights' own on the held-out contributors' examples.
    predicted = np.argmax(model.network().logits(normalize(data.test_images)), axis=1)
    assert card.community_test_accuracy == pytest.approx(float(np.mean(predicted == data.test_labels)))
    assert card.community_test_accuracy > 0.5  # 1 epoch on 2,000 MNIST images and the examples still reads digits
    assert f"Community test set: {card.community_test_accuracy:.1%} (n={len(data.test_labels)})" in card.describe_community()
    # The epoch is MNIST's 2,000 images plus the examples' share (10 % of it; 50 draws each would allow more).
    steps = {e["steps"] for e in events if e["event"] == "progress"}
    assert steps == {-(-(2000 + round(2000 * 0.1 / 0.9)) // 32)}


def test_the_people_s_output_names_the_community_figures(database: Path, tmp_path: Path) -> None:
    result = run_train(tmp_path / "models", *SMALL, "--train-limit", "300", "--community", str(database))
    assert result.returncode == 0, result.stderr[-2000:]
    data = accepted_examples(database)
    assert (f"Community: {len(data.train_labels)} accepted examples to train on, {len(data.test_labels)} in the "
            "community test set") in result.stdout
    assert "Community test accuracy:" in result.stdout


def empty_database(folder: Path) -> Path:
    Corrections(folder / "empty.sqlite3").close()
    return folder / "empty.sqlite3"


@pytest.mark.parametrize("make, message", [
    (lambda folder: folder / "missing.sqlite3", "community: There is no corrections database at"),
    (empty_database, "community: no accepted examples to train on in"),
])
def test_no_database_or_no_examples_trains_as_usual_with_one_line(tmp_path: Path, make, message: str) -> None:
    database = make(tmp_path)
    result = run_train(tmp_path / "models", *SMALL, "--train-limit", "300", "--community", str(database), "--json")
    events = json_events(result)
    # What the project writes, not the whole of stderr: TensorFlow prints notices of its own on some machines.
    [warning] = project_lines(result.stderr)
    assert [e["message"] for e in events if e["event"] == "warning"] == [warning]
    assert warning.startswith(message) and "MNIST alone" in warning
    card = ModelStore(tmp_path / "models").card(events[-1]["version"])
    assert (card.community_examples, card.community_test_images, card.community_test_accuracy) == (0, 0, None)
    assert card.describe_community() == "No community test set yet"


# -- the parts, as plain functions --------------------------------------------------------------------


def test_community_option_is_a_flag_and_a_word() -> None:
    options = TrainingOptions.from_text({"community": "data/db.sqlite3", "epochs": "2"})
    assert options.community == Path("data/db.sqlite3") and "community corrections" in options.describe()
    assert TrainingOptions.from_record(options.to_record()) == options
    assert TrainingOptions.from_text({"community": "off"}) == TrainingOptions()
    assert parse_train_command(["--community", "x.sqlite3"], Path("m")).options.community == Path("x.sqlite3")
    assert TrainingOptions().to_text()["community"] == "off"  # the default spelled out


def test_epochs_hold_a_fixed_share_of_augmented_community_examples(test_digits) -> None:
    images, labels = test_digits[0][:900], test_digits[1][:900]
    community = (test_digits[0][900:1000], test_digits[1][900:1000])
    augmenter = EpochAugmenter(images, labels, seed=0, augment_images=False, community=community)
    try:
        epoch_images, epoch_labels = augmenter.next()
    finally:
        augmenter.close()
    assert augmenter.community_count == 100  # 10 % of the epoch
    assert np.array_equal(epoch_images[:900], normalize(images))  # the tutorial recipe: nothing augmented
    originals = {row.tobytes(): int(label) for row, label in zip(normalize(community[0]), community[1])}
    assert all(originals[row.tobytes()] == label for row, label in zip(epoch_images[900:], epoch_labels[900:]))
    assert len({row.tobytes() for row in epoch_images[900:]}) > 50  # drawn with replacement, most of them
    few = EpochAugmenter(images, labels, seed=0, augment_images=False, community=(community[0][:1], community[1][:1]))
    few.close()
    assert few.community_count == COMMUNITY_MAX_DRAWS  # one example is drawn at most 50 times an epoch


def test_promotion_refuses_a_worse_community_reading() -> None:
    floor_ok = (0.9700, 0.9700, 0.5)
    worse = decide_promotion(*floor_ok, CommunityComparison(new_accuracy=0.80, served_accuracy=0.85, images=120))
    assert not worse.promote and worse.reason is Reason.READS_COMMUNITY_WORSE
    assert decide_promotion(*floor_ok, CommunityComparison(0.85, 0.85, 120)).promote
    assert decide_promotion(*floor_ok, CommunityComparison(0.95, 0.85, 120)).promote
    assert decide_promotion(*floor_ok, None).promote
    # The MNIST floor still holds when the community reading is better.
    assert decide_promotion(0.90, 0.97, 0.5, CommunityComparison(0.99, 0.50, 120)).reason is Reason.BELOW_FLOOR
    assert decide_promotion(0.90, None, 0.5, CommunityComparison(0.10, 0.50, 120)).promote  # nothing served


def test_the_summary_carries_both_versions_readings_of_the_community_test_set(
        community_run: tuple[Path, list[dict]], database: Path, trained_store: Path) -> None:
    """The trainer reads the community test set with the new version and the served one: the bot decides on those
    figures without opening the database or loading the new version twice."""
    store, events = community_run
    done = events[-1]
    data = accepted_examples(database)
    served = ModelStore(trained_store).load_served()
    served_reading = np.argmax(served.network().logits(normalize(data.test_images)), axis=1)
    assert done["compared_version"] == served.version == 1
    assert done["compared_community_test_accuracy"] == pytest.approx(float(np.mean(served_reading == data.test_labels)))
    card = ModelStore(store).card(done["version"])
    assert (done["community_test_images"], done["community_test_accuracy"]) == (card.community_test_images,
                                                                                  card.community_test_accuracy)


def test_the_bot_s_retrain_uses_its_database_once_it_exists(trained_store: Path, database: Path, tmp_path: Path) -> None:
    service = InferenceService(ModelStore(trained_store))
    try:
        def job(options: TrainingOptions, db: Path) -> RetrainJob:
            return RetrainJob(options, service, "a test", floor_points=0.5, database=db)

        assert job(TrainingOptions(), database).options.community == database
        argv = job(TrainingOptions(), database)._argv
        assert json.loads(argv[argv.index("--options") + 1])["community"] == str(database)
        assert job(TrainingOptions(), tmp_path / "none.sqlite3").options.community is None
        other = tmp_path / "other.sqlite3"
        assert job(TrainingOptions(community=other), database).options.community == other  # `community=` wins
    finally:
        service.close()
