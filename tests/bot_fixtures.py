"""Fixtures for the bot's end-to-end tests: one trained store per session, the real bot against the twin."""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from bot.client import DigitBot
from bot.endpoint import discord_py_pointed_at
from bot.config import BotSettings
from digits.mnist import load_test_set
from digits.settings import Paths
from discord_twin import DiscordTwin, World
from tests.inference_fixtures import verified_mnist_dir

REPO = Path(__file__).resolve().parents[1]
WAIT = 10.0  # seconds any single wait for the bot may take; most answers take milliseconds
# Training options small enough for a retrain test to finish in seconds (TensorFlow's import dominates).
TINY_RETRAIN = "epochs=1 batch_size=128"
TINY_TRAIN_LIMIT = 2000

StartBot = Callable[..., Awaitable[DigitBot]]


def png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="session")
def trained_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding one version trained with train.py (3 epochs, about 97 % accurate), made once."""
    store = tmp_path_factory.mktemp("bot-template") / "models"
    subprocess.run([sys.executable, str(REPO / "train.py"), "--json", "--store", str(store), "--epochs", "3"],
                   env={**os.environ, "MNIST_DIR": str(verified_mnist_dir())}, cwd=REPO, check=True, capture_output=True, timeout=300)
    return store


@pytest.fixture(scope="session")
def test_digits(tmp_path_factory: pytest.TempPathFactory) -> tuple[np.ndarray, np.ndarray]:
    """MNIST's raw test images and labels."""
    return load_test_set(Paths(Path("unused"), verified_mnist_dir(), tmp_path_factory.mktemp("mnist-cache")))


@pytest.fixture
def store(trained_store: Path, tmp_path: Path) -> Path:
    """A private copy of the trained store, for tests that change it."""
    copy = tmp_path / "models"
    shutil.copytree(trained_store, copy)
    return copy


@pytest.fixture
async def start_bot(discord_twin: DiscordTwin, twin_world: World, store: Path, tmp_path: Path) -> AsyncIterator[StartBot]:
    """Start the real bot in this event loop against the twin; `await start_bot(cooldown_rate=1, ...)` overrides settings."""
    running: list[tuple[DigitBot, asyncio.Task[None]]] = []

    async def start(**overrides: Any) -> DigitBot:
        settings = BotSettings(**{
            "token": discord_twin.token,
            "paths": Paths(model_store=store, mnist_dir=verified_mnist_dir(), mnist_cache=tmp_path / "mnist-cache"),
            "api_base": discord_twin.api_base,
            "gateway_url": discord_twin.gateway_url,
            "retrain_train_limit": TINY_TRAIN_LIMIT,
            "database": tmp_path / "digitbot.sqlite3",
            **overrides,
        })
        bot = DigitBot(settings, guild_ready_timeout=0.05)
        running.append((bot, asyncio.create_task(bot.start(settings.token))))
        await asyncio.wait_for(bot.wait_until_ready(), WAIT)
        return bot

    with discord_py_pointed_at(discord_twin.api_base, discord_twin.gateway_url):
        yield start
        for bot, task in running:
            await bot.close()
            await asyncio.wait_for(task, WAIT)


def embed_titles(message: Any) -> list[str]:
    return [embed.get("title", "") for embed in message.embeds]


def text_of(message: Any) -> str:
    """Everything a person reads in a message: content, embed titles, descriptions and fields."""
    parts = [message.content]
    for embed in message.embeds:
        parts += [embed.get("title", ""), embed.get("description", "")]
        parts += [f"{field.get('name', '')} {field.get('value', '')}" for field in embed.get("fields", [])]
    return "\n".join(parts)
