"""Telemetry as Prometheus metrics, in a registry of its own (one per service instance, so
tests can build many side by side)."""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from application.ports.aibot_link import LINK_STATES

# Acks must stay far below WeCom's 5 s retry deadline; model calls take seconds.
_ACK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
_MODEL_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120)


class PrometheusTelemetry:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._callbacks = Counter(
            "weworktop_callbacks", "Callbacks answered, by channel and outcome.",
            ["channel", "outcome"],
            registry=self.registry,
        )
        self._ack = Histogram(
            "weworktop_callback_ack_seconds", "Time to answer a callback, by channel.",
            ["channel"], buckets=_ACK_BUCKETS, registry=self.registry,
        )
        self._model = Histogram(
            "weworktop_model_call_seconds", "Chat model calls, by channel and outcome.",
            ["channel", "outcome"],
            buckets=_MODEL_BUCKETS, registry=self.registry,
        )
        self._wecom = Counter(
            "weworktop_wecom_api_calls", "WeCom API calls, by channel, endpoint and errcode.",
            ["channel", "endpoint", "errcode"], registry=self.registry,
        )
        self._link_state = Gauge(
            "weworktop_aibot_link_state",
            "The AI bot's long connection: 1 for the state it is in, by channel and state.",
            ["channel", "state"], registry=self.registry,
        )
        self._reconnects = Counter(
            "weworktop_aibot_link_reconnects", "Attempts to connect again, by channel.",
            ["channel"], registry=self.registry,
        )
        self._frames = Counter(
            "weworktop_aibot_frames",
            "Long-connection frames, by channel, direction (in/out) and cmd or kind.",
            ["channel", "direction", "kind"], registry=self.registry,
        )
        self._pending = Gauge(
            "weworktop_pending_messages", "Accepted messages not yet settled (the queue).",
            registry=self.registry,
        )

    def aibot_link_state(self, channel: str, state: str) -> None:
        for known in LINK_STATES:
            self._link_state.labels(channel, known).set(1 if known == state else 0)

    def aibot_link_reconnected(self, channel: str) -> None:
        self._reconnects.labels(channel).inc()

    def aibot_frame(self, channel: str, direction: str, kind: str) -> None:
        self._frames.labels(channel, direction, kind).inc()

    def callback_answered(self, channel: str, outcome: str, seconds: float) -> None:
        self._callbacks.labels(channel, outcome).inc()
        self._ack.labels(channel).observe(seconds)

    def model_called(self, channel: str, outcome: str, seconds: float) -> None:
        self._model.labels(channel, outcome).observe(seconds)

    def wecom_called(self, channel: str, endpoint: str, errcode: str) -> None:
        self._wecom.labels(channel, endpoint, errcode).inc()

    def pending_messages(self, count: int) -> None:
        self._pending.set(count)

    def render(self) -> bytes:
        return generate_latest(self.registry)
