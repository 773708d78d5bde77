"""HTTP routes: /catalog and /.well-known/void (negotiated), /catalog.ttl|.jsonld|.rdf|.nt, from the built files;
and the ontology documentation's stylesheet (the page itself is served by the web side at /ontology)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute

from ..config import Settings
from ..conditional import content_tag, header_list, precondition_response, request_preconditions
from .. import formats
from ..formats import Format
from ..routing import Route, shown
from .docs import STYLESHEET_PATH
from .serialize import DOCUMENT_FORMATS
from .write import CATALOG_STEM, ONTOLOGY_CSS, VOID_STEM

_BY_EXTENSION = {fmt.extension: fmt for fmt in DOCUMENT_FORMATS}


def best_format(accept: str | None) -> Format | None:
    """The catalog format that best fits `accept` (`formats.best_for_accept`): Turtle when the client states no
    preference; None when nothing fits or the header cannot be read."""
    try:
        return formats.best_for_accept(accept, DOCUMENT_FORMATS)
    except ValueError:
        return None


def wants_page(accept: str | None, document: Format | None) -> bool:
    """`formats.prefers_html`, and False for an Accept that cannot be read (the machine format's answer says so)."""
    try:
        return formats.prefers_html(accept, document)
    except ValueError:
        return False


class MetadataDocuments:
    """Serves the catalog and VoID files of `dist_dir` as they were built."""

    def __init__(self, dist_dir: Path, max_age_s: int = 0, root: str = "",
                 security: dict[str, str] | None = None) -> None:
        self.dist_dir = dist_dir
        self.max_age_s = max_age_s
        self.root = root  # the path the site is served under (Settings.public_path)
        self.security = security or {}  # the site's security headers, sent with every answer

    def _file(self, request: Request, name: str, fmt: Format, headers: dict[str, str] | None = None) -> Response:
        """The built file, with a strong ETag (a hash of its bytes) and the 304 or 412 its preconditions ask for."""
        path = self.dist_dir / name
        if not path.is_file():
            return PlainTextResponse("Not built yet: run `plan-kg build`.\n", status_code=404, headers=self.security)
        body = path.read_bytes()
        tag = content_tag(body)
        headers = {**(headers or {}), "ETag": tag, "Cache-Control": f"public, max-age={self.max_age_s}", **self.security}
        if_match, if_none_match = request_preconditions(request.headers)
        if (refused := precondition_response(if_match=if_match, if_none_match=if_none_match, tag=tag,
                                             headers=headers)) is not None:
            return refused
        return Response(body, media_type=fmt.media_type, headers=headers)

    async def catalog(self, request: Request) -> Response:
        extension = request.path_params.get("extension")
        if extension is not None:
            fmt = _BY_EXTENSION.get(extension)
            if fmt is None:
                offered = ", ".join(f".{f.extension}" for f in DOCUMENT_FORMATS)
                return PlainTextResponse(f"No catalog.{shown(extension)}; try {offered}\n", status_code=404,
                                         headers=self.security)
            return self._file(request, f"{CATALOG_STEM}.{fmt.extension}", fmt)
        return self._negotiated(request, CATALOG_STEM, "The catalog", lambda fmt: {
            "Content-Location": f"{self.root}/{CATALOG_STEM}.{fmt.extension}",
            "Link": _alternates(f"{self.root}/{CATALOG_STEM}")})

    async def void(self, request: Request) -> Response:
        """/.well-known/void in the format the client asks for, as every IRI under the base (it was Turtle to all);
        `Content-Location` and `Link` name the same file in each format among the downloads (/downloads/void.ttl, ...)."""
        return self._negotiated(request, VOID_STEM, "The VoID description", lambda fmt: {
            "Content-Location": f"{self.root}/downloads/{VOID_STEM}.{fmt.extension}",
            "Link": _alternates(f"{self.root}/downloads/{VOID_STEM}")})

    def _negotiated(self, request: Request, stem: str, name: str, headers: Callable[[Format], dict[str, str]]) -> Response:
        """The built file `stem`.{extension} in the format that fits the request's Accept, with `headers(format)`; people
        are sent (303) to the home page, which tells of the data and its files."""
        accept = header_list(request.headers, "accept")
        fmt = best_format(accept)
        if wants_page(accept, fmt):
            return RedirectResponse(self.root + "/", status_code=303, headers={"Vary": "Accept", **self.security})
        if fmt is None:
            offered = ", ".join(f.media_type for f in DOCUMENT_FORMATS)
            # A header that cannot be read is said so: it may list Turtle, which the offer alone would seem to deny.
            why = formats.unreadable(accept, DOCUMENT_FORMATS)
            return PlainTextResponse(f"{why + ' ' if why else ''}{name} is offered as {offered}\n", status_code=406,
                                     headers={"Vary": "Accept", **self.security})
        return self._file(request, f"{stem}.{fmt.extension}", fmt, {"Vary": "Accept", **headers(fmt)})

    async def ontology_stylesheet(self, request: Request) -> Response:
        path = self.dist_dir / ONTOLOGY_CSS
        if not path.is_file():
            return PlainTextResponse("Not built yet: run `plan-kg build`.\n", status_code=404, headers=self.security)
        return Response(path.read_bytes(), media_type="text/css", headers=self.security)


def _alternates(stem: str) -> str:
    """A `Link` header naming the file `stem`.{extension} in each document format."""
    return ", ".join(f'<{stem}.{f.extension}>; rel="alternate"; type="{f.media_type}"' for f in DOCUMENT_FORMATS)


def routes(settings: Settings, security: dict[str, str] | None = None) -> list[BaseRoute]:
    """The catalog and VoID routes, reading the files of `settings.dist_dir`; every answer has the `security` headers
    (the server gives the site's, `web.SECURITY_HEADERS`: RDF documents a browser may open, as the downloads)."""
    documents = MetadataDocuments(settings.dist_dir, settings.response_max_age_s, settings.public_path, security)
    return [
        Route("/catalog", documents.catalog, methods=["GET", "HEAD"], name="catalog"),
        Route("/catalog.{extension}", documents.catalog, methods=["GET", "HEAD"], name="catalog-document"),
        Route("/.well-known/void", documents.void, methods=["GET", "HEAD"], name="void"),
        Route(STYLESHEET_PATH, documents.ontology_stylesheet, methods=["GET", "HEAD"], name="ontology-stylesheet"),
    ]
