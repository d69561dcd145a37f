"""`python -m bot` as an operator runs it: exit codes, clear lines, no token in the output, clean shutdown."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from discord_twin import DiscordTwin, World
from tests.fixtures.processes import finish, start_bot_process

pytestmark = pytest.mark.timeout(60)



async def test_missing_token_is_one_line_and_exit_2(tmp_path: Path) -> None:
    process = await start_bot_process({"MODEL_STORE": str(tmp_path / "models")}, cwd=tmp_path)
    code, output = await finish(process)
    assert code == 2
    assert output.strip().splitlines() == [
        "digitbot: configuration error: DISCORD_TOKEN is not set: put the bot token from the Discord Developer Portal "
        "in the environment or in .env"
    ]


async def test_bad_setting_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DISCORD_TOKEN=from-dotenv\nBOT_COOLDOWN_RATE=lots\n")
    process = await start_bot_process({}, cwd=tmp_path)
    code, output = await finish(process)
    assert code == 2
    assert output.strip() == "digitbot: configuration error: BOT_COOLDOWN_RATE must be a positive whole number of images, got 'lots'"


async def test_rejected_token_is_one_line_exit_2_and_never_printed(discord_twin: DiscordTwin, tmp_path: Path) -> None:
    wrong = "wrong.token-that-must-never-be-printed"
    process = await start_bot_process({
        "DISCORD_TOKEN": wrong, "DISCORD_API_BASE": discord_twin.api_base,
        "DISCORD_GATEWAY_URL": discord_twin.gateway_url, "MODEL_STORE": str(tmp_path / "models"),
    }, cwd=tmp_path)
    code, output = await finish(process)
    assert code == 2
    assert wrong not in output and "never-be-printed" not in output
    errors = [line for line in output.splitlines() if line.startswith("digitbot:")]
    assert errors == ["digitbot: Discord rejected DISCORD_TOKEN: copy the token again from the Developer Portal (Bot → Reset Token)"]
    assert "Traceback" not in output


async def test_a_corrections_database_that_is_not_sqlite_is_one_line_and_exit_2(
        discord_twin: DiscordTwin, tmp_path: Path) -> None:
    (tmp_path / "notes.sqlite3").write_text("these are my notes, not a database\n" * 100)
    process = await start_bot_process({
        "DISCORD_TOKEN": discord_twin.token, "DISCORD_API_BASE": discord_twin.api_base,
        "DISCORD_GATEWAY_URL": discord_twin.gateway_url, "MODEL_STORE": str(tmp_path / "models"),
        "BOT_DATABASE": str(tmp_path / "notes.sqlite3"),
    }, cwd=tmp_path)
    code, output = await finish(process)
    assert code == 2, output
    errors = [line for line in output.splitlines() if line.startswith("digitbot:")]
    assert len(errors) == 1 and "notes.sqlite3 cannot be used" in errors[0], output
    assert "Traceback" not in output
    assert (tmp_path / "notes.sqlite3").read_text().startswith("these are my notes")  # left as it was


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_stop_signal_shuts_down_cleanly_and_without_tensorflow(
        discord_twin: DiscordTwin, twin_world: World, tmp_path: Path, signum: signal.Signals) -> None:
    process = await start_bot_process({
        "DISCORD_TOKEN": discord_twin.token, "DISCORD_API_BASE": discord_twin.api_base,
        "DISCORD_GATEWAY_URL": discord_twin.gateway_url, "MODEL_STORE": str(tmp_path / "models"),
    }, cwd=tmp_path)
    await discord_twin.wait_until_connected(timeout=30)
    await discord_twin.wait_until(lambda: discord_twin.commands or None, timeout=10, what="registered commands")
    maps = Path(f"/proc/{process.pid}/maps").read_text()
    assert "tensorflow" not in maps, "the bot process must never load TensorFlow"
    process.send_signal(signum)
    code, output = await finish(process)
    assert code == 0, output
    assert "no trained model in" in output and "python train.py" in output  # said at start, with how to train
    assert "shutting down" in output
    assert discord_twin.token not in output
    assert "Traceback" not in output
    assert not discord_twin.gateway.connected_sessions
