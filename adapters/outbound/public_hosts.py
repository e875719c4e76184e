"""Whether a URL that a remote server named leads out to the internet or back into this
service's own network (loopback, private ranges, link-local cloud metadata, ...).

An IP address in the URL is refused outright: servers that hand out files name them by host.
A host name is resolved, and refused if any of its addresses is not a public one. The address
httpx then connects to is resolved again, so a name that changes its answer in between (DNS
rebinding) is not covered; the URL comes from a configured model server, not from a member.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

from domain.url_origins import Origin


async def public_host_problem(origin: Origin) -> str | None:
    """None when `origin`'s host is a name whose addresses are all public; else why not."""
    host = origin.host.strip("[]")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return "with an IP address instead of a host name"
    try:
        found = await asyncio.get_running_loop().getaddrinfo(
            host, origin.port, type=socket.SOCK_STREAM
        )
    except (OSError, UnicodeError):
        return "on a host that does not resolve"
    addresses = {ipaddress.ip_address(entry[4][0].split("%")[0]) for entry in found}
    if not addresses or not all(address.is_global for address in addresses):
        return "on a host inside this service's own network"
    return None
