"""The buttons and selects of the bot's messages: the correction flow's "Wrong?", then which digit, then which label.

They are discord.py DynamicItems: a click is matched by its custom_id's template and everything the click needs is
in the custom_id, so they keep working after a restart (registered in `DigitBot.setup_hook`). What a click does is
decided in the corrections cog (`bot/cogs/corrections.py`); its errors go to the bot's one error handler.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import discord

from bot.answers import MAX_CHOICES, WRONG_TEMPLATE, Answered, Place, describe, parse_wrong, places, wrong_custom_id

if TYPE_CHECKING:
    from bot.cogs.corrections import CorrectionsCog


def _cog(interaction: discord.Interaction[Any]) -> CorrectionsCog:
    cog = interaction.client.get_cog("Corrections")
    assert cog is not None, "the corrections cog is loaded with the bot"
    return cog  # type: ignore[return-value]


class WrongButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=WRONG_TEMPLATE):
    """Under every answer: opens a private choice of what the digit really is."""

    def __init__(self, version: int, numbers: Sequence[str]) -> None:
        self.version, self.numbers = version, tuple(numbers)
        super().__init__(discord.ui.Button(label="Wrong?", style=discord.ButtonStyle.secondary,
                                           custom_id=wrong_custom_id(version, numbers)))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any],
                             match: re.Match[str], /) -> WrongButton:
        parsed = parse_wrong(match.string)
        assert parsed is not None  # the template matched
        return cls(*parsed)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _cog(interaction).on_wrong(interaction, self.numbers)


class WhichDigit(discord.ui.DynamicItem[discord.ui.Select[Any]], template=r"digitbot:which:(?P<reply>[0-9]+)"):
    """For an answer of several digits: which one is wrong."""

    def __init__(self, reply_id: int, choices: Sequence[tuple[Place, str]] = ()) -> None:
        self.reply_id = reply_id
        options = [discord.SelectOption(label=text, value=str(place.position)) for place, text in choices]
        super().__init__(discord.ui.Select(custom_id=f"digitbot:which:{reply_id}", placeholder="Which digit is wrong?",
                                           options=options))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any],
                             match: re.Match[str], /) -> WhichDigit:
        return cls(int(match["reply"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        position = int(self.item.values[0])
        chosen = next((o.label for o in _options(interaction) if o.value == str(position)), "that digit")
        await _cog(interaction).on_which(interaction, self.reply_id, position, chosen)


class RealLabel(discord.ui.DynamicItem[discord.ui.Select[Any]],
                template=r"digitbot:label:(?P<reply>[0-9]+):(?P<position>[0-9]+)"):
    """0–9: what the digit really is. Choosing records the vote."""

    def __init__(self, reply_id: int, position: int) -> None:
        self.reply_id, self.position = reply_id, position
        options = [discord.SelectOption(label=str(digit), value=str(digit)) for digit in range(10)]
        super().__init__(discord.ui.Select(custom_id=f"digitbot:label:{reply_id}:{position}",
                                           placeholder="It is really a…", options=options))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any],
                             match: re.Match[str], /) -> RealLabel:
        return cls(int(match["reply"]), int(match["position"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _cog(interaction).on_label(interaction, self.reply_id, self.position, int(self.item.values[0]))


def _options(interaction: discord.Interaction[Any]) -> list[discord.SelectOption]:
    """The options of the select that was used, as the message shows them."""
    data: dict[str, Any] = dict(interaction.data or {})
    custom_id = data.get("custom_id")
    view = discord.ui.View.from_message(interaction.message) if interaction.message else None
    for item in view.children if view else []:
        if isinstance(item, discord.ui.Select) and item.custom_id == custom_id:
            return item.options
    return []


DYNAMIC_ITEMS = (WrongButton, WhichDigit, RealLabel)


def wrong_view(read_out: Answered | None) -> discord.ui.View | None:
    """The "Wrong?" button for an answer; None when no digit was read."""
    if read_out is None:
        return None
    view = discord.ui.View(timeout=None)
    view.add_item(WrongButton(read_out.version, read_out.numbers))
    return view


def which_view(reply_id: int, numbers: Sequence[str]) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(WhichDigit(reply_id, [(place, describe(place, numbers)) for place in places(numbers)[:MAX_CHOICES]]))
    return view


def label_view(reply_id: int, position: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(RealLabel(reply_id, position))
    return view
