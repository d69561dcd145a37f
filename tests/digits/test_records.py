"""train.py's records (digits/records.py): what `train.py --json` writes, the bot reads, field by field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from digits.records import RECORDS, Done, Failure, Notice, Progress, RecordError, read_record

RECORD_EXAMPLES = [
    Progress(epoch=1, epochs=5, step=188, steps=1875, loss=0.4, accuracy=0.88, elapsed_seconds=1.5, eta_seconds=30.0),
    Notice("MNIST: cache not usable"),
    Failure("model store is not writable"),
    Done(version=3, promoted=False, store="models", test_accuracy=0.97, test_loss=0.1, epochs=5, batch_size=32,
         fit_seconds=4.2, first_predictions=[7, 2, 1, 0, 4], first_labels=[7, 2, 1, 0, 4], community_test_images=40,
         community_test_accuracy=0.9, compared_version=2, compared_community_test_accuracy=0.875),
    Done(version=1, promoted=True, store="models", test_accuracy=0.97, test_loss=0.1, epochs=5, batch_size=32,
         fit_seconds=4.2, first_predictions=[7, 2, 1, 0, 4], first_labels=[7, 2, 1, 0, 4], community_test_images=0,
         community_test_accuracy=None, compared_version=None, compared_community_test_accuracy=None),
]


def _without(data: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != key}


@pytest.mark.parametrize("record", RECORD_EXAMPLES, ids=lambda r: r.event)
def test_each_record_round_trips(record) -> None:
    assert read_record(record.to_json()) == record
    assert set(RECORDS) == {"progress", "warning", "error", "done"}


@pytest.mark.parametrize("change, error", [
    (lambda d: {**d, "event": "finished"}, "not a train.py record"),
    (lambda d: _without(d, "test_accuracy"), "missing \\['test_accuracy'\\]"),
    (lambda d: {**_without(d, "test_accuracy"), "accuracy": 0.9}, "unexpected \\['accuracy'\\]"),
    (lambda d: {**d, "version": "3"}, "version must be"),
    (lambda d: {**d, "community_test_accuracy": "high"}, "community_test_accuracy must be"),
])
def test_a_renamed_or_mistyped_field_is_refused_not_dropped(change, error) -> None:
    done = json.loads(RECORD_EXAMPLES[3].to_json())
    with pytest.raises(RecordError, match=error):
        read_record(json.dumps(change(done)))
    with pytest.raises(RecordError):
        read_record("Epoch 1/5")


def test_train_py_writes_the_records_the_bot_reads(small_run: tuple[Path, list[dict[str, Any]]]) -> None:
    records = [read_record(json.dumps(event)) for event in small_run[1]]
    assert all(isinstance(r, Progress) for r in records[:-1]) and isinstance(records[-1], Done)
    assert records[-1].version == 1 and records[-1].community_test_accuracy is None
