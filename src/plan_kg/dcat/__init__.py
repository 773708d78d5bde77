"""Describing the published data for portals and crawlers: DCAT-AP catalog, VoID, ontology docs.

`write_metadata` is called at the end of a build (files in dist/); `routes(settings)` serves
them at /catalog and /.well-known/void (content-negotiated) and /catalog.ttl|.jsonld|.rdf|.nt.
"""

from .catalog import catalog_graph
from .routes import routes
from .void import void_graph
from .write import write_metadata

__all__ = ["catalog_graph", "routes", "void_graph", "write_metadata"]
