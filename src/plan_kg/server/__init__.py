"""The read-only SPARQL 1.1 endpoint: protocol, content negotiation, limits and worker processes.

`create_app(settings)` builds the Starlette app, `run_serve(settings, host=, port=)` serves it,
and `QueryService` answers queries for the CLI and the web pages.
"""

from .app import create_app
from .run import run_serve
from .service import QueryRequest, QueryService
from .store import LoadedStore, StoreError, load_store
from .jobs import QueryRejected, QueryResult

__all__ = [
    "LoadedStore",
    "QueryRejected",
    "QueryRequest",
    "QueryResult",
    "QueryService",
    "StoreError",
    "create_app",
    "load_store",
    "run_serve",
]
