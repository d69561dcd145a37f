"""`python -m bot predict`: digits, confidence and a bar chart per image; JSON lines; exit codes 0, 1, 2."""

from __future__ import annotations

import io
import json
import logging
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from digits import predict_cli
from digits.inference import InferenceService, Prediction
from model_store.store import copy_versions, opened
from samples import pictures as styles
from tests.fixtures.processes import run_cli


@pytest.fixture
def pictures(tmp_path: Path, test_digits) -> tuple[list[Path], list[int]]:
    images, labels = test_digits
    rng = np.random.default_rng(0)
    paths = [tmp_path / "photo.jpg", tmp_path / "drawing.png"]
    paths[0].write_bytes(styles.phone_photo(images[0], rng))
    paths[1].write_bytes(styles.transparent_canvas(images[1], rng))
    return paths, [int(labels[0]), int(labels[1])]


def test_prints_digit_confidence_and_bar_chart(trained_store: Path, pictures) -> None:
    paths, labels = pictures
    result = run_cli(*map(str, paths), store=trained_store)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith((f"{paths[0]}: it's a {labels[0]} (", f"{paths[0]}: probably a {labels[0]}, maybe a "))
    assert "sure, model version 1" in lines[0]
    chart = lines[1:11]
    assert [line.split()[0] for line in chart] == [str(d) for d in range(10)]
    assert "█" in chart[labels[0]] and "%" in chart[labels[0]] and chart[labels[0]].endswith("◀")  # the answer is marked
    assert sum(line.endswith("◀") for line in chart) == 1
    assert lines[11].startswith((f"{paths[1]}: it's a {labels[1]} (", f"{paths[1]}: probably a {labels[1]}, maybe a "))


def test_json_lines_and_refusals(trained_store: Path, pictures, tmp_path: Path) -> None:
    paths, labels = pictures
    blank = tmp_path / "blank.png"
    Image.new("L", (64, 64), 255).save(blank)
    text = tmp_path / "notes.txt"
    text.write_text("not a picture")
    result = run_cli("--json", "--store", str(trained_store), str(paths[0]), str(blank), str(text), str(tmp_path / "missing.png"))
    assert result.returncode == 1, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records[0]["file"] == str(paths[0]) and records[0]["digit"] == labels[0] and records[0]["version"] == 1
    assert len(records[0]["probabilities"]) == 10 and records[0]["confidence"] == max(records[0]["probabilities"])
    assert [set(r) for r in records[1:]] == [{"file", "error"}] * 3
    assert "no digit" in records[1]["error"] and "not an image" in records[2]["error"] and "cannot read" in records[3]["error"]


def test_only_regular_files_are_read(trained_store: Path, pictures, tmp_path: Path) -> None:
    paths, labels = pictures
    pipe = tmp_path / "pipe.png"
    os.mkfifo(pipe)  # with no writer, opening it for reading would wait forever
    result = run_cli("--json", "--store", str(trained_store), str(pipe), str(tmp_path), "/dev/zero", str(paths[0]))
    assert result.returncode == 1, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r.get("error") for r in records[:3]] == ["not a regular file", "cannot read the file (Is a directory)", "not a regular file"]
    assert records[3]["digit"] == labels[0]


def test_an_unexpected_error_costs_only_its_own_file(trained_store: Path, pictures, tmp_path: Path, monkeypatch, caplog) -> None:
    paths, labels = pictures
    poison = tmp_path / "poison.png"
    poison.write_bytes(b"poison")
    real_predict = InferenceService.predict

    def predict(self: InferenceService, data: bytes) -> Prediction:
        if data == b"poison":
            raise RuntimeError("a bug met a file")
        return real_predict(self, data)

    monkeypatch.setattr(InferenceService, "predict", predict)
    out = io.StringIO()
    with caplog.at_level(logging.ERROR):
        status = predict_cli.main(["--json", "--store", str(trained_store), str(paths[0]), str(poison), str(paths[1])], out=out)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert status == 1 and [r.get("digit") for r in records] == [labels[0], None, labels[1]]
    assert records[1]["file"] == str(poison) and "unexpected error" in records[1]["error"]
    assert "a bug met a file" in caplog.text and caplog.records[-1].exc_info[0] is RuntimeError


def test_no_model_in_the_store_is_exit_2_with_one_line(tmp_path: Path, pictures) -> None:
    result = run_cli(str(pictures[0][0]), store=tmp_path / "empty-store")
    assert result.returncode == 2
    assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1 and "no trained model" in result.stderr


def test_a_damaged_serving_pointer_still_serves(store: Path, pictures) -> None:
    (store / "SERVING").write_text("two\n")
    result = run_cli("--json", str(pictures[0][0]), store=store)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["version"] == 1 and "SERVING is damaged: it is not JSON" in result.stderr


def test_bad_usage_is_exit_2() -> None:
    assert run_cli().returncode == 2
    assert run_cli("--no-such-flag", "x.png").returncode == 2


def test_predicts_from_a_postgresql_store(trained_store: Path, postgres_url: str, pictures) -> None:
    """`--store postgresql://…`: the same model, copied into the database, gives the same answers."""
    with opened(trained_store) as source, opened(postgres_url) as target:
        copy_versions(source, target)
    paths, labels = pictures
    out = io.StringIO()
    assert predict_cli.main(["--json", "--store", postgres_url, *map(str, paths)], out=out) == 0
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["digit"] for r in records] == labels and {r["version"] for r in records} == {1}
