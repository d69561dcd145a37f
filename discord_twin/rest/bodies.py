"""Request bodies that carry a message (JSON, or multipart with uploads), turned into bot messages and edits."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import BodyPartReader, web

from ..models import (
    CHANNEL_MESSAGE_FLAGS,
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    INTERACTION_MESSAGE_FLAGS,
    Channel,
    Interaction,
    Message,
    StoredAttachment,
)
from ..world import WorldState
from .http import DiscordError, form_error
from .validation import validate_components, validate_files, validate_message


@dataclass
class ParsedBody:
    """A message-bearing request body: its JSON plus uploaded files by form field name."""

    json: dict[str, Any]
    files: dict[str, tuple[str | None, bytes]]


# resources/message › Create Message › Limitations: "The maximum request size when sending a message is 25 MiB".
MAX_REQUEST_BYTES = 25 * 1024 * 1024


def _too_large() -> DiscordError:
    return DiscordError(413, 40005, "Request entity too large")


async def read_body(request: web.Request) -> ParsedBody:
    """JSON, or multipart with `payload_json` and `files[n]` parts, as discord.py sends them; at most 25 MiB."""
    if request.content_length is not None and request.content_length > MAX_REQUEST_BYTES:
        raise _too_large()
    if request.content_type == "multipart/form-data":
        payload: dict[str, Any] = {}
        files: dict[str, tuple[str | None, bytes]] = {}
        total = 0
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                continue  # A nested multipart: discord.py never sends one.
            data = bytes(await part.read())
            total += len(data)
            if total > MAX_REQUEST_BYTES:  # a body sent without its length
                raise _too_large()
            if part.name == "payload_json":
                payload = json.loads(data)
            elif part.name is not None:
                files[part.name] = (part.filename, data)
        return ParsedBody(payload, files)
    if request.can_read_body:
        try:
            return ParsedBody(await request.json(), {})
        except ValueError:
            raise DiscordError(400, 50109, "The request body contains invalid JSON.") from None
    return ParsedBody({}, {})


def new_bot_message(
    world: WorldState, channel: Channel, body: ParsedBody, *, interaction: Interaction | None = None
) -> Message:
    """A bot-authored message built from a create-message body (not yet stored); an interaction's may be ephemeral."""
    data = body.json
    embeds = list(data.get("embeds") or ([data["embed"]] if data.get("embed") else []))
    content = str(data.get("content") or "")
    attachments = _attachments(world, body, channel)
    components = list(data.get("components") or [])
    validate_message(content, embeds, bool(attachments or components or data.get("sticker_ids")))
    validate_components(components)
    reference_id = None
    reference = data.get("message_reference")
    if reference and reference.get("message_id") is not None:
        reference_id = int(reference["message_id"])
        target = world.messages.get(reference_id)
        if target is None or target.deleted:
            if reference.get("fail_if_not_exists", True):
                raise form_error("message_reference", "REPLIES_UNKNOWN_MESSAGE", "Unknown message")
            reference_id = None
    flags = int(data.get("flags") or 0)
    allowed = CHANNEL_MESSAGE_FLAGS if interaction is None else INTERACTION_MESSAGE_FLAGS
    if flags & ~allowed:
        raise form_error("flags", "MESSAGE_FLAGS_INVALID", f"Only flags {allowed} may be set on this message")
    return Message(
        id=world.ids.next(),
        channel=channel,
        author=world.bot_user,
        content=content,
        embeds=embeds,
        attachments=attachments,
        components=components,
        reference_id=reference_id,
        type=19 if reference_id is not None else 0,
        flags=flags,
        tts=bool(data.get("tts")),
        interaction=interaction,
    )


def apply_edit(world: WorldState, message: Message, body: ParsedBody) -> None:
    """Apply an edit body: absent fields stay, present ones replace.

    resources/message › Edit Message: "Any provided files will be appended to the message"; with an `attachments`
    array, it "must contain all attachments that should be present after edit, including retained and new" (v10):
    the message keeps exactly those.
    """
    data = body.json
    content = message.content if "content" not in data else str(data["content"] or "")
    embeds = message.embeds if "embeds" not in data else list(data["embeds"] or [])
    if "attachments" in data:
        attachments = _attachments(world, body, message.channel, keep=message.attachments, listed_only=True)
    elif body.files:
        attachments = [*message.attachments, *_attachments(world, body, message.channel)]
    else:
        attachments = message.attachments
    components = message.components if "components" not in data else list(data["components"] or [])
    validate_message(content, embeds, bool(attachments or components))
    validate_components(components)
    message.content, message.embeds, message.attachments, message.components = (
        content,
        embeds,
        attachments,
        components,
    )
    if "flags" in data and data["flags"] is not None:
        # An existing message's ephemeral state cannot be changed.
        message.flags = (message.flags & FLAG_EPHEMERAL) | (int(data["flags"]) & ~FLAG_EPHEMERAL)
    message.flags &= ~FLAG_LOADING


def _attachments(
    world: WorldState,
    body: ParsedBody,
    channel: Channel,
    keep: list[StoredAttachment] | None = None,
    *,
    listed_only: bool = False,
) -> list[StoredAttachment]:
    """Files uploaded in `body`, plus those of `keep` the body's `attachments` list names by id; with `listed_only`,
    an upload the list does not name is left out."""
    validate_files([(filename or name, len(data)) for name, (filename, data) in body.files.items()])
    entries: list[dict[str, Any]] = body.json.get("attachments") or []
    by_field = dict(body.files)
    result: list[StoredAttachment] = []
    existing = {str(attachment.id): attachment for attachment in keep or []}
    for entry in entries:
        entry_id = str(entry.get("id"))
        if entry_id in existing:
            result.append(existing[entry_id])
            continue
        upload = by_field.pop(f"files[{entry_id}]", None)
        if upload is None:
            raise form_error("attachments", "ATTACHMENT_NOT_FOUND", f"No file uploaded for attachment {entry_id}")
        filename = entry.get("filename") or upload[0] or "file"
        result.append(world.store_attachment(channel, filename, upload[1], description=entry.get("description")))
    if not listed_only:
        for name, (filename, data) in by_field.items():  # Files without an `attachments` entry.
            result.append(world.store_attachment(channel, filename or name, data))
    return result
