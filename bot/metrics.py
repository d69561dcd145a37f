"""What an operator (and the launcher) sees of a running bot process: `/healthz` and Prometheus `/metrics`.

Served on 127.0.0.1:`BOT_METRICS_PORT` from the bot's own event loop, so a loop that stops answering is a failing
health check too. `/healthz` answers 200 once every shard of the process is connected and 503 until then (or while
one is reconnecting), with the shards' states as JSON.

    digitbot_images_read_total{outcome="read"|"refused"}   pictures read, and refused with a reason
    digitbot_answer_seconds                               from an image message's arrival to the answer sent
    digitbot_gateway_latency_seconds{shard}               heartbeat round trip of each shard
    digitbot_shard_connected{shard}                       1 while the shard's connection is open
    digitbot_served_version                               the model version answering (absent before one is loaded)
    digitbot_reading_queue                                pictures waiting for or being read by the reading workers
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.config import ConfigError

log = logging.getLogger(__name__)

HOST = "127.0.0.1"


@dataclass(frozen=True)
class ShardState:
    connected: bool
    latency: float  # seconds; nan before the first heartbeat


@dataclass(frozen=True)
class Probe:
    """How the metrics read the live bot: its shards, its served version, its reading queue."""

    shards: Callable[[], Mapping[int, ShardState]]
    expected_shards: Callable[[], int]
    served_version: Callable[[], int | None]
    queue_depth: Callable[[], int]

    def ready(self) -> bool:
        shards = self.shards()
        return len(shards) >= self.expected_shards() > 0 and all(state.connected for state in shards.values())


class _LiveCollector(Collector):
    def __init__(self, probe: Probe) -> None:
        self.probe = probe

    def collect(self) -> Iterator[Metric]:
        latency = GaugeMetricFamily("digitbot_gateway_latency_seconds", "Heartbeat round trip per shard", labels=["shard"])
        connected = GaugeMetricFamily("digitbot_shard_connected", "1 while the shard is connected", labels=["shard"])
        for shard, state in sorted(self.probe.shards().items()):
            if not math.isnan(state.latency) and not math.isinf(state.latency):
                latency.add_metric([str(shard)], state.latency)
            connected.add_metric([str(shard)], 1.0 if state.connected else 0.0)
        yield latency
        yield connected
        version = GaugeMetricFamily("digitbot_served_version", "The model version answering")
        served = self.probe.served_version()
        if served is not None:
            version.add_metric([], served)
        yield version
        yield GaugeMetricFamily("digitbot_reading_queue", "Pictures waiting for or in the reading workers",
                                value=self.probe.queue_depth())


class Metrics:
    """The process's metrics (a registry of its own, so that several bots in one test process do not collide)."""

    def __init__(self, probe: Probe) -> None:
        self.probe = probe
        self.registry = CollectorRegistry()
        self.images = Counter("digitbot_images_read", "Pictures read (or refused with a reason)", ["outcome"],
                              registry=self.registry)
        self.answer_seconds = Histogram(
            "digitbot_answer_seconds", "From an image message's arrival to the answer sent",
            buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0), registry=self.registry)
        self.registry.register(_LiveCollector(probe))
        self._runner: web.AppRunner | None = None

    async def serve(self, port: int) -> None:
        """Serve /healthz and /metrics on 127.0.0.1:`port` until `close()`."""
        app = web.Application()
        app.router.add_get("/healthz", self._health)
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, HOST, port).start()
        except OSError as error:
            raise ConfigError(f"BOT_METRICS_PORT={port}: cannot serve on {HOST}:{port} ({error.strerror or error}); "
                              "is another process of the bot using it?") from None
        log.info("health and metrics on http://%s:%d/healthz and /metrics", HOST, port)

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _health(self, request: web.Request) -> web.Response:
        ready = self.probe.ready()
        body = {
            "ready": ready,
            "pid": os.getpid(),
            "shards": {str(shard): "connected" if state.connected else "disconnected"
                       for shard, state in sorted(self.probe.shards().items())},
            "version": self.probe.served_version(),
        }
        return web.Response(text=json.dumps(body), status=200 if ready else 503, content_type="application/json")

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(self.registry), headers={"Content-Type": "text/plain; version=0.0.4"})
