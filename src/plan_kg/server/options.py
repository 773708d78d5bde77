"""OPTIONS on any path the server answers: 204 with the methods allowed there (RFC 9110 9.3.7), and a
CORS preflight that allows those methods alone.

Starlette answers OPTIONS on a route that does not list it with 405, as if the path refused the
method that asks what it accepts. Whether the resource exists is asked of the app with a HEAD of the
same target: a path no resource has gets the 404 a GET would. A CORS preflight never gets here
(`PreflightByRoute` answers it first), and a route that lists OPTIONS itself (`/sparql`) answers it as it likes.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: What a mounted app (static files) answers besides OPTIONS.
_MOUNTED = ("GET", "HEAD")
_ORDER = {"GET": 0, "HEAD": 1, "POST": 2, "OPTIONS": 3}
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
                if scope["path"] != "*" and (status := await self._head_status(scope, receive)) >= 400:
                    # The route's path, but no such resource (/id/nothing, /downloads/nope.ttl): as GET says.
                    await PlainTextResponse("No such resource.\n", status_code=status)(scope, receive, send)
                    return
                methods = ", ".join((*allowed, "OPTIONS"))
                await Response(status_code=204, headers={"Allow": methods})(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _head_status(self, scope: Scope, receive: Receive) -> int:
        """The status a HEAD of the same target gets (no body is built for it or sent)."""
        status = 500

        async def keep_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await self.app({**scope, "method": "HEAD"}, receive, keep_status)
        return status

    def _allowed(self, scope: Scope) -> tuple[str, ...] | None:
        """The methods of the first route whose path matches, in a fixed order; None if it takes OPTIONS
        itself, or no route's path matches (the router's 404)."""
        methods = _route_methods(self.routes, scope)
        return None if methods is None or "OPTIONS" in methods else methods


class PreflightByRoute:
    """ASGI middleware: Starlette's CORSMiddleware (given `options`), whose answer to a preflight allows the methods
    the path's route takes and OPTIONS: POST only on `/sparql`, GET and HEAD on a path of no route.

    One CORSMiddleware allows one set of methods for every path; a preflight asking for one the path does not
    take (POST to a page) gets its 400. Only a preflight is matched to a route; other requests go straight on.
    """

    def __init__(self, app: ASGIApp, *, routes: Sequence[BaseRoute], **options: Any) -> None:
        self.app = app
        self.routes = routes
        self.options = options
        self._by_methods: dict[tuple[str, ...], CORSMiddleware] = {}
        self._any_path = self._cors(_MOUNTED)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        cors = self._any_path
        if scope["type"] == "http" and scope["method"] == "OPTIONS":
            cors = self._cors(_route_methods(self.routes, scope) or _MOUNTED)
        await cors(scope, receive, send)

    def _cors(self, methods: tuple[str, ...]) -> CORSMiddleware:
        methods = _in_order({*methods, "OPTIONS"})
        if methods not in self._by_methods:
            self._by_methods[methods] = _SayingWhy(self.app, allow_methods=methods, **self.options)
        return self._by_methods[methods]


class _SayingWhy(CORSMiddleware):
    """CORSMiddleware whose refused preflight says which method was refused and what the path takes (its own
    400 said "Disallowed CORS method"). The origin and headers it never refuses here: every origin and header
    is allowed."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        method = request_headers["access-control-request-method"]
        if response.status_code != 400 or method in self.allow_methods:
            return response
        shown = method if len(method) <= 40 else method[:40] + "…"
        headers = {name: value for name, value in response.headers.items() if name not in ("content-length", "content-type")}
        return PlainTextResponse(f"a cross-origin {shown} is not allowed here: this path takes "
                                 f"{', '.join(self.allow_methods)}\n", status_code=400, headers=headers)


def _route_methods(routes: Sequence[BaseRoute], scope: Scope) -> tuple[str, ...] | None:
    """The methods of the first route whose path matches, in a fixed order; None if no route's path matches
    (the router's 404) or the route names none."""
    for route in routes:
        match, _ = route.matches(scope)
        if match == Match.NONE:
            continue
        if isinstance(route, Route) and route.methods is not None:
            return _in_order(route.methods)
        if isinstance(route, Mount):
            return _MOUNTED
        return None
    return None


def _in_order(methods: Collection[str]) -> tuple[str, ...]:
    return tuple(sorted(methods, key=lambda method: (_ORDER.get(method, len(_ORDER)), method)))
