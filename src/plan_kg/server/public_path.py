"""Serving behind a reverse proxy at a path (`public_base_iri` = `https://data.example.jp/nishitokyo/`).

A proxy may forward `/nishitokyo/id/…` as it is or strip the prefix to `/id/…`; the site answers both
the same. Every path it sends carries the prefix (`Settings.public_path`), whichever way the request came.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit, urlunsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send


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
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _under(path := scope["path"], self.prefix):
            # Under the prefix as sent, not only once decoded: in `/nishitokyo%2Fid/…` the first segment is
            # `nishitokyo/id` (RFC 3986 2.2), no path of the site.
            raw = scope.get("raw_path")
            length = None if raw is None else self._raw_prefix_length(raw)
            if raw is None or length is not None:
                scope = {**scope, "path": path[len(self.prefix):] or "/", PATH_SENT: path_sent(scope)}
                if raw is not None:
                    scope["raw_path"] = raw[length:] or b"/"
        own = _authorities(scope)

        async def send_within(message: Message) -> None:
            if message["type"] == "http.response.start" and 300 <= message["status"] < 400:
                message = {**message, "headers": [
                    (name, self._within(value, own) if name.lower() == b"location" else value)
                    for name, value in message.get("headers", ())]}
            await send(message)

        await self.app(scope, receive, send_within)

    def _raw_prefix_length(self, raw: bytes) -> int | None:
        """How long the prefix is in `raw`, the path as sent, whose decoded path is under the prefix: it may spell the
        prefix another way (`/nishitok%79o`). What follows keeps its spelling: a `%2F` there stays no separator.
        Only the first bytes are read: no spelling of the prefix is longer than each of its bytes percent-encoded
        (a long path of slashes it does not end at, `/nishitokyo%2F%2F/%2F/…`, was decoded once per slash)."""
        if _under(raw, self.raw_prefix):
            return len(self.raw_prefix)
        longest = min(len(raw), 3 * len(self.prefix.encode("utf-8")))
        ends = [at for at in range(1, longest + 1) if raw[at:at + 1] in (b"/", b"")]
        return next((at for at in ends if unquote(raw[:at].decode("latin-1")) == self.prefix), None)

    def _within(self, location: bytes, own: set[str]) -> bytes:
        """`location` as a path under the prefix if it leads to this site. The site's redirects are paths without
        the prefix (the app sees none), the trailing-slash ones too (app._SlashOrNotFound); an absolute URL to this
        site, built from the Host a proxy sent, is made a path as well: nginx's `$host` has no port, and its default
        Host, the server's own address, is what its `proxy_redirect default` maps to the prefix, which would then be
        there twice. A path alone resolves against the URL the client asked for."""
        parts = urlsplit(location.decode("latin-1"))
        if parts.scheme or parts.netloc:
            if parts.netloc.lower() not in own:
                return location  # another site's
            parts = parts._replace(scheme="", netloc="")
        elif not parts.path.startswith("/"):
            return location  # relative: it resolves against the request's URL, which has the prefix
        prefix = self.raw_prefix.decode("ascii")
        if not _under(parts.path, prefix):
            parts = parts._replace(path=prefix + parts.path)
        return urlunsplit(parts).encode("latin-1")


#: The scope's key for the path a request was sent with, when this middleware took the prefix off it.
PATH_SENT = "plan_kg.path_sent"


def path_sent(scope: Scope) -> str:
    """The path of the request as its client sent it (percent-encoded as sent, the prefix with it): what the HTTP
    protocol's refusals say (`connection.py`), for the endpoint's to say the same."""
    if (sent := scope.get(PATH_SENT)) is not None:
        return sent
    raw = scope.get("raw_path")
    return raw.decode("latin-1") if raw is not None else scope["path"]


def _authorities(scope: Scope) -> set[str]:
    """The authorities (host[:port], lower case) a request reached this server by: its Host header, the socket's."""
    own = set()
    for name, value in scope.get("headers", ()):
        if name == b"host":
            own.add(value.decode("latin-1").lower())
    if server := scope.get("server"):
        host, port = server
        host = f"[{host}]" if ":" in host else host
        own.update({f"{host}:{port}".lower(), host.lower()})
    return own


def _under(path: str | bytes, prefix: str | bytes) -> bool:
    """Whether `path` is `prefix` or below it (`/nishitokyo/…`, not `/nishitokyo-old`)."""
    if not path.startswith(prefix):  # type: ignore[arg-type]
        return False
    rest = path[len(prefix):len(prefix) + 1]
    return not rest or rest in ("/", b"/")
