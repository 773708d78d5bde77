"""`plan-kg push --graph-store URL`: put every named graph into an existing triplestore.

Uses the SPARQL 1.1 Graph Store HTTP Protocol, indirect graph identification: one
`PUT {url}?graph={graph IRI}` per named graph of dist/plan-kg.nq, with the graph as
N-Triples, so each push replaces exactly the graphs plan-kg owns and nothing else
(Oxigraph `/store`, Fuseki `/{dataset}/data`, Virtuoso `/sparql-graph-crud-auth`).
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from .. import formats
from ..errors import PlanKgError
from ..server.store import DUMP_NAME



class PushError(PlanKgError):
    """The graph store refused a graph or could not be reached."""


@dataclass(frozen=True)
class PushedGraph:
    iri: str
    triples: int
    status: int  # the store's HTTP status (201 created, 204 replaced, 200)


@dataclass(frozen=True)
class PushResult:
    graph_store: str
    graphs: tuple[PushedGraph, ...]


def _graphs(dump: Path) -> dict[str, list[ox.Triple]]:
    if not dump.is_file():
        raise PushError(f"{dump} is missing: run `plan-kg build` first")
    graphs: dict[str, list[ox.Triple]] = defaultdict(list)
    for quad in ox.parse(path=str(dump), format=ox.RdfFormat.N_QUADS):
        if isinstance(quad.graph_name, ox.NamedNode):
            graphs[quad.graph_name.value].append(quad.triple)
    return dict(sorted(graphs.items()))


def push_graphs(dist_dir: Path, *, graph_store: str, user: str | None = None, password: str | None = None,
                timeout_s: float = 300.0) -> PushResult:
    """PUT each named graph of `dist_dir`/plan-kg.nq to `graph_store` (a GSP endpoint URL)."""
    if urllib.parse.urlsplit(graph_store).scheme not in ("http", "https"):
        raise PushError(f"the graph store must be an http(s) URL, not {graph_store!r}")
    headers = {"Content-Type": formats.by_name("ntriples").media_type}
    handlers: list[urllib.request.BaseHandler] = []
    if user is not None:
        # Answer the store's challenge, Basic (Fuseki) or Digest (Virtuoso's /sparql-graph-crud-auth).
        passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        passwords.add_password(None, graph_store, user, password or "")
        handlers = [urllib.request.HTTPBasicAuthHandler(passwords), urllib.request.HTTPDigestAuthHandler(passwords)]
    opener = urllib.request.build_opener(*handlers)
    separator = "&" if urllib.parse.urlsplit(graph_store).query else "?"
    pushed = []
    for iri, triples in _graphs(dist_dir / DUMP_NAME).items():
        body = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
        url = f"{graph_store}{separator}{urllib.parse.urlencode({'graph': iri})}"
        request = urllib.request.Request(url, data=body, method="PUT", headers=headers)
        try:
            with opener.open(request, timeout=timeout_s) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            detail = exc.read(500).decode("utf-8", "replace").strip()
            raise PushError(f"{graph_store} answered {exc.code} {exc.reason} for graph <{iri}>: {detail}"
                            + _login_hint(exc.code, user, password)) from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise PushError(f"cannot reach the graph store at {graph_store} ({reason}); is it running?") from exc
        pushed.append(PushedGraph(iri=iri, triples=len(triples), status=status))
    return PushResult(graph_store=graph_store, graphs=tuple(pushed))


def _login_hint(status: int, user: str | None, password: str | None) -> str:
    """What to do when the store refused the login (401): give one, or check the one given."""
    if status != 401:
        return ""
    if user is None:
        return "; the store asks for a login: give --user NAME and the password in PLAN_KG_GRAPH_STORE_PASSWORD"
    if not password:
        return f"; the store refused user {user!r} without a password: set PLAN_KG_GRAPH_STORE_PASSWORD"
    return f"; the store refused user {user!r}: check the user and PLAN_KG_GRAPH_STORE_PASSWORD"
