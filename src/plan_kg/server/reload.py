"""`plan-kg serve` across builds: the app of the build it loaded serves until a new build's app has started.

`create_app` serves one build: its store, its query workers, the files of its `dist/`. `ReloadingApp` holds one
such app at a time and looks at the dump every few seconds (`rebuilt.CHECK_EVERY_S`). Once `plan-kg build` has
swapped a new `dist/` in, it makes the new build's app beside the one serving (loading the store in a thread,
starting its workers), and only then sends new requests to it. The old app finishes the requests it holds, for at
most `drain_s`, and is shut down (its workers stop; its store goes when a later load prunes it). A new build that
cannot be served (not valid N-Quads, workers that do not start) is said in the log, and the old app goes on
serving; that build is not tried again, the next one is. A server stopped while a new build loads gives the load
up (`store.LoadStopped`) instead of waiting for it at exit.

While both run, memory holds both stores and both pools of workers, and a client may run its queries on each.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import threading
import traceback
import weakref
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.applications import Starlette

from . import rebuilt

logger = logging.getLogger(__name__)

#: After an old build's app is shut down, how long to wait each time before looking whether it is gone.
_RELEASE_WAITS_S = (0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def _when(state: tuple[int, int]) -> str:
    """When the dump in `state` (its size and modification time in ns) was made, as the log says it."""
    return rebuilt.shown_time(state[1] / 1e9)


class _Generation:
    """One build's app, its lifespan once started, and the requests it is answering."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.active = 0
        self._lifespan = contextlib.AsyncExitStack()

    async def start(self) -> None:
        await self._lifespan.enter_async_context(self.app.router.lifespan_context(self.app))

    async def stop(self) -> None:
        await self._lifespan.aclose()


class ReloadingApp:
    """ASGI app: the app `make_app` gives for the build in `dist/`, replaced by a new one after each build.

    `first` is the app of the build there at start (made before the server listens, so that a build that cannot
    be served stops the start). `make_app(stop=...)` makes each later one (`app.create_app`). `state` is the
    serving app's.
    """

    def __init__(self, make_app: Callable[..., Starlette], first: Starlette, *, drain_s: float) -> None:
        self._make_app = make_app
        self._serving = _Generation(first)
        self._drain_s = drain_s
        self._retiring: set[asyncio.Task[None]] = set()
        self._let_go: weakref.WeakSet[Starlette] = weakref.WeakSet()  # old builds' apps shut down, not yet collected
        self._closing = asyncio.Event()  # the server is shutting down
        # Set with it: a new build's load, in a thread no one can stop and Python waits for at exit, gives up.
        self._stop_loading = threading.Event()
        self.reloads = 0  # new builds served

    @property
    def state(self) -> Any:
        return self._serving.app.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        generation = self._serving
        generation.active += 1
        try:
            await generation.app(scope, receive, send)
        finally:
            generation.active -= 1

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await receive()  # lifespan.startup
        try:
            await self._serving.start()
        except BaseException:
            # As Starlette says it: uvicorn logs the message and does not serve.
            await send({"type": "lifespan.startup.failed", "message": traceback.format_exc()})
            raise
        watching = asyncio.create_task(self._watch())
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        self._stop_loading.set()
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watching
        self._closing.set()  # an old build's app still draining is shut down now, whole; one let go is not waited for
        await asyncio.gather(*self._retiring)
        await self._serving.stop()
        await send({"type": "lifespan.shutdown.complete"})

    async def _watch(self) -> None:
        """Serve each new build once its app has started; say why when one cannot be."""
        given_up: tuple[int, int] | None = None  # the dump (size, time) of a build that could not be served
        while True:
            await asyncio.sleep(rebuilt.CHECK_EVERY_S)
            store = self._serving.app.state.store
            found = store.current_state()
            if found is None or found == store.source_state or found == given_up:
                continue
            when = _when(found)
            logger.warning("%s was rebuilt at %s; loading it (the build loaded before is served meanwhile)",
                           store.source.parent, when)
            generation = await self._started()
            if isinstance(generation, tuple):
                given_up = found
                logger.error("the build of %s in %s cannot be served (%s); the build loaded before is still "
                             "served; %s", when, store.source.parent, *generation)
                continue
            task = asyncio.create_task(self._retire(self._serving))  # no reference to the old app stays here
            self._retiring.add(task)
            task.add_done_callback(self._retiring.discard)
            self._serving = generation
            self.reloads += 1
            loaded = generation.app.state.store  # a build swapped in after the one found, while that waited to load
            logger.warning("serving the build of %s from now on (%d quads)", _when(loaded.source_state), loaded.quads)
            del generation, store, loaded

    async def _started(self) -> _Generation | tuple[str, str]:
        """The new build's app, started; or why it could not be, and what to do."""
        try:
            app = await asyncio.to_thread(self._make_app, stop=self._stop_loading)
        except Exception as exc:  # noqa: BLE001 - any reason is said, and the build loaded before served
            return str(exc) or type(exc).__name__, "fix the sources and build again"
        generation = _Generation(app)
        try:
            await generation.start()
        except BaseException as exc:  # its workers stopped whatever happened, Ctrl-C included
            with contextlib.suppress(Exception):
                await generation.stop()
            if not isinstance(exc, Exception):
                raise
            # The build loaded, so its sources are not the cause: the machine may be (memory holds both builds now).
            return str(exc) or type(exc).__name__, ("its query workers did not start beside those of the build "
                                                    "served: restart plan-kg serve to serve it alone")
        return generation

    async def _retire(self, generation: _Generation) -> None:
        """Shut `generation` down once it answers nothing, or after `drain_s` (what it still answers then fails)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._drain_s
        while generation.active and loop.time() < deadline and not self._closing.is_set():
            await asyncio.sleep(0.05)
        released = weakref.ref(generation.app)
        self._let_go.add(generation.app)
        try:
            await generation.stop()
        finally:
            del generation
            # The app's lifespan froze what existed at its start out of the collector's way (`gc.freeze`), and its end
            # unfroze it all, the serving app's too. Frozen again only once every old app is gone, this one and any
            # let go before or since: a connection kept alive still holds the last request it answered (its scope
            # names the app) until its next request, and what is frozen is never collected.
            for wait_s in _RELEASE_WAITS_S:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), wait_s)
                if self._closing.is_set():  # else a server stopped waited for the rest of a wait of up to minutes
                    break
                gc.collect()
                if released() is None:
                    if not self._let_go:  # else the last of them to go freezes
                        gc.freeze()
                    break
