"""The bot's wording (bot/embeds.py): what a retrain's decision and outcome say, from the data they carry; how long
file names share the room of a message's embeds."""

from __future__ import annotations

from bot import embeds
from digits.records import Done
from digits.retraining import CommunityComparison, RetrainOutcome, Status, decide_promotion


def done(version: int = 2, accuracy: float = 0.9640) -> Done:
    return Done(version=version, promoted=False, store="models", test_accuracy=accuracy, test_loss=0.12, epochs=1,
                batch_size=32, fit_seconds=3.0, first_predictions=[7, 2, 1, 0, 4], first_labels=[7, 2, 1, 0, 4],
                community_test_images=0, community_test_accuracy=None, compared_version=None,
                compared_community_test_accuracy=None)


def test_the_promotion_floor_in_words() -> None:
    assert decide_promotion(0.90, None, 0.5).promote
    assert decide_promotion(0.9660, 0.9700, 0.5).promote  # 0.4 points below: within the floor
    below = decide_promotion(0.9640, 0.9700, 0.5)
    assert not below.promote
    assert embeds.promotion_reason(below) == "its accuracy is below the floor (96.40% vs 97.00% served; the floor is 96.50%)"
    assert not decide_promotion(0.9699, 0.9700, 0.0).promote
    assert embeds.promotion_reason(decide_promotion(0.90, None, 0.5)) == "no model was being served"


def test_a_worse_community_reading_in_words() -> None:
    worse = decide_promotion(0.97, 0.97, 0.5, CommunityComparison(new_accuracy=0.80, served_accuracy=0.85, images=120))
    assert embeds.promotion_reason(worse) == ("it reads the community test set worse "
                                              "(80.00% vs 85.00% served on the community test set of 120)")
    better = decide_promotion(0.97, 0.97, 0.5, CommunityComparison(0.90, 0.85, 120))
    assert "at least as well (90.00% vs 85.00% served on the community test set of 120)" in embeds.promotion_reason(better)


def test_each_outcome_says_what_is_served() -> None:
    serving = RetrainOutcome(Status.SERVING, 2, done(accuracy=0.97), decide_promotion(0.97, 0.96, 0.5))
    title, description = embeds.retrain_outcome_text(serving)
    assert title == "Retrained: version 2 is now serving" and "Promoted because its accuracy clears the floor" in description
    below = RetrainOutcome(Status.NOT_SERVED, 1, done(), decide_promotion(0.9640, 0.9700, 0.5))
    title, description = embeds.retrain_outcome_text(below)
    assert title == "Retrained: version 2 saved, not served"
    assert "Not promoted because its accuracy is below the floor" in description and "Version 1 keeps serving." in description
    failed_promotion = RetrainOutcome(Status.NOT_SERVED, 1, done(accuracy=0.97), decide_promotion(0.97, 0.96, 0.5),
                                      error="version 2: model.weights.h5 is missing")
    assert "Promoting it failed: version 2: model.weights.h5 is missing. Version 1 keeps serving." in \
        embeds.retrain_outcome_text(failed_promotion)[1]
    assert embeds.retrain_outcome_text(RetrainOutcome(Status.CANCELLED, 1)) == (
        "Retrain cancelled", "Nothing was saved; version 1 keeps serving.")
    assert embeds.retrain_outcome_text(RetrainOutcome(Status.FAILED, 1, error="train.py failed: out of memory")) == (
        "Retrain failed", "train.py failed: out of memory\nVersion 1 keeps serving.")


def test_long_names_share_the_room_left_and_short_ones_stay_whole() -> None:
    assert embeds.name_room([3, 300, 300], 103) == 50  # 3 kept, the two long ones 50 each
    assert embeds.name_room([3, 40], 103) == 40  # everything fits
    assert embeds.name_room([10, 10], 0) == 1
