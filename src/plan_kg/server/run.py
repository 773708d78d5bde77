"""`plan-kg serve`: build `dist/` when needed, listen, and serve the app of `create_app` with uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import importlib
import logging
import resource
import socket
from collections.abc import Callable
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.config import LOGGING_CONFIG

from ..config import Settings
from ..errors import BuildError, PlanKgError, ServeError
from ..interrupt import terminated_as_interrupted
from .app import create_app
from .refusals import RefusalLog
from .responses import abandon
from .reload import ReloadingApp
from .connection import http_protocol
from .store import DUMP_NAME, default_store_dir

logger = logging.getLogger(__name__)


def ensure_built(settings: Settings) -> None:
    """Run `plan-kg build` when `dist/plan-kg.nq` is missing, or when `dist/` was built from other
    inputs than there are now (its build record says which: `plan_kg.build_record`).

    A `dist/` without a record (made by hand, or by a plan-kg that kept none) is used as it is. When
    building again fails, the error says so and the previous `dist/` is left as it was.
    """
    try:
        build = importlib.import_module("plan_kg.build")
        build_record = importlib.import_module("plan_kg.build_record")
    except ModuleNotFoundError as exc:
        if exc.name not in ("plan_kg.build", "plan_kg.build_record"):
            raise
        return  # load_store then says what is missing
    changed = None
    if (settings.dist_dir / DUMP_NAME).is_file():
        changed = build_record.changed_inputs(settings)
        if changed is None:
            logger.warning("%s has no build record (made by hand or by an earlier plan-kg): serving it as it is; "
                           "`plan-kg build` builds it again from the sources", settings.dist_dir)
            return
        if not changed:
            return
        logger.warning("%s was built from other inputs than there are now (%s changed): building it again",
                       settings.dist_dir, ", ".join(changed))
    else:  # said, as the other cases are: on a fresh clone the build takes a while before anything else is said
        logger.warning("%s has no %s: building it from the sources (`plan-kg build`)", settings.dist_dir, DUMP_NAME)
    try:
        with terminated_as_interrupted():  # a server stopped while it builds leaves no half-written folder
            build.build(settings)
    except PlanKgError as exc:
        if not changed:
            raise
        raise BuildError(f"{settings.dist_dir} is out of date ({', '.join(changed)} changed since it was built), "
                        f"and building it again failed; the previous build is unchanged.\n{exc}") from exc


def run_serve(settings: Settings, *, host: str = "127.0.0.1", port: int = 8000, store_dir: Path | None = None) -> None:
    """Serve the endpoint with uvicorn until interrupted; builds `dist/` first if it is missing or out of date.

    The store is kept in `<root>/.cache/store` (reused while the dump is unchanged) unless `store_dir` is given.
    """
    listener = _listen(host, port)  # first: a port in use is said before minutes of building
    # Each connection takes a file descriptor: the usual soft limit (1,024) is reached by that many
    # stalled clients, and then nobody is answered. Raised to what the system allows this process.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        with contextlib.suppress(ValueError, OSError):  # e.g. an unlimited hard limit (macOS)
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        ensure_built(settings)
        with terminated_as_interrupted():  # a server stopped while it loads its first build keeps none of the load
            app = serving_app(settings, store_dir=store_dir or default_store_dir(settings))
        # proxy_headers off: which proxies are trusted is the app's setting (trusted_proxies), not uvicorn's default.
        # On Ctrl-C or SIGTERM, what is in flight gets as long as a query may run; then it is cut off (uvicorn waited
        # for as long as any client stayed connected, one that read its download slowly included).
        config = uvicorn.Config(CutOffAtStop(app, stopping=lambda: server.should_exit, wait_s=settings.query_timeout_s),
                                host=host, port=port, log_level="info", access_log=settings.access_log,
                                proxy_headers=False, log_config=_LOG_CONFIG,
                                timeout_graceful_shutdown=settings.query_timeout_s,  # type: ignore[arg-type]
                                http=http_protocol(settings, refusals=app.state.refusals))
        server = _Server(config)
        server.run(sockets=[listener])
    finally:
        listener.close()


def serving_app(settings: Settings, *, store_dir: Path) -> Starlette | ReloadingApp:
    """What `plan-kg serve` serves: the app of the build in `dist/`, and of each later one (`reload_builds`)."""
    # One log for every build served (`app.state.refusals`), the HTTP protocol's refusals too.
    make_app = functools.partial(create_app, settings, store_dir=store_dir, refusals=RefusalLog(),
                                 say_when_built=not settings.reload_builds)
    if not settings.reload_builds:
        return make_app()
    # A request may still be arriving (its body), then running a query, then sending its answer, when a new build
    # takes over. Without a limit on the first (receive_timeout_s = 0), one still arriving then is answered 503.
    drain_s = settings.receive_timeout_s + settings.query_timeout_s + settings.send_timeout_s
    return ReloadingApp(make_app, make_app(), drain_s=drain_s)


#: uvicorn's logging, plan-kg's warnings (a refusal, a worker that did not start) with it: a level before each line.
_LOG_CONFIG = {**LOGGING_CONFIG, "loggers": {
    **LOGGING_CONFIG["loggers"], "plan_kg": {"handlers": ["default"], "level": "WARNING", "propagate": False}}}


class CutOffAtStop:
    """ASGI middleware: a request still in flight when a stopping server's wait for it (`wait_s`) is over is cut off
    with one line in the log saying so, and a 503 if its answer had not begun. uvicorn cancels its task then, and
    logged every frame of it as an "Exception in ASGI application" (then a 500, had the answer not begun).

    `stopping()` says whether the server is stopping (Ctrl-C, SIGTERM): only then is a cancelled request this one.
    """

    def __init__(self, app: ASGIApp, *, stopping: Callable[[], bool], wait_s: float) -> None:
        self.app = app
        self.stopping = stopping
        self.wait_s = wait_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        except asyncio.CancelledError:
            if scope["type"] != "http" or not self.stopping():
                raise
            logger.warning("cut off %s %s: the server stopped, and it waits %g s (query_timeout_s) for what is in "
                           "flight", scope["method"], scope["path"], self.wait_s)
            # Told why, and to come back, rather than sent uvicorn's 500, had its answer not begun. If it had, uvicorn
            # refuses this start, and the answer is abandoned (no error of uvicorn's for it). No wrapper of `send` per
            # request to know which: it costs them all.
            try:
                async with asyncio.timeout(1.0):
                    await send(_STOPPED[0])
                    await send(_STOPPED[1])
            except Exception:  # noqa: BLE001 - refused (begun), or the client gone: either way nothing more to send
                abandon(scope)


#: How long a stopping server waits for the requests it cut off to say so (`CutOffAtStop`: its 503 takes at most 1 s).
_CUT_OFF_WAIT_S = 2.0

_STOPPED_BODY = b"the server stopped before this request was answered; send it again once it is back\n"
_STOPPED = (
    {"type": "http.response.start", "status": 503, "headers": [
        (b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(_STOPPED_BODY)).encode()),
        (b"access-control-allow-origin", b"*"), (b"retry-after", b"10"), (b"connection", b"close")]},
    {"type": "http.response.body", "body": _STOPPED_BODY},
)


class _Server(uvicorn.Server):
    """uvicorn's server, which says the address to open once it answers there (uvicorn names only the socket;
    the port may have been 0: any free one)."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await super().shutdown(sockets=sockets)
        # uvicorn cancels what is still in flight at the end of its wait (`CutOffAtStop`) and does not wait for it: the
        # cancelled requests ran their line in the log and their 503 only in asyncio.run's clean-up, after a Ctrl-C,
        # and never after SIGTERM (raised again once the server stopped, it ends the process at once).
        if not self.force_exit and (pending := [task for task in self.server_state.tasks if not task.done()]):
            await asyncio.wait(pending, timeout=_CUT_OFF_WAIT_S)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.should_exit:  # the app did not start: uvicorn says why
            return
        for sock in sockets or ():
            host, port = sock.getsockname()[:2]
            # Listening on every address: this machine's own is one to open (0.0.0.0 is not an address to visit).
            host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
            shown = f"[{host}]" if ":" in host else host
            logging.getLogger("uvicorn.error").info("plan-kg serves http://%s:%d/ (SPARQL endpoint: /sparql)",
                                                    shown, port)


def _listen(host: str, port: int) -> socket.socket:
    """A socket bound to `host`:`port`, for uvicorn to listen on once the app is loaded (until then a
    client is refused, not kept waiting); ServeError saying what to do if there can be none."""
    if not 0 <= port <= 65535:  # getaddrinfo would take the number modulo 65,536, and listen elsewhere
        raise ServeError(f"port {port} is not a TCP port (0 to 65535; 0: any free port); check --port")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        address = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)[0][4]
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError:
            sock.close()
            raise
        return sock
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ServeError(f"{host}:{port} is already in use (by another plan-kg serve?): stop that server, "
                             f"or serve on another port with --port") from exc
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; check --host and --port") from exc
