"""`python -m bot predict`: digits, confidence and a bar chart per image; JSON lines; exit codes 0, 1, 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from samples import pictures as styles
from tests import inference_fixtures as fx


def run_cli(*args: str, store: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(fx.REPO)}
    if store is not None:
        env["MODEL_STORE"] = str(store)
    return subprocess.run([sys.executable, "-m", "bot", "predict", *args], capture_output=True, text=True, env=env, cwd=fx.REPO, timeout=120)


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


def test_no_model_in_the_store_is_exit_2_with_one_line(tmp_path: Path, pictures) -> None:
    result = run_cli(str(pictures[0][0]), store=tmp_path / "empty-store")
    assert result.returncode == 2
    assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1 and "no trained model" in result.stderr


def test_bad_usage_is_exit_2() -> None:
    assert run_cli().returncode == 2
    assert run_cli("--no-such-flag", "x.png").returncode == 2
