"""The twin's CDN: serves the files of the world's attachments at the signed URLs in their payloads."""

from __future__ import annotations

import asyncio

from aiohttp import web

from .faults import Faults
from .rest.http import DiscordError, snowflake
from .world import WorldState


OVERSIZE_CHUNK = 1 << 20


class Cdn:
    """GET /attachments/{channel}/{id}/{filename} (and the media proxy's copy of that path)."""

    def __init__(self, world: WorldState, faults: Faults) -> None:
        self.world = world
        self.faults = faults
        self.requests: list[str] = []  # the paths asked for, in order

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/attachments/{channel_id}/{attachment_id}/{filename}", self.serve),
            web.get("/media-proxy/attachments/{channel_id}/{attachment_id}/{filename}", self.serve),
        ]

    async def serve(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(request.path)
        if self.faults.cdn_delay_seconds:
            await asyncio.sleep(self.faults.cdn_delay_seconds)
        try:
            attachment = self.world.attachments.get(snowflake(request.match_info["attachment_id"]))
        except DiscordError:  # not a number: no such file
            attachment = None
        if (
            self.faults.cdn_missing
            or attachment is None
            or attachment.filename != request.match_info["filename"]
            or str(attachment.channel_id) != request.match_info["channel_id"]
        ):
            return web.Response(status=404, text="Not Found")
        if not self.world.cdn.valid(attachment.path, request.query):
            # Signed Attachment CDN URLs: an unsigned, tampered or expired URL no longer serves the file.
            return web.Response(status=404, text="This content is no longer available.")
        content_type = attachment.content_type or "application/octet-stream"
        if not self.faults.cdn_extra_bytes:
            return web.Response(body=attachment.data, content_type=content_type)
        return await self._oversized(request, attachment.data, content_type)

    async def _oversized(self, request: web.Request, data: bytes, content_type: str) -> web.StreamResponse:
        """The file, then `cdn_extra_bytes` of zeros, streamed (so the twin itself never holds them)."""
        response = web.StreamResponse(headers={"Content-Type": content_type})
        await response.prepare(request)
        try:
            await response.write(data)
            left = self.faults.cdn_extra_bytes
            chunk = bytes(min(left, OVERSIZE_CHUNK))
            while left > 0:
                await response.write(chunk[:left])
                left -= len(chunk)
            await response.write_eof()
        except (ConnectionError, RuntimeError):
            pass  # the client stopped reading: that is what a careful client does
        return response
