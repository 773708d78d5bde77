"""Starlette's routes matching a request's path whole, and the path a handler reads, with what it was sent with.

A path may hold any character once percent-decoded: a newline (`%0A`), a carriage return (`%0D`), a tab (`%09`).
Starlette compiles a route into a regular expression ending in `$`, without DOTALL: the `.*` of a `{…:path}`
parameter stops at a newline, so `/id/132292%0A.ttl` matched no route and got the site's 404 page where any other
`.ttl` miss gets the document's plain one; and `$` matches before a newline at the end, so `/robots.txt%0A` was
answered as `/robots.txt`. `request.url.path` goes through urllib's `urlsplit`, which drops a tab, CR or LF
(WHATWG URL parsing): `/id/132292%0D.ttl` was answered with the document of `/id/132292`.
"""

from __future__ import annotations

import re
from typing import Any

from starlette import routing
from starlette.datastructures import URL
from starlette.requests import Request


def _whole(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """`pattern` (Starlette's, ending in `$`) matching only a whole path, any character in its parameters."""
    return re.compile(pattern.pattern.removesuffix("$") + r"\Z", pattern.flags | re.DOTALL)


class Route(routing.Route):
    """`starlette.routing.Route` matching only the whole path, a newline in it too."""

    def __init__(self, path: str, endpoint: Any, **options: Any) -> None:
        super().__init__(path, endpoint, **options)
        self.path_regex = _whole(self.path_regex)


class Mount(routing.Mount):
    """`starlette.routing.Mount` matching only the whole path, a newline in it too."""

    def __init__(self, path: str, app: Any = None, **options: Any) -> None:
        super().__init__(path, app, **options)
        self.path_regex = _whole(self.path_regex)


#: Control characters (C0 and DEL), percent-encoded: urlsplit drops a tab, CR or LF, and none of them belongs in a
#: path as a page or a message shows it (a NUL in a plain-text 404).
_CONTROLS = str.maketrans({chr(code): f"%{code:02X}" for code in (*range(0x20), 0x7F)})


def shown(text: str) -> str:
    """`text` from a request's path with its control characters percent-encoded, to say in an answer."""
    return text.translate(_CONTROLS)


def request_path(request: Request) -> str:
    """The request's path as `request.url.path` has it ('?', '#' and '\\' percent-encoded), a control character in
    it percent-encoded too, where `request.url.path` drops a tab, CR or LF (the path of another resource) and keeps
    the others as they are."""
    return URL(scope={**request.scope, "path": shown(request.scope["path"])}).path
