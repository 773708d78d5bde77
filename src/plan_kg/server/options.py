"""OPTIONS on any path the server answers: 204 with the methods allowed there (RFC 9110 9.3.7).

Starlette answers OPTIONS on a route that does not list it with 405, as if the path refused the
method that asks what it accepts. A CORS preflight never gets here (CORSMiddleware answers it
first), and a route that lists OPTIONS itself (`/sparql`) answers it as it likes.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

#: What a mounted app (static files) answers besides OPTIONS.
_MOUNTED = ("GET", "HEAD")
_ORDER = {"GET": 0, "HEAD": 1, "POST": 2}
#: `OPTIONS *` asks about the server as a whole.
_SERVER = ("GET", "HEAD", "POST")


class AnswerOptions:
    """ASGI middleware: a plain OPTIONS request to a route of `routes` that does not take it gets 204 with Allow."""

    def __init__(self, app: ASGIApp, *, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "OPTIONS":
            allowed = _SERVER if scope["path"] == "*" else self._allowed(scope)
            if allowed is not None:
                methods = ", ".join((*allowed, "OPTIONS"))
                await Response(status_code=204, headers={"Allow": methods})(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _allowed(self, scope: Scope) -> tuple[str, ...] | None:
        """The methods of the first route whose path matches, in a fixed order; None if it takes OPTIONS
        itself, or no route's path matches (the router's 404)."""
        for route in self.routes:
            match, _ = route.matches(scope)
            if match == Match.NONE:
                continue
            if isinstance(route, Route) and route.methods is not None:
                if "OPTIONS" in route.methods:
                    return None
                return tuple(sorted(route.methods, key=lambda method: (_ORDER.get(method, len(_ORDER)), method)))
            if isinstance(route, Mount):
                return _MOUNTED
            return None
        return None
