"""Interaction routes: the bot's initial response (callback) and the interaction's webhook (original, follow-ups)."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from ..interactions import Interactions
from ..models import FLAG_EPHEMERAL, FLAG_LOADING, Interaction, Message
from ..record import Record
from ..world import WorldState
from .bodies import ParsedBody, apply_edit, new_bot_message, read_body
from .http import DiscordError, form_error, json_response, snowflake
from .validation import validate_modal


class InteractionRoutes:
    """/interactions/{id}/{token}/callback and /webhooks/{application_id}/{token}/..., authenticated by the token."""

    def __init__(self, world: WorldState, record: Record, interactions: Interactions) -> None:
        self.world = world
        self.record = record
        self.interactions = interactions

    async def callback(self, request: web.Request) -> web.Response:
        interaction = self.interactions.by_id.get(snowflake(request.match_info["interaction_id"]))
        if interaction is None or interaction.token != request.match_info["token"]:
            raise DiscordError(404, 10062, "Unknown interaction")
        if interaction.callbacks:
            raise DiscordError(400, 40060, "Interaction has already been acknowledged.")
        assert interaction.dispatched_at is not None
        if time.perf_counter() - interaction.dispatched_at > self.interactions.ack_deadline:
            # Discord forgets an interaction not acknowledged within 3 s: slow bots must defer.
            raise DiscordError(404, 10062, "Unknown interaction")
        body = await read_body(request)
        kind = int(body.json.get("type", 0))
        data = body.json.get("data") or {}
        message: Message | None = None
        if kind == 4:  # CHANNEL_MESSAGE_WITH_SOURCE
            message = new_bot_message(
                self.world, interaction.channel, ParsedBody(data, body.files), interaction=interaction
            )
            message.type, message.reference_id = interaction.message_type, None
        elif kind == 5:  # DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE: a "thinking..." placeholder
            # Interaction Callback Data Structure: with this type "the only valid message flag you may use is EPHEMERAL".
            if int(data.get("flags") or 0) & ~FLAG_EPHEMERAL:
                raise form_error("data.flags", "MESSAGE_FLAGS_INVALID", "Only EPHEMERAL may be set when deferring")
            flags = FLAG_LOADING | (int(data.get("flags") or 0) & FLAG_EPHEMERAL)
            message = Message(
                id=self.world.ids.next(),
                channel=interaction.channel,
                author=self.world.bot_user,
                type=interaction.message_type,
                flags=flags,
                interaction=interaction,
            )
        elif kind in (6, 7):
            # Interaction Callback Type: DEFERRED_UPDATE_MESSAGE and UPDATE_MESSAGE are "Only valid for
            # component-based interactions".
            source = interaction.source
            if source is None:
                raise form_error("type", "INTERACTION_CALLBACK_TYPE_INVALID",
                                 f"Callback type {kind} is only valid for component-based interactions")
            if source.deleted:
                raise DiscordError(404, 10008, "Unknown Message")
            if kind == 7:  # UPDATE_MESSAGE: the component's message is edited in place
                apply_edit(self.world, source, ParsedBody(data, body.files))
                await self.record.edited(source, by_bot=True)
        elif kind == 9:  # MODAL: "Not available for MODAL_SUBMIT and PING interactions", which the twin never sends
            validate_modal(data)
        elif kind in (1, 8):
            # PONG "ACK a Ping" and APPLICATION_COMMAND_AUTOCOMPLETE_RESULT answer PING and autocomplete interactions;
            # the twin sends neither, so a command or a click cannot be answered with them.
            raise form_error("type", "INTERACTION_CALLBACK_TYPE_INVALID",
                             f"Callback type {kind} does not answer a {'command' if interaction.type == 2 else 'component'}")
        elif kind not in (10, 12):
            raise form_error("type", "BASE_TYPE_CHOICES", f"Value must be one of valid callback types, got {kind}")
        await self.interactions.responded(interaction, kind, data, message)
        if request.query.get("with_response") not in ("1", "true", "True"):
            return web.Response(status=204)
        resource: dict[str, Any] = {"type": kind}
        if kind == 7:
            message = interaction.source
        if message is not None:
            resource["message"] = self.world.message_payload(message)
        callback = {
            "interaction": {
                "id": str(interaction.id),
                "type": interaction.type,
                "response_message_id": str(message.id) if message else None,
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool(message and message.ephemeral),
            },
            "resource": resource,
        }
        return json_response(callback)

    async def execute_webhook(self, request: web.Request) -> web.Response:
        interaction = self._interaction(request)
        if not interaction.callbacks:
            raise DiscordError(404, 10015, "Unknown Webhook")  # Follow-ups need an initial response.
        body = await read_body(request)
        original = interaction.original
        if interaction.callbacks[0].type == 5 and original is not None and original.loading and not original.deleted:
            # Receiving and Responding › Create Followup Message: right after a DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE,
            # the follow-up edits the loading message instead of creating one, and its ephemeral flag is ignored:
            # the message keeps the visibility chosen when deferring.
            apply_edit(self.world, original, body)
            await self.record.edited(original, by_bot=True)
            await self.interactions.followed_up(interaction, original, created=False)
            message = original
        else:
            message = new_bot_message(self.world, interaction.channel, body, interaction=interaction)
            message.webhook_id = self.world.application_id
            await self.interactions.followed_up(interaction, message)
        # Create Followup Message: "Functions the same as Execute Webhook, but `wait` is always true".
        return json_response(self.world.message_payload(message))

    async def get_webhook_message(self, request: web.Request) -> web.Response:
        interaction = self._interaction(request)
        return json_response(self.world.message_payload(self._webhook_message(request, interaction)))

    async def edit_webhook_message(self, request: web.Request) -> web.Response:
        interaction = self._interaction(request)
        message = self._webhook_message(request, interaction)
        apply_edit(self.world, message, await read_body(request))
        await self.record.edited(message, by_bot=True)
        return json_response(self.world.message_payload(message))

    async def delete_webhook_message(self, request: web.Request) -> web.Response:
        interaction = self._interaction(request)
        await self.record.bot_deleted(self._webhook_message(request, interaction))
        return web.Response(status=204)

    def _interaction(self, request: web.Request) -> Interaction:
        """The interaction whose token the webhook path names, while that token lives."""
        interaction = self.interactions.by_token.get(request.match_info["token"])
        if interaction is None:
            raise DiscordError(404, 10015, "Unknown Webhook")
        if snowflake(request.match_info["application_id"]) != self.world.application_id:
            raise DiscordError(404, 10015, "Unknown Webhook")
        assert interaction.dispatched_at is not None
        if time.perf_counter() - interaction.dispatched_at > self.interactions.token_lifetime:
            raise DiscordError(401, 50027, "Invalid Webhook Token")
        return interaction

    def _webhook_message(self, request: web.Request, interaction: Interaction) -> Message:
        raw_id = request.match_info["message_id"]
        message = interaction.original if raw_id == "@original" else self.world.messages.get(snowflake(raw_id))
        if message is None or message.deleted or (message.interaction is not interaction and message is not interaction.original):
            raise DiscordError(404, 10008, "Unknown Message")
        return message
