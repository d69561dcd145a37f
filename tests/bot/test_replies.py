"""The bot's answer plan from its channel permissions (bot/replies.py), without Discord."""

from __future__ import annotations

import discord

from bot import embeds
from bot.replies import plan_reply

EVERYTHING = discord.Permissions(view_channel=True, send_messages=True, read_message_history=True, embed_links=True,
                                 attach_files=True)


def test_all_permissions_give_the_full_answer() -> None:
    plan = plan_reply(EVERYTHING)
    assert (plan.speak, plan.reply, plan.embeds, plan.files, plan.missing) == (True, True, True, True, ())


def test_each_missing_permission_degrades_one_thing() -> None:
    for name, attribute in [("Read Message History", "reply"), ("Embed Links", "embeds"), ("Attach Files", "files")]:
        permissions = discord.Permissions(EVERYTHING.value)
        setattr(permissions, {"reply": "read_message_history", "embeds": "embed_links", "files": "attach_files"}[attribute],
                False)
        plan = plan_reply(permissions)
        assert plan.speak and not getattr(plan, attribute) and plan.missing == (name,)


def test_without_view_channel_or_send_messages_it_may_not_speak_and_says_which() -> None:
    plan = plan_reply(discord.Permissions(read_message_history=True))
    assert not plan.speak and plan.describe_missing() == "View Channel, Send Messages"
    assert plan_reply(discord.Permissions(view_channel=True)).missing == ("Send Messages",)


def test_an_embed_as_text_keeps_what_a_person_reads() -> None:
    embed = discord.Embed(title="7.png: it's a 7", description="Confidence **99%**")
    embed.add_field(name="Per digit", value="0: 99%")
    embed.set_footer(text="model version 1")
    assert embeds.as_text(embed) == "**7.png: it's a 7**\nConfidence **99%**\n**Per digit**\n0: 99%\n-# model version 1"
