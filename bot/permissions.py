"""What the bot may do when answering in a channel, decided from its permissions there: plain Python, no Discord calls.

Discord (topics/permissions, resources/message › Create Message) needs View Channel and Send Messages to post at all,
Read Message History to post a *reply*, Attach Files for files, and Embed Links for embeds (which it drops silently
otherwise). The bot degrades instead of failing: a plain message naming the author instead of a reply, text instead
of embeds, no pictures instead of none of the answer; where it may not speak, it logs the missing permission.
"""

from __future__ import annotations

from dataclasses import dataclass

import discord


@dataclass(frozen=True)
class ReplyPlan:
    speak: bool  # may post in the channel at all
    reply: bool  # as a reply to the message (else a plain message naming its author)
    embeds: bool  # embeds are shown (else their text goes into the message)
    files: bool  # files may be attached (else pictures are left out)
    missing: tuple[str, ...]  # the permissions whose absence changes the answer, as Discord's client names them

    def describe_missing(self) -> str:
        return ", ".join(self.missing)


ALL = ReplyPlan(speak=True, reply=True, embeds=True, files=True, missing=())


def plan_reply(permissions: discord.Permissions) -> ReplyPlan:
    """How to answer in a channel where the bot has `permissions` (discord.py's permissions_for, overwrites applied)."""
    missing = []
    if not permissions.view_channel:
        missing.append("View Channel")
    if not permissions.send_messages:
        missing.append("Send Messages")
    if missing:
        return ReplyPlan(speak=False, reply=False, embeds=False, files=False, missing=tuple(missing))
    for name, has in (("Read Message History", permissions.read_message_history),
                      ("Embed Links", permissions.embed_links), ("Attach Files", permissions.attach_files)):
        if not has:
            missing.append(name)
    return ReplyPlan(speak=True, reply=permissions.read_message_history, embeds=permissions.embed_links,
                     files=permissions.attach_files, missing=tuple(missing))
