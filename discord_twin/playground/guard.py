"""Who may drive the playground: its own page, and programs on this machine; never another web page.

The playground has no login, so the browser is its weak side. Any page open in it may send requests to the
playground's port without asking (a form's POST, a `text/plain` fetch), and a page on a domain that its owner
points at 127.0.0.1 after it loaded (DNS rebinding) may even read the answers. So every request passes here:

- `Host` must name the playground: an IP address (it cannot be rebound), `localhost`, or the name given as
  PLAYGROUND_HOST. Not the port: a tunnel (`ssh -L 9000:127.0.0.1:8080`) changes it.
- Anything but a read (POST, ...), and any request to the JSON API, must come from the page's own origin. A
  browser says where a request comes from (`Sec-Fetch-Site`, `Origin`); a program that is not a browser (curl,
  the bot, a script) sends neither and is the operator's own.
- Uploaded files are served inert: a picture as a picture, anything else as a download, none of it able to run
  script in the playground's origin (`nosniff`, a sandboxing CSP).

A refusal is a 403 with a one-line JSON error; the log says the first refusal of each kind (`Refusals`).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
from collections import Counter

from aiohttp import web
from aiohttp.typedefs import Handler

log = logging.getLogger(__name__)

API_PREFIX = "/playground/api/"
ATTACHMENT_PREFIXES = ("/attachments/", "/media-proxy/attachments/")
READS = frozenset({"GET", "HEAD", "OPTIONS"})
# What a browser shows of these is a picture and nothing else; any other upload is served as a download.
PICTURES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/avif"})
# Every answer: no type guessing, and not readable by another origin's page.
COMMON_HEADERS = {"X-Content-Type-Options": "nosniff", "Cross-Origin-Resource-Policy": "same-origin"}
# An uploaded file opened on its own: a document with no script, no plugins, no origin of its own.
ATTACHMENT_CSP = "default-src 'none'; img-src 'self'; sandbox"
HOST_HEADER = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(:[0-9]{1,5})?")


class Refusals:
    """Refused requests counted by kind; the first of each kind is logged, in one line (never a storm)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def refuse(self, kind: str, status: int, message: str) -> web.Response:
        self.counts[kind] += 1
        if self.counts[kind] == 1:
            log.warning("playground: refused %s: %s (answered %d; further ones are not logged)", kind, message, status)
        # Readable by whoever asked (no Cross-Origin-Resource-Policy): it says nothing but why.
        return web.Response(status=status, content_type="application/json",
                            headers={"X-Content-Type-Options": "nosniff"}, text=json.dumps({"message": message}))


class Guard:
    """The aiohttp middleware that checks each request's Host and origin, and makes attachments inert."""

    def __init__(self, host: str, refusals: Refusals) -> None:
        self.names = {"localhost", host.lower().rstrip(".")}
        self.refusals = refusals
        self.url = ""  # where the playground can be opened, for the error message: known once it serves

    def host_allowed(self, header: str) -> bool:
        """Whether a Host header names this playground (see the module's docstring)."""
        match = HOST_HEADER.fullmatch(header)
        if match is None:
            return False
        name = match.group(1).strip("[]").lower().rstrip(".")
        try:
            ipaddress.ip_address(name)
            return True
        except ValueError:
            return name in self.names

    @staticmethod
    def foreign_origin(request: web.Request) -> str | None:
        """Why a browser's request comes from another page than the playground's own; None when it does not."""
        site = request.headers.get("Sec-Fetch-Site")
        if site is not None and site != "same-origin" and not (site == "none" and request.method in READS):
            return f"Sec-Fetch-Site: {site}"
        origin = request.headers.get("Origin")
        if origin is not None and origin.partition("://")[2].lower() != request.headers.get("Host", "").lower():
            return f"Origin: {origin}"
        return None

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        host = request.headers.get("Host", "")
        if not self.host_allowed(host):
            return self.refusals.refuse(
                "a foreign Host", 403, f"Host {host!r} is not this playground's (DNS rebinding?); open {self.url}, "
                "or name the playground in PLAYGROUND_HOST")
        if request.method not in READS or request.path.startswith(API_PREFIX):
            foreign = self.foreign_origin(request)
            if foreign is not None:
                return self.refusals.refuse(
                    "a request from another site", 403,
                    f"only the playground's own page may use it ({foreign}, {request.method} {request.path})")
        try:
            response = await handler(request)
        except web.HTTPException as error:  # an error raised by a handler, or no such route
            error.headers.update(COMMON_HEADERS)
            raise
        if not response.prepared:  # an event stream sets its own headers
            response.headers.update(COMMON_HEADERS)
            if request.path.startswith(ATTACHMENT_PREFIXES):
                make_inert(response)
        return response


def make_inert(response: web.StreamResponse) -> None:
    """An uploaded file as a browser must take it: a picture, or else a download of opaque bytes."""
    response.headers["Content-Security-Policy"] = ATTACHMENT_CSP
    if response.status == 200 and response.content_type not in PICTURES:
        response.content_type = "application/octet-stream"
        response.headers["Content-Disposition"] = "attachment"
