"""Registering the commands only when Discord's differ from the code's (interactions/application-commands › Registering
a Command: "200 application command creates per day, per guild"), from one process."""

from __future__ import annotations

import asyncio
import copy
import os
import sys
from pathlib import Path
from typing import Any

from bot.registration import differences
from discord_twin import DiscordTwin
from tests.fixtures.bot import StartBot
from tests.fixtures.mnist import REPO


async def test_a_restart_registers_nothing_and_a_changed_command_is_synced(
        start_bot: StartBot, discord_twin: DiscordTwin) -> None:
    bot = await start_bot()
    assert sorted(c["name"] for c in discord_twin.commands) == sorted(c.name for c in bot.tree.get_commands())
    wanted = [command.to_dict(bot.tree) for command in bot.tree.get_commands()]
    assert differences(wanted, discord_twin.commands) == ()
    puts = [call for call in discord_twin.rest_calls if call.method == "PUT"]
    await bot.close()
    again = await start_bot()  # fetches and compares: the same commands, no overwrite
    assert [call for call in discord_twin.rest_calls if call.method == "PUT"] == puts
    assert len(discord_twin.rest.commands.creates[None]) == len(wanted)

    discord_twin.commands[0]["description"] = "an older wording"
    await again.close()
    await start_bot()
    assert len([call for call in discord_twin.rest_calls if call.method == "PUT"]) == len(puts) + 1
    assert len(discord_twin.rest.commands.creates[None]) == len(wanted)  # an overwrite of the same names creates none


async def test_a_shard_other_than_0_never_registers(start_bot: StartBot, discord_twin: DiscordTwin) -> None:
    await start_bot(shard_count=2, shard_ids=(1,))
    assert discord_twin.commands == [] and not [call for call in discord_twin.rest_calls if call.method == "PUT"]


def test_differences_read_discords_defaults_and_strings_as_the_code_means_them() -> None:
    code: list[dict[str, Any]] = [
        {"name": "digit", "type": 1, "description": "Read", "nsfw": False, "dm_permission": False, "contexts": [0],
         "default_member_permissions": 8, "options": [{"name": "image", "type": 11, "required": True}]},
        {"name": "Recognize digit", "type": 3, "default_member_permissions": None, "nsfw": False},
    ]
    discord = copy.deepcopy(code)
    discord[0].update(default_member_permissions="8", dm_permission=None, id="1", version="2",
                      name_localizations=None, integration_types=[0])
    discord[0]["options"][0]["autocomplete"] = False
    del discord[1]["nsfw"]
    assert differences(code, discord) == ()
    assert differences(code, discord[1:]) == ("digit",)  # in the code, not yet on Discord
    assert differences(code[1:], discord) == ("digit",)  # on Discord, no longer in the code
    discord[0]["options"][0]["required"] = False
    assert differences(code, discord) == ("digit",)
    code[1]["default_member_permissions"] = 0  # admins only: not the same as everyone (None)
    assert differences(code[1:], discord[1:]) == ("Recognize digit",)


async def test_sync_commands_for_an_operator(discord_twin: DiscordTwin, store: Path, tmp_path: Path) -> None:
    """`python -m bot sync-commands`: registers the commands, then finds nothing to sync."""
    env = {"DISCORD_TOKEN": discord_twin.token, "DISCORD_API_BASE": discord_twin.api_base,
           "DISCORD_GATEWAY_URL": discord_twin.gateway_url, "MODEL_STORE": str(store),
           "BOT_DATABASE": str(tmp_path / "corrections.sqlite3")}
    outputs = []
    for _ in range(2):
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "sync-commands", cwd=tmp_path, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**{k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "BOT_"))},
                 "PYTHONPATH": str(REPO), **env})
        stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, stderr.decode()[-2000:]
        outputs.append(stdout.decode())
    assert outputs[0].startswith("synced 6 commands (Recognize digit, accuracy, digit, model, retrain, rollback)")
    assert outputs[1].startswith("Discord already holds these 6 commands") and "nothing to sync" in outputs[1]
    assert len([call for call in discord_twin.rest_calls if call.method == "PUT"]) == 1
