"""Where the models and the data live, and the one rule for `.env`: read once per process."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import find_dotenv, load_dotenv

from model_store import store_location


def environment() -> Mapping[str, str]:
    """The process environment, completed by a `.env` file in (or above) the working directory.

    The real environment wins: `.env` only fills in what it leaves unset.
    """
    load_dotenv(find_dotenv(usecwd=True))
    return os.environ


@dataclass(frozen=True)
class Paths:
    """`MODEL_STORE` (default `./models`), `MNIST_DIR` (optional) and the MNIST cache under `XDG_CACHE_HOME`."""

    model_store: Path | str  # a folder, or a postgresql:// URL
    mnist_dir: Path | None
    mnist_cache: Path

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Paths:
        """Read from `env` (default: `environment()`)."""
        env = environment() if env is None else env
        cache_home = Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        return cls(
            model_store=store_location(env),
            mnist_dir=Path(env["MNIST_DIR"]) if env.get("MNIST_DIR") else None,
            mnist_cache=cache_home / "digitbot" / "mnist",
        )
