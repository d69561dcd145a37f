"""Where the store and MNIST live, and the one rule for `.env` (digits/settings.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from digits.settings import Paths, environment


def test_dot_env_fills_in_without_entering_the_process_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("DISCORD_TOKEN=from-the-file\nMODEL_STORE=/srv/from-the-file\nMNIST_DIR=/data/file\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.delenv("MODEL_STORE", raising=False)
    monkeypatch.setenv("MNIST_DIR", "/data/real")
    env = environment()
    assert env["DISCORD_TOKEN"] == "from-the-file" and env["MNIST_DIR"] == "/data/real"  # the real environment wins
    assert "DISCORD_TOKEN" not in os.environ  # so a child process never inherits what only .env holds
    paths = Paths.from_env()
    assert paths.model_store == Path("/srv/from-the-file") and paths.mnist_dir == Path("/data/real")
