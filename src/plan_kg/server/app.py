"""The SPARQL 1.1 endpoint as a Starlette app, built by `create_app(settings)`."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import shutil
import tempfile
import threading
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote

import pyoxigraph
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Match
from starlette.types import Scope
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from .. import web
from ..dcat.routes import routes as dcat_routes
from ..config import Settings
from ..web.results import error_page
from ..routing import Route
from ..conditional import etag_matches, header_list, precondition_response, request_preconditions
from ..content_coding import accepts_gzip, gzip_tag
from .addresses import client_of
from .cache import is_repeatable
from .compress import AnswerCompression
from .description import ServiceDescriptions
from .negotiation import PAGE, NegotiationError, negotiate
from .options import AnswerOptions, PreflightByRoute
from .protocol import ProtocolError, ProtocolRequest, read_query_string, read_request
from . import responses
from .public_path import PublicPath, path_sent
from .rebuilt import say_when_rebuilt
from .refusals import LOGGED_STATUSES, RefusalLog
from .repeat import KEPT_KEY, RepeatedRequestIndex, RepeatedRequests, raw_negotiation
from .responses import ANY_ORIGIN, EXPOSED, AllowAnyOrigin, GiveUpUnread, SentInChunks
from .service import QueryRequest, QueryService
from .store import DUMP_NAME, LoadedStore, load_store
from .jobs import QueryRejected

_VARY = "Accept"
#: A query's answer may be sent gzip-compressed: every one of them (and its 304) says so, the small ones too.
_VARY_ANSWER = "Accept, Accept-Encoding"
_ALLOW = "GET, HEAD, POST, OPTIONS"


def create_app(settings: Settings, *, store_dir: Path | None = None, refusals: RefusalLog | None = None,
               say_when_built: bool = True, stop: threading.Event | None = None) -> Starlette:
    """The endpoint over `settings.dist_dir/plan-kg.nq`, loaded into `store_dir` (default: a temporary directory).

    The web pages of `plan_kg.web` and the catalog routes of `plan_kg.dcat` are mounted after /sparql.
    Worker processes start with the app's lifespan, so serve it with uvicorn or enter it in a TestClient.
    What those routes read of `dist/` (downloads, catalog, VoID) is the build the store was loaded from, kept
    with the store (`LoadedStore.files`): a `plan-kg build` meanwhile is said in the log (`say_when_built`; off
    where a `reload.ReloadingApp` serves the new build instead). `refusals`: the log of refusals to write to
    (default: one of its own). `stop`, once set, gives the store's load up (`store.LoadStopped`).
    """
    own_dir = store_dir is None
    directory = Path(tempfile.mkdtemp(prefix="plan-kg-store-")) if store_dir is None else store_dir
    store = load_store(settings.dist_dir / DUMP_NAME, directory, with_files=True, stop=stop)
    # The pages, downloads and catalog read the built files while serving: those of the build loaded, not whatever
    # dist/ holds by then (new counts and dates beside the old SPARQL answers).
    served = replace(settings, dist_dir=store.files)
    service = QueryService(settings, store)
    repeated = RepeatedRequestIndex(service)
    if refusals is None:
        refusals = RefusalLog()  # the HTTP protocol's refusals are logged here too (`connection.http_protocol`)
    endpoint = SparqlEndpoint(settings, store, service, refusals)
    routes: list[BaseRoute] = [Route("/sparql", endpoint.handle, methods=["GET", "POST", "OPTIONS"], name="sparql")]
    site = web.Site(served, store.reader)
    routes += web.routes(served, store.reader, site)
    routes += dcat_routes(served, web.SECURITY_HEADERS)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await service.start()
        # What exists now (modules, the app, its templates and caches) lives as long as the server: out of
        # the collector's way, a full collection no longer walks it while serving. Such a collection after a
        # large document build held up another client for up to 93 ms, 21 ms with this (document_build.py).
        gc.collect()
        gc.freeze()
        rebuilt = asyncio.create_task(say_when_rebuilt(store)) if say_when_built else None
        try:
            yield
        finally:
            if rebuilt is not None:
                rebuilt.cancel()
            gc.unfreeze()
            await service.close()
            if own_dir:
                shutil.rmtree(directory, ignore_errors=True)

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        # A path no route has, a method a route does not take: answered as the site answers (its security
        # headers; a page in Japanese and English to a browser), not Starlette's bare "Not Found".
        exception_handlers={404: _SlashOrNotFound(routes, site.no_such_path), 405: _method_not_allowed},
        middleware=[
            # Behind a reverse proxy at public_base_iri's path, which may forward the path with it or without:
            # everything below sees the site's own paths (RepeatedRequests looks for /sparql).
            *([Middleware(PublicPath, prefix=settings.public_path)] if settings.public_path else []),
            # The per-client limit counts the socket's address unless it is a trusted reverse
            # proxy, whose X-Forwarded-For then names the client (uvicorn's own parser).
            *([Middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))]
              if settings.trusted_proxies else []),
            # A plain GET /sparql skips the rest: answered again from the index, or by the endpoint directly.
            Middleware(RepeatedRequests, index=repeated, direct=endpoint.answer_get),
            # Downloads and pages are sent a piece at a time as the client reads (a large /sparql answer: SentInChunks).
            Middleware(GiveUpUnread, timeout_s=settings.send_timeout_s, least_rate=settings.send_min_bytes_per_s),
            Middleware(AllowAnyOrigin),
            Middleware(
                PreflightByRoute,  # CORSMiddleware, a preflight allowing what the path takes: POST on /sparql alone
                routes=routes,
                allow_origins=["*"],
                allow_credentials=False,
                allow_headers=["*"],  # a public service without credentials: a client's own headers are harmless
                expose_headers=list(EXPOSED),
                max_age=86400,
            ),
            # Inside CORSMiddleware, which answers a preflight: a plain OPTIONS gets what the path allows.
            Middleware(AnswerOptions, routes=routes),
        ],
    )
    app.router.redirect_slashes = False  # _SlashOrNotFound redirects, to a path (Starlette: a URL built from Host)
    app.state.settings = settings
    app.state.query_service = service
    app.state.repeated_requests = repeated
    app.state.sparql_endpoint = endpoint
    app.state.store = store
    app.state.refusals = refusals
    return app


class SparqlEndpoint:
    """GET/POST /sparql: queries, or the service description when there is no query.

    A refusal at one of the endpoint's limits (`refusals.LOGGED_STATUSES`, or one a setting decided: too many rows
    or bytes, SERVICE off the allow-list) is said in `refusals`.
    """

    def __init__(self, settings: Settings, store: LoadedStore, service: QueryService, refusals: RefusalLog) -> None:
        self.settings = settings
        self.store = store
        self.service = service
        self.refusals = refusals
        self.compression = AnswerCompression(service)
        self._running: Counter[str] = Counter()
        self.direct_answers = 0  # plain GETs answered by answer_get, without the framework
        self._max_age = f"public, max-age={settings.response_max_age_s}"
        self.descriptions = ServiceDescriptions(settings, store.graphs)

    async def handle(self, request: Request) -> Response:
        if request.method == "OPTIONS":  # a CORS preflight is answered before this, by CORSMiddleware
            return Response(status_code=204, headers={"Allow": _ALLOW, **ANY_ORIGIN})
        try:
            parsed = await read_request(request, max_body_bytes=self.settings.max_body_bytes)
        except ProtocolError as exc:  # the query could not be read: a browser gets a page with an empty form
            try:  # format=html in the URL asks for a page too (the body may be what was refused)
                asked = read_query_string(request.scope["query_string"]).format
            except ProtocolError:
                asked = None
            unread = ProtocolRequest(query=None, default_graphs=None, named_graphs=None, format=asked)
            return self._refusal(QueryRejected(exc.status, exc.message), unread, header_list(request.headers, "accept"),
                                 exc.headers, scope=request.scope)
        if_match, if_none_match = request_preconditions(request.headers)
        if parsed.query is None:
            response = self._describe(request, parsed.format)
            if response.status_code == 200 and (refused := precondition_response(
                    if_match=if_match, if_none_match=if_none_match, tag=response.headers["etag"],
                    headers={name: response.headers[name] for name in ("vary", "etag", "cache-control")})):
                return refused
            return response
        # Checked against the endpoint itself, before the query runs (RFC 9110 13.1.1, 13.1.2). A POST selects
        # none of its representations (its Accept names a result format): only `*` matches.
        if request.method == "POST" and (refused := precondition_response(
                if_match=if_match, if_none_match=if_none_match, tag=None, headers=dict(ANY_ORIGIN), safe=False)):
            return refused
        response, key = await self.answer(
            request.method, parsed, accept=header_list(request.headers, "accept"),
            accept_encoding=header_list(request.headers, "accept-encoding"), scope=request.scope,
            if_match=if_match, if_none_match=if_none_match,
        )  # fmt: skip
        if key is not None:
            request.scope[KEPT_KEY] = key  # RepeatedRequests may send the same again, if the cache keeps it
        return response

    async def answer_get(self, scope: Scope) -> tuple[Response, str | None] | None:
        """`handle` for a plain GET with a query, without the framework; None: it needs the full path.

        The caller (`RepeatedRequests`) sends only requests without Origin, If-Match or If-None-Match
        here, so neither CORS nor a precondition is involved; anything else a request may ask (the service
        description, a malformed query string) is left to `handle`.
        """
        try:
            parsed = read_query_string(scope["query_string"])
        except ProtocolError:
            return None
        if parsed.query is None:
            return None
        # The headers RepeatedRequests keys its index by, as the full path reads them.
        accept, accept_encoding = (raw.decode("latin-1") if raw is not None else None for raw in raw_negotiation(scope))
        answered = await self.answer("GET", parsed, accept=accept, accept_encoding=accept_encoding, scope=scope)
        self.direct_answers += 1
        return answered

    async def answer(
        self, method: str, parsed: ProtocolRequest, *, accept: str | None, accept_encoding: str | None = None,
        scope: Scope, if_match: str | None = None, if_none_match: str | None = None,
    ) -> tuple[Response, str | None]:
        """The response to the query in `parsed`, and the request key of its kept answer (None if none).

        An answer `compress.AnswerCompression` compresses goes gzip-compressed to a client whose
        `accept_encoding` accepts it, with its own ETag (`gzip_tag`: RFC 9110 8.8.3, another representation). The
        preconditions (`if_match`, `if_none_match`: the header fields, None when not sent) are evaluated
        once there is an answer (RFC 9110 13.2.2), except that an If-None-Match listing the ETag of the
        answer this request would get gets a 304 at once: the tag says the answer exists, and the client
        has its bytes.
        """
        client = client_of(scope)
        # A kept answer needs no worker, so a client at its limit may still get one; only a
        # repeatable query can have one (and needs no slow SERVICE check to find out).
        at_limit = self._running[client] >= self.settings.max_concurrent_per_client
        if at_limit and not is_repeatable(parsed.query):
            return self._too_many(parsed, accept, scope), None
        self._running[client] += 1
        try:
            job = self.service.prepare(QueryRequest(
                parsed.query,
                accept=accept,
                format=parsed.format,
                default_graphs=parsed.default_graphs,
                named_graphs=parsed.named_graphs,
            ))
            # Every answer allows every origin, not only those to requests with Origin: a cached
            # answer to a plain request may be reused for a cross-origin one (no Vary: Origin then).
            headers = {"Vary": _VARY_ANSWER, "Cache-Control": "no-store", **ANY_ORIGIN}
            gzip_accepted = accepts_gzip(accept_encoding)
            key = self.service.key(job)
            # An ETag tags a representation of the target, /sparql?query=…; a POST's answer is none of
            # /sparql (RFC 9110 8.8.3, 9.3.3), and a tag sent back on a POST is checked against /sparql (412).
            # Nor may a cache reuse it (RFC 9111 4: no Content-Location names it): no-store, not a max-age.
            if key is not None and method in ("GET", "HEAD"):
                headers["Cache-Control"] = self._max_age
                tag = self.service.etag(key)
                headers["ETag"] = tag
                # The store never changes while served: a client holding the tag holds these very bytes.
                if if_match is None and etag_matches(
                        if_none_match, held := self.compression.tag_before_answer(key, tag, gzip_accepted)):
                    return Response(status_code=304, headers={**headers, "ETag": held}), None
            if (result := self.service.cached(key)) is None:
                if at_limit:
                    return self._too_many(parsed, accept, scope), None
                result = await self.service.answer(job, key=key, client=client)
        except QueryRejected as exc:
            retry = {"Retry-After": str(exc.retry_after_s)} if exc.retry_after_s is not None else None
            return self._refusal(exc, parsed, accept, retry, scope=scope), None
        finally:
            self._leave(client)
        compressed = gzip_accepted and self.compression.compresses(result)
        if compressed and "ETag" in headers:
            headers["ETag"] = gzip_tag(headers["ETag"])
        if method in ("GET", "HEAD") and (refused := precondition_response(
                if_match=if_match, if_none_match=if_none_match, tag=headers.get("ETag"), headers=headers)) is not None:
            return refused, None  # without Content-Encoding: it has no body
        if compressed:
            headers["Content-Encoding"] = "gzip"
        if result.media_type.startswith(PAGE.media_type):  # a page for people: the site's policy
            headers.update(web.SECURITY_HEADERS)
        body = await self.compression.gzipped(key, result) if compressed else result.body
        if len(body) > responses.SEND_CHUNK_BYTES:
            # The client's place is held until the answer is sent: one that does not read its answers
            # cannot have more of them in the server's memory than it may run queries at once.
            self._running[client] += 1
            return SentInChunks(body, media_type=result.media_type, headers=headers,
                                done=lambda: self._leave(client), timeout_s=self.settings.send_timeout_s,
                                least_rate=self.settings.send_min_bytes_per_s), key
        return Response(body, media_type=result.media_type, headers=headers), key

    def _leave(self, client: str) -> None:
        self._running[client] -= 1
        if not self._running[client]:
            del self._running[client]

    def _refusal(self, refused: QueryRejected, parsed: ProtocolRequest, accept: str | None,
                 headers: dict[str, str] | None = None, *, scope: Scope) -> Response:
        """Why a query is not answered: plain text, or for a client that wants pages (a browser) a page
        with the query (None: it could not be read) in a form to fix and run again. Said in the log too when
        a limit refused it."""
        if refused.status in LOGGED_STATUSES or refused.setting is not None:  # a limit's refusal, 400 for rows too
            self.refusals.note(client=client_of(scope), method=scope["method"], path=path_sent(scope),
                               status=refused.status, reason=refused.message)
        try:
            wants_page = negotiate(accept, parsed.format).results == PAGE
        except ValueError:  # the Accept header itself is what was refused
            wants_page = False
        if not wants_page:
            return _error(refused.status, refused.message, headers)
        page = error_page(parsed.query or "", refused.status, refused.message, setting=refused.setting,
                          root=self.settings.public_path,
                          default_graphs=parsed.default_graphs, named_graphs=parsed.named_graphs)
        return Response(page, status_code=refused.status, media_type="text/html; charset=utf-8",
                        headers={"Vary": _VARY, **ANY_ORIGIN, **web.SECURITY_HEADERS, **(headers or {})})

    def _too_many(self, parsed: ProtocolRequest, accept: str | None, scope: Scope) -> Response:
        message = (f"this client already has {self.settings.max_concurrent_per_client} queries running, "
                   "this endpoint's limit; wait for one to finish")
        return self._refusal(QueryRejected(429, message), parsed, accept, {"Retry-After": "1"}, scope=scope)

    def _describe(self, request: Request, format_param: str | None) -> Response:
        try:
            # The same rule as for a CONSTRUCT's answer: an RDF format, or the page only for a client that
            # wants it more than every RDF format (a browser) or says format=html.
            fmt = negotiate(header_list(request.headers, "accept"), format_param).graph
        except NegotiationError as exc:
            return _error(400, str(exc))
        if fmt == PAGE:  # the endpoint for people is the query editor on the home page
            return RedirectResponse(f"{self.settings.public_path}/#query", status_code=303, headers={"Vary": _VARY})
        if fmt is None:
            return _error(406, "the service description is available as Turtle, N-Triples, JSON-LD and RDF/XML")
        # The same bytes for the same format and endpoint IRI, so a strong tag (and a HEAD's Content-Length) holds.
        document = self.descriptions.document(_endpoint_iri(request, self.settings), fmt)
        return Response(document.body, media_type=fmt.media_type,
                        headers={"Vary": _VARY, "ETag": document.etag, "Cache-Control": self._max_age})


def _endpoint_iri(request: Request, settings: Settings) -> str:
    if settings.public_base_iri:
        return settings.public_base_iri + "sparql"
    candidate = str(request.url.replace(query=""))
    if len(candidate) > 1000:  # the Host header is the client's: a long one is not an address to repeat
        return settings.base_iri + "sparql"
    try:
        pyoxigraph.NamedNode(candidate)  # the Host header is the client's; keep only a valid IRI
    except ValueError:
        return settings.base_iri + "sparql"
    return candidate


class _SlashOrNotFound:
    """404 for a path no route has, or a redirect (307) to the same path with its trailing slash added or taken off
    when a route has that one (`/id` -> `/id/`), as Starlette's router would, but to a path, not a URL built from the
    Host header: behind a proxy that sends its own Host, or `$host` without the port, that URL led elsewhere."""

    def __init__(self, routes: list[BaseRoute], not_found: Callable[[Request, Exception], Awaitable[Response]]) -> None:
        self.routes = routes
        self.not_found = not_found

    async def __call__(self, request: Request, exc: Exception) -> Response:
        scope = request.scope
        # A route that matched and found nothing (a 404 of its own) is answered as such: only an unrouted path moves.
        if "route" not in scope and scope["path"] != "/":
            path = scope["path"]
            toggled = {**scope, "path": path.rstrip("/") if path.endswith("/") else path + "/"}
            if any(route.matches(toggled)[0] is not Match.NONE for route in self.routes):
                raw = scope.get("raw_path") or path.encode("utf-8")
                raw = raw.rstrip(b"/") if path.endswith("/") else raw + b"/"
                query = scope.get("query_string") or b""
                location = quote(raw, safe="/%:@!$&'()*+,;=~") + (  # bytes: each byte outside ASCII as %XX
                    "?" + query.decode("latin-1") if query else "")
                return RedirectResponse(location, status_code=307)
        return await self.not_found(request, exc)


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    """405 with every method the path allows in Allow, OPTIONS too (AnswerOptions answers it: RFC 9110 10.2.1)."""
    allowed = [m.strip() for m in getattr(exc, "headers", {}).get("Allow", "GET, HEAD").split(",") if m.strip()]
    allow = ", ".join([*allowed, *([] if "OPTIONS" in allowed else ["OPTIONS"])])
    return PlainTextResponse(f"{request.method} is not a method this path takes; it takes {allow}.\n", status_code=405,
                             headers={"Allow": allow, **web.SECURITY_HEADERS})


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    # Vary: Accept, as /sparql tells a browser the same on a page.
    return PlainTextResponse(message + "\n", status_code=status,
                             headers={"Vary": _VARY, **ANY_ORIGIN, **(headers or {})})
