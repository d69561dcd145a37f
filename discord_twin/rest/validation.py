"""Discord's limits on what the bot sends: message content and embeds, application command names."""

from __future__ import annotations

import re
from typing import Any

from .http import DiscordError, form_error

MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000
SLASH_NAME = re.compile(r"^[-_\w]{1,32}$")


def validate_message(content: str, embeds: list[dict[str, Any]], has_other: bool) -> None:
    """A message needs content, an embed or something else (`has_other`: files, components, stickers)."""
    if not content and not embeds and not has_other:
        raise DiscordError(400, 50006, "Cannot send an empty message")
    if len(content) > MAX_CONTENT:
        raise form_error("content", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CONTENT} or fewer in length.")
    if len(embeds) > MAX_EMBEDS:
        raise form_error("embeds", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_EMBEDS} or fewer in length.")
    total = 0
    for embed in embeds:
        for key, limit in (("title", 256), ("description", 4096)):
            if len(embed.get(key) or "") > limit:
                raise form_error(f"embeds.{key}", "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")
        if len(embed.get("fields") or []) > 25:
            raise form_error("embeds.fields", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        total += len(embed.get("title") or "") + len(embed.get("description") or "")
        total += sum(len(f.get("name", "")) + len(f.get("value", "")) for f in embed.get("fields") or [])
        total += len((embed.get("footer") or {}).get("text", "")) + len((embed.get("author") or {}).get("name", ""))
    if total > MAX_EMBED_TOTAL:
        raise form_error("embeds", "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000")


def validate_command(kind: int, name: str, description: str) -> None:
    """Slash commands (type 1): lower-case names of word characters and dashes, and a description."""
    if kind == 1 and (not SLASH_NAME.match(name) or name != name.lower()):
        raise form_error("name", "APPLICATION_COMMAND_INVALID_NAME", f"Command name is invalid: {name!r}")
    if kind != 1 and not 1 <= len(name) <= 32:
        raise form_error("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length.")
    if kind == 1 and not 1 <= len(description) <= 100:
        raise form_error("description", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
