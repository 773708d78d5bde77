"""Who sent a request, as the per-client limits count it (`client_of`), also for a request refused before the
app saw it (`HeadClients`)."""

from __future__ import annotations

import ipaddress

from starlette.types import Scope
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware


def client_of(scope: Scope) -> str:
    """The client as the per-client limits count it: its address (a trusted proxy's X-Forwarded-For is
    applied before), an IPv6 one by its /64, which one host or site may hold all of."""
    client = scope.get("client")
    if not client:
        return "unknown"
    address = client[0]
    if ":" not in address:  # IPv4: as it is (the common case, without parsing)
        return address
    try:
        ip = ipaddress.IPv6Address(address.partition("%")[0])
    except ValueError:
        return address
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ipaddress.IPv6Network((ip, 64), strict=False))


class HeadClients:
    """`client_of` for a request refused while it was read, which the app never sees: its socket's address, or
    the client a trusted proxy's X-Forwarded-For names (of the fields read so far), as the app's
    ProxyHeadersMiddleware would read it."""

    def __init__(self, trusted_proxies: tuple[str, ...]) -> None:
        self._proxies = ProxyHeadersMiddleware(_nothing, trusted_hosts=list(trusted_proxies)) if trusted_proxies else None

    def __call__(self, peer: tuple[str, int] | None, headers: list[tuple[bytes, bytes]]) -> str:
        scope = {"type": "http", "client": peer, "headers": headers}
        if self._proxies is not None:
            step = self._proxies(scope, _nothing, _nothing)  # type: ignore[arg-type]
            try:
                step.send(None)  # it sets scope["client"] and awaits nothing but `_nothing`: done at once
            except StopIteration:
                pass
            else:
                step.close()
        return client_of(scope)


async def _nothing(*_: object) -> None:
    """An ASGI app, receive and send that do nothing: what `HeadClients` runs ProxyHeadersMiddleware on."""
