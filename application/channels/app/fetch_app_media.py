"""A picture a member sent the self-built app: fetched by its MediaId (valid three days)
through media/get with the app's own access token."""

from __future__ import annotations

from application.ports.media import Fetched, MediaError
from application.ports.wecom import DeliveryError, WeComGateway
from domain import notices
from domain.messages import Attachment


class FetchAppMedia:
    def __init__(self, gateway: WeComGateway):
        self._gateway = gateway

    async def __call__(self, attachment: Attachment, limit: int) -> Fetched:
        # The gateway reads at most its own media limit (20 MB, WeCom's largest), so memory
        # is bounded before this channel's smaller limit is applied.
        try:
            data = await self._gateway.download_media(attachment.ref)
        except DeliveryError as err:
            raise MediaError(notices.UNAVAILABLE, f"media/get: {err.reason}") from None
        if len(data) > limit:
            raise MediaError(notices.TOO_LARGE, f"{len(data):,} bytes, over {limit:,}", limit)
        return Fetched(data)
