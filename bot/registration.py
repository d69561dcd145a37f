"""Registering the application commands only when Discord's differ from the code's.

A sync is a bulk overwrite, and Discord counts every command it creates against 200 a day per guild
(discord-api-docs, interactions/application-commands › Registering a Command); a bot of many processes that each
synced at every start would spend that and race itself. So one process (the one holding shard 0, or an operator's
`python -m bot sync-commands`) fetches what Discord holds, compares it with what the code would send, and syncs only
when they differ.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from discord import app_commands

log = logging.getLogger(__name__)

# Deprecated by `contexts`; Discord derives it, so it says nothing of its own once `contexts` is sent.
_DERIVED = {"dm_permission"}
# Left out (None), these take the application's own settings, which the code does not know: any value matches.
_APPLICATION_DEFAULTS = {"integration_types", "contexts"}


@dataclass(frozen=True)
class Registration:
    """What `register` found and did: the commands' names, and the ones that differed (empty: nothing synced)."""

    commands: tuple[str, ...]
    changed: tuple[str, ...]

    @property
    def synced(self) -> bool:
        return bool(self.changed)


async def register(tree: app_commands.CommandTree[Any]) -> Registration:
    """Fetch the global commands Discord holds, and overwrite them with the code's only if they differ."""
    client = tree.client
    assert client.application_id is not None, "logged in first"
    wanted = [command.to_dict(tree) for command in tree.get_commands()]
    held = await client.http.get_global_commands(client.application_id)
    changed = differences(wanted, list(held))
    names = tuple(sorted(str(c["name"]) for c in wanted))
    if changed:
        await tree.sync()
        log.info("synced %d application commands (changed: %s)", len(wanted), ", ".join(changed))
    else:
        log.info("the %d application commands Discord holds are the code's: nothing to sync", len(wanted))
    return Registration(names, changed)


def differences(wanted: list[dict[str, Any]], held: list[dict[str, Any]]) -> tuple[str, ...]:
    """The names of the commands whose definitions differ between the code (`wanted`) and Discord (`held`),
    including those only one side has; sorted."""
    by_key = {(c["name"], c.get("type", 1)): c for c in held}
    changed = {str(c["name"]) for c in wanted if not _same(c, by_key.pop((c["name"], c.get("type", 1)), None))}
    changed |= {str(name) for name, _ in by_key}  # on Discord, no longer in the code
    return tuple(sorted(changed))


def _same(wanted: Any, held: Any) -> bool:
    """Whether Discord's copy says what the code sends: every field the code sets, compared with Discord's
    defaults for what is left out; lists in order, nested options alike."""
    if isinstance(wanted, dict):
        if not isinstance(held, dict):
            return _empty(wanted) and _empty(held)
        skipped = {key for key in _APPLICATION_DEFAULTS if wanted.get(key) is None}
        skipped |= _DERIVED if wanted.get("contexts") is not None else set()
        return all(_same(value, held.get(key)) for key, value in wanted.items() if key not in skipped)
    if isinstance(wanted, list):
        if not isinstance(held, list):
            return not wanted and _empty(held)
        return len(wanted) == len(held) and all(_same(w, h) for w, h in zip(wanted, held))
    if _empty(wanted) and _empty(held):
        return True
    if isinstance(wanted, bool) or isinstance(held, bool):
        return wanted is held
    # Discord sends some numbers as strings (`default_member_permissions`: "8").
    return bool(wanted == held) or (isinstance(wanted, (int, str)) and str(wanted) == str(held))


def _empty(value: Any) -> bool:
    """A field Discord fills in with its default when a command leaves it out: the two mean the same.
    (0 is not empty: `default_member_permissions: 0` hides a command from everyone but admins.)"""
    return value is None or value is False or (isinstance(value, (str, list, dict)) and not value)
