"""Request handlers: the home page, resource pages and documents, the ontology (downloads: `downloads`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pyoxigraph as ox
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.types import Receive, Scope, Send

from .. import formats, iris
from ..dcat.routes import best_format as best_catalog_format, wants_page
from ..dcat.serialize import DOCUMENT_FORMATS as CATALOG_FORMATS
from ..dcat.write import CATALOG_STEM
from ..config import Settings
from ..errors import PlanKgError
from ..formats import Format
from ..named_queries import load_named_queries
from ..publish import canonical, json_ld_context, jsonld_text
from ..rdf import new_graph
from ..routing import request_path
from . import documents, negotiation, templating
from ..conditional import header_list
from .describe import Describer
from .ontology import TERM_KINDS, OntologyReader
from .views import PKG, Link, natural_key
from .downloads import Download, Downloads, ValidatedFiles
from .kept import KeptDocuments
from .security import EDITOR_SECURITY_HEADERS, SECURITY_HEADERS, secure

logger = logging.getLogger(__name__)

#: The answer to /assets/yasgui/… when `npm ci` has not been run: the home page then offers a plain query form.
YASGUI_MISSING = (
    "The query editor (@zazuko/yasgui) is not installed on this server. To install it, run `npm ci` "
    "in the plan-kg repository root. Until then the home page offers a plain query form.\n"
)
_EXAMPLE = ("132292", "basic-plan-3", "1-3-2")


@dataclass(frozen=True)
class Alternate:
    """One representation of the page's resource, for <link rel=alternate> and the format list."""

    href: str
    media_type: str
    label: str


#: How long the home page, once built, is sent as it is (building it takes ~5 ms: a flood of requests
#: for it would otherwise keep the event loop busy). Its lists of downloads and queries are this fresh.
HOME_KEPT_S = 1.0
#: A named graph's page lists at most this many of its subjects (every one of the bundled build's
#: graphs fits); a larger graph's page links to a query that lists them all.
GRAPH_PAGE_SUBJECTS = 1000


