"""The dataset for people and linked-data clients: resource pages, documents, home page, downloads.

How IRIs are served (W3C "Cool URIs for the Semantic Web", the 303 pattern):

* Every data IRI under the base (`Settings.base_iri`) is served at the same path on this
  server: `{base}id/132292/basic-plan-3/1-3-2` at `/id/132292/basic-plan-3/1-3-2`.
  Such an IRI names a thing (a measure, a plan, a city), not a document, so a request for
  it answers **303 See Other** to a document about it, picked by the Accept header
  (`Vary: Accept`; HTML when the client states no preference).
* The documents are the IRI's path plus a suffix from `plan_kg.formats`:
  `.html`, `.ttl`, `.jsonld`, `.nt`, `.rdf`. They never vary by Accept, so they can be
  linked, cached and downloaded as they are.
* The 303 and every document carry `Link: <…>; rel="alternate"; type="…"` for each format.
* Named graphs (`/graph/…`) and the ontology (`/ontology`, terms as `/ontology#Term`)
  follow the same pattern. The ontology's modules (`/ontology/sdg`) and version IRI
  (`/ontology/0.1.0`) answer 303 to the ontology's documents, of which they are part.
  An IRI the dataset says nothing about gets a 404 page that points to the nearest
  resource above it.
* Behind a reverse proxy at the path of `public_base_iri` (`Settings.public_path`, e.g.
  `/nishitokyo`), every path these routes send (links, `Location`, `Link`) starts with it;
  the server answers with or without it (`server.public_path`).

Every response of these routes carries a strict Content-Security-Policy: scripts and
styles only from this server's static files, nothing inline, nothing from other hosts.
A chart download (SVG, PNG) is the exception, as a document a browser opens on its own: inline
style only, no script, sandboxed (`security.IMAGE_SECURITY_HEADERS`).
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
from starlette.routing import BaseRoute

from ..config import Settings
from ..routing import Mount, Route
from .downloads import ValidatedFiles
from .pages import Site
from .security import SECURITY_HEADERS

__all__ = ["SECURITY_HEADERS", "Site", "routes"]

STATIC_DIR = Path(__file__).parent / "static"


def routes(settings: Settings, store: ox.Store, site: Site | None = None) -> list[BaseRoute]:
    """The routes of the web side; `store` is only read, with small bounded look-ups. `site`: the `Site` of
    these, when the caller uses it too (for the answers to paths no route has, `Site.no_such_path`)."""
    site = site or Site(settings, store)
    return [
        Route("/", site.home, methods=["GET", "HEAD"], name="home"),
        Route("/robots.txt", site.robots, methods=["GET", "HEAD"], name="robots"),
        Route("/id/{path:path}", site.resource, methods=["GET", "HEAD"], name="resource"),
        Route("/graph/{path:path}", site.graph, methods=["GET", "HEAD"], name="graph"),
        Route("/shapes", site.shapes, methods=["GET", "HEAD"], name="shapes"),
        Route("/ontology", site.ontology, methods=["GET", "HEAD"], name="ontology"),
        Route("/ontology.{suffix}", site.ontology, methods=["GET", "HEAD"], name="ontology-document"),
        Route("/ontology/{path:path}", site.ontology_module, methods=["GET", "HEAD"], name="ontology-module"),
        Route("/queries/{name}.rq", site.named_query, methods=["GET", "HEAD"], name="named-query"),
        Route("/downloads/{path:path}", site.download, methods=["GET", "HEAD"], name="download"),
        Mount("/assets/site", app=ValidatedFiles(directory=STATIC_DIR), name="assets"),
        # @zazuko/yasgui from npm (package.json at the repository root); served, never fetched from a CDN.
        Mount("/assets/yasgui", app=site.yasgui_assets, name="yasgui"),
    ]
