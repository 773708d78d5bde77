"""plan_kg.routing: routes that match a path whole, and the path a handler reads, whatever characters it holds."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.testclient import TestClient

from plan_kg.routing import Mount, Route, request_path


async def _said(request: Request) -> Response:
    """The path parameter and the path as the handler reads them, each as Python writes it."""
    return PlainTextResponse(f"{request.path_params.get('path')!r} {request_path(request)!r}")


@pytest.fixture
def client() -> TestClient:
    inner = Starlette(routes=[Route("/{path:path}", _said)])
    return TestClient(Starlette(routes=[Route("/id/{path:path}", _said), Route("/robots.txt", _said),
                                        Route("/queries/{path}.rq", _said), Mount("/assets", app=inner)]))


@pytest.mark.parametrize(("sent", "path", "read"), [
    ("/id/a%0Ab.ttl", "a\nb.ttl", "/id/a%0Ab.ttl"),  # Starlette's `.*` stopped at the newline: no route
    ("/id/a%0D.ttl", "a\r.ttl", "/id/a%0D.ttl"),  # request.url.path had /id/a.ttl
    ("/id/a%09", "a\t", "/id/a%09"),
    ("/id/a.ttl%0A", "a.ttl\n", "/id/a.ttl%0A"),  # `$` matched before the last newline: the path param was a.ttl
    ("/id/a%00", "a\x00", "/id/a%00"),  # request.url.path kept it: a NUL in a plain-text 404
    ("/id/a%1B%7F", "a\x1b\x7f", "/id/a%1B%7F"),
    ("/id/a%3Fb%23c", "a?b#c", "/id/a%3Fb%23c"),  # as request.url.path has them, as before
    ("/queries/a%0Ab.rq", "a\nb", "/queries/a%0Ab.rq"),
    ("/assets/x%0A.css", "x\n.css", "/assets/x%0A.css"),  # within a mount, the whole path, as request.url.path
])
def test_a_route_takes_the_whole_path_and_the_handler_reads_every_character(client: TestClient, sent: str, path: str,
                                                                            read: str) -> None:
    answer = client.get(sent)
    assert answer.status_code == 200 and answer.text == f"{path!r} {read!r}"


@pytest.mark.parametrize("sent", ["/robots.txt%0A", "/robots.txt%0D", "/queries/a.rq%0A", "/assets%0A"])
def test_a_path_with_a_character_after_a_routes_end_is_no_route(client: TestClient, sent: str) -> None:
    assert client.get(sent).status_code == 404
