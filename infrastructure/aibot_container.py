"""The AI bot's callback side, wired: its crypto (receiveid ""), intake and stream refreshes.

What a worker needs for AI bot messages (the stream board, the streaming ask, the delivery
through response_url) is wired in Container, which hands the shared pieces in here. Nothing
here is built unless `services.weworktop.aibot.enabled` is true.
"""

from __future__ import annotations

from dependency_injector import containers, providers
from pydantic import SecretStr

from adapters.inbound.callback.wecom_crypto import WeComCrypto
from adapters.inbound.wecom_aibot.wecom_aibot_callback import WeComAiBotCallback
from application.channels.aibot.accept_aibot_message import AcceptAiBotMessage
from application.channels.aibot.refresh_stream import RefreshStream
from application.channels.aibot.stream_board import StreamBoard, StreamTiming
from domain.policy import ChatRules
from domain.tokens import estimate_tokens
from infrastructure.config import AppConfig


class AiBotContainer(containers.DeclarativeContainer):
    config = providers.Dependency(instance_of=AppConfig)
    event_store = providers.Dependency()
    accept_message = providers.Dependency()
    notifier = providers.Dependency()
    board = providers.Dependency(instance_of=StreamBoard)
    timing = providers.Dependency(instance_of=StreamTiming)
    rules = providers.Dependency(instance_of=ChatRules)
    telemetry = providers.Dependency()

    _wecom = config.provided.services.weworktop
    crypto = providers.Singleton(
        WeComCrypto,
        token=providers.Callable(SecretStr.get_secret_value, _wecom.aibot.token),
        encoding_aes_key=providers.Callable(SecretStr.get_secret_value, _wecom.aibot.aes_key),
        receive_id="",
    )
    intake = providers.Singleton(
        AcceptAiBotMessage,
        accept=accept_message,
        rules=rules,
        count_tokens=providers.Object(estimate_tokens),
    )
    refresh = providers.Singleton(
        RefreshStream, store=event_store, board=board, notifier=notifier, timing=timing
    )
    callback = providers.Singleton(
        WeComAiBotCallback,
        crypto=crypto,
        accept=intake,
        refresh=refresh,
        max_skew_seconds=_wecom.callback_max_skew_seconds,
        telemetry=telemetry,
    )
