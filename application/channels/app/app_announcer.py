"""How a self-built app sends first: message/send to members, departments and tags, paced by
the app's own pacer, so a member who is also being answered stays within WeCom's 30 a
minute (WeCom drops what goes beyond, silently)."""

from __future__ import annotations

from application.channels.app.send_pacer import SendPacer
from application.ports.wecom import Recipients, SendReport, WeComGateway


class AppAnnouncer:
    def __init__(self, gateway: WeComGateway, pacer: SendPacer):
        self._gateway = gateway
        self._pacer = pacer

    async def send(self, recipients: Recipients, msgtype: str, part: str) -> SendReport:
        # A department's or a tag's members are not known here: each is paced as one.
        paced = [
            *recipients.users,
            *(f"department:{d}" for d in recipients.departments),
            *(f"tag:{t}" for t in recipients.tags),
        ]
        for recipient in paced:
            await self._pacer.wait_turn(recipient)
        return await self._gateway.send_to(recipients, msgtype, part)
