"""Where the models and the data live, and the one rule for `.env`: read once per process."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values, find_dotenv

from model_store import store_location


def environment() -> dict[str, str]:
    """The process environment, completed by a `.env` file in (or above) the working directory.

    The real environment wins: `.env` only fills in what it leaves unset. The process's own environment is left as
    it is, so what `.env` holds (the bot's token, say) reaches only what is handed it, never a child by inheritance.
    """
    from_file = {name: value for name, value in dotenv_values(find_dotenv(usecwd=True)).items() if value is not None}
    return {**from_file, **os.environ}


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
