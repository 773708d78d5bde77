"""Documents built once and kept while the store they describe does not change (`KeptDocuments`), and the
validators every page and document is sent with (`KeptDocuments.validated`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..conditional import content_tag, precondition_response, request_preconditions
from ..config import Settings
from ..server.cache import ResponseCache
from ..server.jobs import QueryResult
from .security import SECURITY_HEADERS, secure

#: Documents built at once, each in a thread; more requests for new documents wait their turn, so the
#: event loop shares the interpreter with at most this many builds.
DOCUMENT_BUILDERS = 2


class KeptDocuments:
    """Documents built once and kept: the store does not change while served, and some documents take a while (a
    named graph as JSON-LD: ~0.3 s). Each is kept in up to a quarter of the cache's bytes, so a whole graph fits.

    Built in a thread, at most `DOCUMENT_BUILDERS` at once: on the event loop, such a build held up every other
    client's answer for as long (the loop now gets the interpreter every few ms). Requests for a document being
    built wait for that build. A request whose client has gone is not built at all (nobody would receive it).
    """

    def __init__(self, settings: Settings) -> None:
        self.max_age_s = settings.response_max_age_s
        self._documents = ResponseCache(max_bytes=settings.response_cache_bytes,
                                        max_entry_bytes=settings.response_cache_bytes // 4)
        self._building: dict[str, asyncio.Future[Response]] = {}  # documents being built, by path
        self._builders = asyncio.Semaphore(DOCUMENT_BUILDERS)

    async def answer(self, request: Request, key: str, build: Callable[[Request], Response], *,
                     headers: dict[str, str]) -> Response:
        """The document `key` (a path with its suffix) as kept, with `headers`, or as `build` makes it for `request`."""
        if (kept := self._documents.get(key)) is not None:
            return self.validated(request, secure(Response(kept.body, media_type=kept.media_type, headers=headers)))
        if await request.is_disconnected():
            return Response(status_code=204)
        building = self._building.get(key)
        if building is None:
            building = asyncio.ensure_future(self._build(key, build, request))
            self._building[key] = building
            building.add_done_callback(lambda done: self._built(key, done))
        # Shielded: a client that goes away does not stop a build that others may be waiting for.
        return self.validated(request, await asyncio.shield(building))

    def validated(self, request: Request, response: Response, *, revalidate: bool = False) -> Response:
        """A document with its validator (a strong ETag: a hash of its bytes, which do not change while
        served) and Cache-Control, or the 304 or 412 its request's preconditions ask for (RFC 9110 13.2.2).
        `revalidate`: a cache must ask again each time (no-cache), for a page that lists what may change."""
        if response.status_code != 200:
            return response
        # The media type too: the same bytes sent as another type (a named query as SPARQL or as plain text) are
        # another representation, with another strong tag (RFC 9110 8.8.3).
        tag = content_tag(response.headers.get("content-type", "").encode("latin-1") + b"\n" + bytes(response.body))
        caching = "no-cache" if revalidate else f"public, max-age={self.max_age_s}"
        headers = {"ETag": tag, "Cache-Control": caching}
        kept = {name: response.headers[name] for name in ("link", "vary") if name in response.headers}
        if_match, if_none_match = request_preconditions(request.headers)
        if (refused := precondition_response(if_match=if_match, if_none_match=if_none_match, tag=tag,
                                             headers={**kept, **headers})) is not None:
            # The answer's own policy: a browser updates what it keeps with a 304's headers (the home page's is another).
            policy = {name: response.headers[name] for name in SECURITY_HEADERS if name in response.headers}
            return secure(refused, policy or SECURITY_HEADERS)
        response.headers.update(headers)
        return response

    def _built(self, key: str, done: asyncio.Future[Response]) -> None:
        del self._building[key]
        if not done.cancelled():
            done.exception()  # seen, also when every client that asked has gone (it is raised to those waiting)

    async def _build(self, key: str, build: Callable[[Request], Response], request: Request) -> Response:
        async with self._builders:
            response = await run_in_threadpool(build, request)
        if response.status_code == 200 and response.media_type is not None:
            self._documents.put(key, QueryResult(media_type=response.media_type, body=bytes(response.body)))
        return response
