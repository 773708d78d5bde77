"""Describing the published data for portals and crawlers: DCAT-AP catalog, VoID, ontology docs.

`write_metadata` is called at the end of a build (files in dist/); `routes.routes(settings)` serves
them at /catalog and /.well-known/void (content-negotiated) and /catalog.ttl|.jsonld|.rdf|.nt. The
routes are not imported here: a build imports this package, and editing how files are served must
not make a build stale (`build_record.build_modules`).
"""

from .catalog import catalog_graph
from .void import void_graph
from .write import write_metadata

__all__ = ["catalog_graph", "void_graph", "write_metadata"]
