"""The model card (network/card.py): what `model.json` holds, written and read by one class."""

from __future__ import annotations

import json
import math

import pytest

from network.card import CardError, ModelCard
from tests.fixtures.models import model_card


def test_model_card_round_trips_through_json() -> None:
    card = model_card().with_weights_sha256("ab" * 32)
    assert ModelCard.from_json(json.loads(json.dumps(card.to_json()))) == card
    assert "1 epochs, batch size 32, learning rate 0.001, layers 64,64 relu, on 3000 images" in card.describe_training()


def _without(data: dict, key: str) -> dict:
    return {k: v for k, v in data.items() if k != key}


@pytest.mark.parametrize("damage", [
    lambda card: [1, 2],
    lambda card: {**card, "test_accuracy": "high"},
    lambda card: {**card, "test_accuracy": True},
    lambda card: {**card, "test_loss": math.nan},
    lambda card: _without(card, "weights_sha256"),
    lambda card: {**card, "hyperparameters": {**card["hyperparameters"], "epochs": 2.5}},
    lambda card: {**card, "architecture": {**card["architecture"], "activation": "gelu"}},
    lambda card: {**card, "per_digit_accuracy": ["?"] * 10},
    lambda card: {**card, "temperature": 1e-300},  # issue 25 item 12: every answer would be NaN
    lambda card: {**card, "temperature": 1e300},
])
def test_a_json_that_is_not_a_model_card_is_refused_by_name(damage) -> None:
    with pytest.raises(CardError):
        ModelCard.from_json(damage(model_card().to_json()))


def test_cards_written_before_recipes_still_read_as_the_tutorial() -> None:
    data = model_card().to_json()
    for key in ("recipe", "augment", "ema", "fonts", "outliers", "schedule", "validation_images"):
        del data["hyperparameters"][key]
    for key in ("temperature", "test_ece", "test_ece_calibrated", "typed_fonts"):
        del data[key]
    card = ModelCard.from_json(data)
    assert card.hyperparameters.recipe == "tutorial" and card.temperature == 1.0 and card.test_ece is None
    assert card.hyperparameters.outliers == 0.0


def test_an_older_card_without_community_fields_loads() -> None:
    data = model_card().to_json()
    for name in ("community_examples", "community_test_images", "community_test_accuracy"):
        del data[name]
    card = ModelCard.from_json(data)
    assert (card.community_examples, card.community_test_images, card.community_test_accuracy) == (0, 0, None)
    recorded = ModelCard.from_json({**data, "community_examples": 300, "community_test_images": 90,
                                    "community_test_accuracy": 0.912})
    assert recorded.describe_community() == "Community test set: 91.2% (n=90), trained with 300 community examples"
