"""Serving behind a reverse proxy at a path (`public_base_iri` = `https://data.example.jp/nishitokyo/`).

A proxy may forward `/nishitokyo/id/…` as it is or strip the prefix to `/id/…`; the site answers both
the same. Every path it sends carries the prefix (`Settings.public_path`), whichever way the request came.
"""

from __future__ import annotations

from urllib.parse import unquote

from starlette.types import ASGIApp, Receive, Scope, Send


class PublicPath:
    """ASGI middleware: a request under `prefix` (a URI path such as `/nishitokyo`) is handled as the same
    request without it, so the routes, and whatever matches a path before them, see the site's own paths.

    `scope["root_path"]` is left as it is: Starlette (>= 0.33) takes a root path to be part of
    `scope["path"]` and would strip it again below a Mount, where the static files are served.
    """

    def __init__(self, app: ASGIApp, *, prefix: str) -> None:
        self.app = app
        self.prefix = unquote(prefix)  # as scope["path"] has it: percent-decoded
        self.raw_prefix = prefix.encode("ascii")  # as raw_path has it, when the client encoded it the same way

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and _under(path := scope["path"], self.prefix):
            scope = {**scope, "path": path[len(self.prefix):] or "/"}
            raw = scope.get("raw_path")
            if raw is not None:
                if _under(raw, self.raw_prefix):
                    scope["raw_path"] = raw[len(self.raw_prefix):] or b"/"
                else:  # the prefix spelled another way (%7E for ~): the decoded path stands for the raw one
                    del scope["raw_path"]
        await self.app(scope, receive, send)


def _under(path: str | bytes, prefix: str | bytes) -> bool:
    """Whether `path` is `prefix` or below it (`/nishitokyo/…`, not `/nishitokyo-old`)."""
    if not path.startswith(prefix):  # type: ignore[arg-type]
        return False
    rest = path[len(prefix):len(prefix) + 1]
    return not rest or rest in ("/", b"/")