class Site:
    """The pages and documents of one store, under one base IRI."""

    def __init__(self, settings: Settings, store: ox.Store) -> None:
        self.settings = settings
        self.root = settings.public_path  # every path this site sends starts with it ("" at a host's root)
        self.describer = Describer(store, settings.base_iri, self.root)
        self.ontology_reader = OntologyReader(self.describer)
        self.templates = templating.environment()
        self.kept = KeptDocuments(settings)  # documents as built
        self._catalog_iris: frozenset[str] | None = None
        self._home: tuple[float, bool, str] | None = None  # when built, with the query editor or not, the page
        self.files = Downloads(settings)
        self._yasgui_files = ValidatedFiles(directory=self.yasgui_dir, check_dir=False)
        if not self.yasgui_dir.is_dir():
            logger.warning(
                "The query editor (YASGUI) is unavailable: %s does not exist. Run `npm ci` in the repository "
                "root (%s); until then the home page offers a plain query form.", self.yasgui_dir, self.settings.root,
            )

    @property
    def yasgui_dir(self) -> Path:
        return self.settings.root / "node_modules" / "@zazuko" / "yasgui" / "build"

    async def yasgui_assets(self, scope: Scope, receive: Receive, send: Send) -> None:
        """/assets/yasgui/… : the query editor's files, or a 404 that says how to install them.

        Looked for on each request, as the home page does, so `npm ci` on a running server is enough.
        """
        if self.yasgui_dir.is_dir():
            await self._yasgui_files(scope, receive, send)
        else:
            await secure(PlainTextResponse(YASGUI_MISSING, status_code=404))(scope, receive, send)

    def _page(
        self,
        template: str,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
        security: dict[str, str] = SECURITY_HEADERS,
        **context: object,
    ) -> Response:
        context.setdefault("alternates", ())
        html = self.templates.get_template(template).render(root=self.root, **context)
        return secure(HTMLResponse(html, status_code=status_code, headers=headers), security)

    # -- the home page ------------------------------------------------------------
    async def home(self, request: Request) -> Response:
        """/ : built at most once per `HOME_KEPT_S` (it lists dist/ and queries/, which may change while served)."""
        yasgui = (self.yasgui_dir / "yasgui.min.js").is_file()
        security = EDITOR_SECURITY_HEADERS if yasgui else SECURITY_HEADERS
        now = time.monotonic()
        if self._home is None or self._home[1] != yasgui or now - self._home[0] >= HOME_KEPT_S:
            self._home = (now, yasgui, self._home_page(yasgui))
        return self.kept.validated(request, secure(HTMLResponse(self._home[2]), security), revalidate=True)

    def _home_page(self, yasgui: bool) -> str:
        try:
            queries = load_named_queries(self.settings)
        except PlanKgError:  # a broken query file must not take the home page down
            queries = []
        downloads = self.downloads()
        plans = self.describer.instances(PKG + "Plan")
        # each chart with the plan it draws (None for the chart of every city), to name it for people
        drawn = {_chart_name(plan.href.removeprefix(self.root)): plan for plan in plans}
        return self.templates.get_template("home.html").render(
            alternates=(),
            counts=self.describer.level_counts(),
            plans=plans,
            downloads=downloads,
            charts=[(d, drawn.get(d.name)) for d in downloads if d.name.endswith(("sdg-coverage.svg", "by-city.svg"))],
            queries=queries,
            root=self.root,
            endpoint=self.root + "/sparql",
            # The query editor links the IRIs in its results to their pages here (home.js), as the results page does.
            base_iri=self.settings.base_iri,
            ontology_iri=iris.ONTOLOGY_IRI,
            # What a client is given to query: the public address when there is one (the path alone otherwise).
            endpoint_shown=f"{self.settings.public_base_iri}sparql" if self.settings.public_base_iri else self.root + "/sparql",
            yasgui=yasgui,
        )

    def downloads(self) -> list[Download]:
        """The built files in dist/ that have a format in the format table (for the home page)."""
        return self.files.listed()

    async def download(self, request: Request) -> Response:
        """/downloads/… : a file of dist/ (`downloads.Downloads.serve`, which sends its security headers)."""
        return await self.files.serve(request)

    async def named_query(self, request: Request) -> Response:
        """/queries/{name}.rq : a named query, as SPARQL, or as plain text to a browser, which would download SPARQL."""
        name = request.path_params["name"]
        for query in load_named_queries(self.settings):
            if query.name == name:
                media_type = negotiation.query_media_type(header_list(request.headers, "accept"))
                return self.kept.validated(request, secure(Response(query.text, media_type=f"{media_type}; charset=utf-8",
                                                                headers={"Vary": "Accept"})))
        return secure(PlainTextResponse(f"No named query '{name}'. The list is on the home page: {self.root}/\n",
                                         status_code=404))

    # -- linked data --------------------------------------------------------------------
    async def resource(self, request: Request) -> Response:
        """/id/… : the municipality, plan or plan element with that IRI under the base; an IRI that only
        the catalog describes (its publisher) is a 303 to the catalog, and so are its documents (`.ttl` …)."""
        if not request.path_params["path"]:  # /id/ names nothing: the home page lists the plans
            return secure(RedirectResponse(self.root + "/", status_code=303))
        path, fmt = negotiation.split_suffix(request_path(request))
        if (iri := self.describer.iri(path)) in self._catalog_subjects() \
                and not self.describer.describes(iri) and not _encoded_slash(request):
            return self.about_in_catalog(request, fmt)
        return await self._kept(request, self._resource, lambda path: self.describer.describes(self.describer.iri(path)))

    def _catalog_subjects(self) -> frozenset[str]:
        """The IRIs the built catalog (dist/catalog.ttl) describes; read once its file exists."""
        if self._catalog_iris is None:
            path = self.settings.dist_dir / f"{CATALOG_STEM}.ttl"
            if not path.is_file():
                return frozenset()
            self._catalog_iris = frozenset(quad.subject.value for quad in ox.parse(path=path, format=ox.RdfFormat.TURTLE)
                                           if isinstance(quad.subject, ox.NamedNode))
        return self._catalog_iris

    def about_in_catalog(self, request: Request, suffix: Format | None = None) -> Response:
        """303 from a thing the catalog describes to the catalog in the format that fits (the home page for people), or
        from its document with `suffix` (`….ttl`, as every resource's documents are linked) to the catalog in that one:
        the static export writes them as files, and here they were a 404."""
        if suffix is not None:  # a suffix chooses, as on every resource (the catalog is in each RDF format offered)
            target = self.root + "/" if suffix.name == "html" else f"{self.root}/{CATALOG_STEM}.{suffix.extension}"
            return secure(RedirectResponse(target, status_code=303))
        accept = header_list(request.headers, "accept")
        document = best_catalog_format(accept)
        if wants_page(accept, document):
            target = self.root + "/"
        elif document is not None:
            target = f"{self.root}/{CATALOG_STEM}.{document.extension}"
        else:
            offered = ", ".join(f.media_type for f in CATALOG_FORMATS)
            return secure(PlainTextResponse(f"Described by the catalog, offered as {offered} and HTML\n", 406,
                                             headers={"Vary": "Accept"}))
        return secure(RedirectResponse(target, status_code=303, headers={"Vary": "Accept"}))

    async def shapes(self, request: Request) -> Response:
        """/shapes : the SHACL shapes' namespace, a 303 to their documentation (people) or their Turtle."""
        page = self.settings.dist_dir / "ontology.html"
        accept = header_list(request.headers, "accept")
        if page.is_file() and wants_page(accept, formats.by_name("turtle")):
            target = self.root + "/downloads/ontology.html#shapes"
        else:
            target = self.root + "/downloads/shapes.ttl"
        return secure(RedirectResponse(target, status_code=303, headers={"Vary": "Accept"}))

    async def graph(self, request: Request) -> Response:
        """/graph/… : a named graph, as a summary page or all of its statements."""
        if not request.path_params["path"]:  # /graph/ names no graph: the home page lists the plans
            return secure(RedirectResponse(self.root + "/", status_code=303))
        return await self._kept(request, self._graph, lambda path: self.describer.is_graph(self.describer.iri(path)))

    async def ontology(self, request: Request) -> Response:
        """/ontology : the vocabulary, documented in HTML or as RDF."""
        return await self._kept(request, self._ontology, lambda path: path == "/ontology")

    async def _kept(self, request: Request, build: Callable[[Request], Response], exists: Callable[[str], bool]) -> Response:
        """A document (a path with a format suffix), built once and kept (`KeptDocuments`). `exists` (of the path
        without its suffix) is one look-up: the 303 to a document, and any 404, are answered without a build.
        """
        key = request_path(request)
        path, fmt = negotiation.split_suffix(key)
        if _encoded_slash(request):  # `%2F` is not `/` (RFC 3986 6.2.2.2): an IRI nothing here names
            return self.not_found(self.describer.iri(_raw_path(request)), fmt, request)
        if fmt is None or not exists(path):  # a 303 to a document, or a 404: quick, and it depends on Accept
            return build(request)
        return await self.kept.answer(request, key, build, headers=self._link(path))

    def _resource(self, request: Request) -> Response:
        path, fmt = negotiation.split_suffix(request_path(request))
        iri = self.describer.iri(path)
        if not self.describer.describes(iri):
            return self.not_found(iri, fmt, request)
        if fmt is None:  # the page's view is built only for the page (31 ms for a plan, 371 statements)
            return self.see_other(request, path)
        if fmt.name != "html":
            return self.rdf(self.describer.triples(iri), fmt, path)
        view = self.describer.resource(iri)
        assert view is not None  # it has statements (describes), and the store does not change while served
        return self._page("resource.html", view=view, chart=self.plan_chart(path),
                          alternates=self._alternates(path), headers=self._link(path))

    def plan_chart(self, path: str) -> str | None:
        """The download path of a plan's SDG coverage chart (`/id/{municipality}/{plan}` only), if built."""
        relative = _chart_name(path)
        if relative is None or not (self.settings.dist_dir / relative).is_file():
            return None
        return f"{self.root}/downloads/{relative}"

    def _graph(self, request: Request) -> Response:
        path, fmt = negotiation.split_suffix(request_path(request))
        iri = self.describer.iri(path)
        if not self.describer.is_graph(iri):
            return self.not_found(iri, fmt, request)
        if fmt is None:
            return self.see_other(request, path)
        triples = self.describer.graph_triples(iri)
        if fmt.name != "html":
            return self.rdf(triples, fmt, path)
        subjects = sorted({t.subject.value for t in triples if isinstance(t.subject, ox.NamedNode)}, key=natural_key)
        every_subject = (f"SELECT DISTINCT ?subject WHERE {{ GRAPH <{iri}> {{ ?subject ?p ?o }} "
                         "FILTER(isIRI(?subject)) } ORDER BY ?subject")
        return self._page(
            "graph.html",
            graph=self.describer.link(iri),
            size=len(triples),
            subject_count=len(subjects),
            subjects=[self.describer.link(s) for s in subjects[:GRAPH_PAGE_SUBJECTS]],
            every_subject=f"{self.root}/sparql?" + urlencode({"query": every_subject}),
            alternates=self._alternates(path),
            headers=self._link(path),
        )

    def _ontology(self, request: Request) -> Response:
        path, fmt = negotiation.split_suffix(request_path(request))
        if path != "/ontology":  # /ontology.xyz, /ontology.foo.ttl: no such document
            return self.not_found(iris.ONTOLOGY_IRI + path[len("/ontology"):], fmt, request)
        if fmt is None:
            return self.see_other(request, path)
        if fmt.name != "html":
            return self.rdf(self.ontology_reader.triples(), fmt, path)
        terms = self.ontology_reader.terms()
        ontologies = self.ontology_reader.ontologies()
        return self._page(
            "ontology.html",
            ontology_iri=iris.ONTOLOGY_IRI,
            version_iris=[iri for o in ontologies if o.iri == iris.ONTOLOGY_IRI for iri in o.version_iris],
            modules=[o for o in ontologies if o.iri != iris.ONTOLOGY_IRI],
            sections=[("class", "クラス", "Classes"), ("property", "プロパティ", "Properties"),
                      ("scheme", "概念体系", "Concept schemes"),
                      ("individual", "個体・概念", "Individuals and concepts"),
                      ("other", "その他の語", "Other terms")],
            terms_by_kind={kind: [t for t in terms if t.kind == kind] for kind in TERM_KINDS},
            alternates=self._alternates(path),
            headers=self._link(path),
        )

    async def ontology_module(self, request: Request) -> Response:
        """/ontology/… : a module of the ontology (/ontology/sdg) or a version IRI (/ontology/0.1.0).

        Each is one part or one version of the ontology the store holds, so it answers 303 to the
        ontology's own documents, like /ontology; an IRI that names no such ontology gets a 404.
        """
        path = request_path(request)
        iri = iris.ONTOLOGY_IRI + path[len("/ontology"):]
        if not any(iri == o.iri or iri in o.version_iris for o in self.ontology_reader.ontologies()):
            return self.not_found(iri, negotiation.split_suffix(path)[1], request)
        return self.see_other(request, "/ontology")

    # -- responses shared by the handlers -------------------------------------------
    def _alternates(self, path: str) -> tuple[Alternate, ...]:
        """Each document of the resource at `path` (a site path without a suffix), for its page."""
        return tuple(Alternate(f"{self.root}{path}.{fmt.extension}", fmt.media_type, fmt.label)
                     for fmt in negotiation.OFFERED)

    def _link(self, path: str) -> dict[str, str]:
        """The Link header field listing each document of the resource at `path`."""
        return {"Link": negotiation.alternates(self.root + path)}

    def see_other(self, request: Request, path: str) -> Response:
        """303 from a thing's IRI to the document about it that best fits the Accept header."""
        accept = header_list(request.headers, "accept")
        fmt = negotiation.from_accept(accept)
        headers = {"Vary": "Accept", **self._link(path)}
        if fmt is None:
            offered = ", ".join(f.media_type for f in negotiation.OFFERED)
            # A header that cannot be read is said so: it may list text/html, which "not available" would deny.
            why = (reason if (reason := negotiation.unreadable(accept))
                   else "Not available in the type you asked for.")
            return secure(PlainTextResponse(f"{why} Offered: {offered}\n", 406, headers=headers))
        return secure(RedirectResponse(f"{self.root}{path}.{fmt.extension}", status_code=303, headers=headers))

    def rdf(self, triples: list[ox.Triple], fmt: Format, path: str) -> Response:
        body = _json_ld(triples) if fmt.name == "jsonld" else documents.serialize(triples, fmt)
        return secure(Response(body, media_type=fmt.media_type, headers=self._link(path)))

    def not_found(self, iri: str, fmt: Format | None, request: Request | None = None) -> Response:
        """404: a page that says what was looked for and where to go instead (plain text to a client
        that asked for RDF, by suffix or by Accept)."""
        vary: dict[str, str] = {}
        if fmt is None and request is not None:  # chosen by Accept: a cache must know (RFC 9110 12.5.5)
            fmt, vary = negotiation.from_accept(header_list(request.headers, "accept")), {"Vary": "Accept"}
        if fmt is not None and fmt.name != "html":
            message = f"This dataset says nothing about <{iri}>. See the home page, {self.root}/, for what it holds.\n"
            return secure(PlainTextResponse(message, status_code=404, headers=vary))
        return self._page(
            "not_found.html",
            status_code=404,
            headers=vary,
            iri=iri,
            nearest=self._nearest(iri),
            example=self.describer.link(str(iris.item_iri(self.settings.base_iri, *_EXAMPLE))),
            plans=self.describer.instances(PKG + "Plan"),
        )

    async def no_such_path(self, request: Request, exc: Exception) -> Response:
        """404 for a path no route has (/nope, /favicon.ico, /assets/site/nope.css): the site's page in Japanese
        and English to a browser, plain text to others; with the site's security headers, as every answer."""
        vary = {"Vary": "Accept"}
        fmt = negotiation.from_accept(header_list(request.headers, "accept"))
        if fmt is not None and fmt.name != "html":  # as not_found: RDF asked for, a plain answer
            message = f"No such path on this server: {request_path(request)}. See the home page, {self.root}/, for what it holds.\n"
            return secure(PlainTextResponse(message, status_code=404, headers=vary))
        return self._page("not_found.html", status_code=404, headers=vary, path=request_path(request),
                          plans=self.describer.instances(PKG + "Plan"))

    def static_not_found(self) -> str:
        """The page of `no_such_path` naming no path: a static host sends one file (404.html) for every missing path."""
        return self.templates.get_template("not_found.html").render(
            root=self.root, alternates=(), path="", plans=self.describer.instances(PKG + "Plan"))

    async def robots(self, request: Request) -> Response:
        """/robots.txt: every page and document may be crawled; the endpoint not (each link to it runs a query)."""
        return secure(PlainTextResponse(f"User-agent: *\nDisallow: {self.root}/sparql\nAllow: {self.root}/\n"))

    def _nearest(self, iri: str) -> Link | None:
        """The closest known resource above `iri`: drop code parts ("1-3-9" -> "1-3"), then path segments.

        At most `_NEAREST_STEPS` steps up: each costs a look-up, and a made-up path may have thousands.
        """
        candidate = iri
        for _ in range(_NEAREST_STEPS):
            if len(candidate) <= len(self.settings.base_iri):
                break
            head, _, last = candidate.rpartition("/")
            candidate = f"{head}/{last.rpartition('-')[0]}" if "-" in last else head
            if self.describer.triples(candidate):
                return self.describer.link(candidate)
        return None


