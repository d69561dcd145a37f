"""Where the models and the data live: read once from the environment (and a `.env` file)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import load_dotenv


@dataclass(frozen=True)
class StoreSettings:
    """`MODEL_STORE` (default `./models`), `MNIST_DIR` (optional) and the MNIST cache under `XDG_CACHE_HOME`."""

    model_store: Path
    mnist_dir: Path | None
    mnist_cache: Path

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> StoreSettings:
        if env is None:
            load_dotenv()  # a .env file fills in what the real environment leaves unset
            env = os.environ
        cache_home = Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        return cls(
            model_store=Path(env.get("MODEL_STORE") or "models"),
            mnist_dir=Path(env["MNIST_DIR"]) if env.get("MNIST_DIR") else None,
            mnist_cache=cache_home / "digitbot" / "mnist",
        )
