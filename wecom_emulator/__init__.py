"""WeCom (企业微信) as the service meets it, emulated on 127.0.0.1: its API for self-built
apps (gettoken, message/send, appchat, user/get, media), its callbacks, signed and
encrypted, and the AI bots' long connection. One emulator for the sandbox, the tests and
the benchmarks.

It is WeCom, not weworktop: it imports nothing of the service (import-linter checks), and
takes the callback crypto it signs with as an argument.
"""

from wecom_emulator.aibot_socket import AiBot, AiBotSocket, BotReply, StreamFrame
from wecom_emulator.emulator import WeComEmulator
from wecom_emulator.endpoints import (
    CHAT_GET,
    CHAT_SEND,
    ENDPOINTS,
    GETTOKEN,
    MEDIA_GET,
    SEND,
    UPLOAD,
    USER_GET,
)
from wecom_emulator.media import Media
from wecom_emulator.messages import SentMessage
from wecom_emulator.tokens import App

__all__ = [
    "AiBot",
    "AiBotSocket",
    "BotReply",
    "StreamFrame",
    "CHAT_GET",
    "CHAT_SEND",
    "ENDPOINTS",
    "GETTOKEN",
    "MEDIA_GET",
    "SEND",
    "UPLOAD",
    "USER_GET",
    "App",
    "Media",
    "SentMessage",
    "WeComEmulator",
]