#: How far up `Site._nearest` looks; the deepest real IRI (an initiative, 1-1-1-1) is 9 steps below the base.
_NEAREST_STEPS = 16


def _json_ld(triples: list[ox.Triple]) -> bytes:
    """Compact JSON-LD with the published context (dist/context.jsonld), inline so the document stands alone;
    the same for the same triples, whichever server process builds it (blank nodes relabelled canonically)."""
    graph = new_graph()
    graph.parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES), format="nt")
    context = json_ld_context()
    return jsonld_text(canonical(graph), context, context_ref=context["@context"]).encode("utf-8")


def _encoded_slash(request: Request) -> bool:
    """Whether the path as sent has a percent-encoded slash, which Starlette decodes into a separator."""
    return b"%2f" in request.scope.get("raw_path", b"").lower()


def _raw_path(request: Request) -> str:
    """The path as sent (percent-encoded), of a request with an encoded slash (`_encoded_slash`, which read it): the
    IRI a 404 names."""
    return request.scope["raw_path"].decode("latin-1")


def _chart_name(path: str) -> str | None:
    """The SDG coverage chart of the plan at `path` (`/id/{municipality}/{plan}`), as a path under dist/."""
    parts = path.strip("/").split("/")
    if len(parts) != 3 or parts[0] != "id":
        return None
    return f"plans/{parts[1]}-{parts[2]}-sdg-coverage.svg"
