"""`plan-kg push`: every named graph into a real Oxigraph server on loopback, through the Graph Store Protocol."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from loopback import free_port, stop, wait_until_up

from plan_kg.build import BuildResult
from plan_kg.cli import main
from plan_kg.export.push import PushError, push_graphs

OXIGRAPH = shutil.which("oxigraph")
pytestmark = pytest.mark.skipif(OXIGRAPH is None, reason="needs the oxigraph server binary (pip install oxigraph)")



@pytest.fixture()
def oxigraph(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen([str(OXIGRAPH), "serve", "--location", str(tmp_path / "db"), "--bind", f"127.0.0.1:{port}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url + "/query?query=ASK%7B%7D")
        yield url
    finally:
        stop(process)


def _graph_sizes(url: str) -> dict[str, int]:
    query = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
    request = urllib.request.Request(f"{url}/query?{urllib.parse.urlencode({'query': query})}",
                                     headers={"Accept": "application/sparql-results+json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        rows = json.load(response)["results"]["bindings"]
    return {row["g"]["value"]: int(row["n"]["value"]) for row in rows}


def _dump_sizes(dist: Path) -> Counter[str]:
    sizes: Counter[str] = Counter()
    for line in (dist / "plan-kg.nq").read_text(encoding="utf-8").splitlines():
        if line.strip():
            sizes[line.rsplit(" ", 2)[-2].strip("<>")] += 1
    return sizes


def test_push_puts_every_named_graph_and_replaces_it_next_time(oxigraph: str, built: BuildResult) -> None:
    other = urllib.request.Request(f"{oxigraph}/store?graph=http%3A%2F%2Fexample.org%2Fother", method="PUT",
                                   data=b"<http://example.org/a> <http://example.org/b> <http://example.org/c> .\n",
                                   headers={"Content-Type": "application/n-triples"})
    urllib.request.urlopen(other, timeout=10).close()

    first = push_graphs(built.out_dir, graph_store=f"{oxigraph}/store")
    again = push_graphs(built.out_dir, graph_store=f"{oxigraph}/store")

    expected = _dump_sizes(built.out_dir)
    assert {g.iri: g.triples for g in first.graphs} == dict(expected)
    assert {g.status for g in first.graphs} <= {200, 201, 204}
    assert [g.iri for g in again.graphs] == [g.iri for g in first.graphs]
    assert _graph_sizes(oxigraph) == {**expected, "http://example.org/other": 1}


def test_cli_push(oxigraph: str, built: BuildResult) -> None:
    result = CliRunner().invoke(main, ["--out", str(built.out_dir), "push", "--graph-store", f"{oxigraph}/store"])
    assert result.exit_code == 0, result.output
    assert f"pushed {len(_dump_sizes(built.out_dir))} graphs" in result.output


def test_unreachable_store_is_a_clear_error(built: BuildResult) -> None:
    with pytest.raises(PushError, match="cannot reach"):
        push_graphs(built.out_dir, graph_store=f"http://127.0.0.1:{free_port()}/store", timeout_s=5)


def test_refusing_store_names_the_graph(oxigraph: str, built: BuildResult) -> None:
    with pytest.raises(PushError, match="answered 4"):
        push_graphs(built.out_dir, graph_store=f"{oxigraph}/no-such-service")


def test_basic_authentication_answers_the_challenge(built: BuildResult) -> None:
    """A store that asks for a login (as Fuseki with a password file does) gets it, and only the graphs."""
    import base64
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    received: list[str] = []
    expected = "Basic " + base64.b64encode(b"editor:secret").decode()

    class Store(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:  # noqa: N802 (the http.server API)
            self.rfile.read(int(self.headers["Content-Length"]))
            if self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="store"')
            else:
                received.append(urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)["graph"][0])
                self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Store)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/plan-kg/data"
    try:
        with pytest.raises(PushError, match="401.*; the store asks for a login: give --user NAME and the password in "
                                             "PLAN_KG_GRAPH_STORE_PASSWORD$"):
            push_graphs(built.out_dir, graph_store=url)
        with pytest.raises(PushError, match="refused user 'editor' without a password: set PLAN_KG_GRAPH_STORE_PASSWORD$"):
            push_graphs(built.out_dir, graph_store=url, user="editor")
        with pytest.raises(PushError, match="refused user 'editor': check the user and PLAN_KG_GRAPH_STORE_PASSWORD$"):
            push_graphs(built.out_dir, graph_store=url, user="editor", password="wrong")
        result = push_graphs(built.out_dir, graph_store=url, user="editor", password="secret")
    finally:
        server.shutdown()
        server.server_close()
    assert received == [g.iri for g in result.graphs] == sorted(_dump_sizes(built.out_dir))


def test_help_says_the_login_answers_basic_or_digest_as_publishing_md_does() -> None:
    result = CliRunner().invoke(main, ["push", "--help"])
    assert result.exit_code == 0 and "(Basic or Digest, as the store asks)" in " ".join(result.output.split())
