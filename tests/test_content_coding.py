"""plan_kg.content_coding: which clients accept gzip, and gzip that gives the same bytes each time."""

from __future__ import annotations

import gzip

import pytest

from plan_kg.content_coding import accepts_gzip, gzip_bytes, gzip_tag


@pytest.mark.parametrize(
    ("header", "accepted"),
    [(None, False), ("", False), ("gzip", True), ("GZIP;q=0.5", True), ("gzip;q=0", False), ("x-gzip", True),
     ("br, deflate", False), ("*", True), ("*;q=0", False), ("gzip;q=0, *", False), ("identity, *;q=0.1", False),
     ("gzip;q=nonsense", False), ("identity", False), ("deflate, gzip ; Q=0.001", True), ("gzip; q=0.000", False),
     ("br;q=1.0, gzip;q=0.8, *;q=0.1", True),
     # The plain bytes weighed more than gzip: sent plain (RFC 9110 12.5.3); a tie goes to gzip.
     ("identity, gzip;q=0.1", False), ("identity;q=0.5, gzip", True), ("gzip;q=0.5, identity;q=0.5", True),
     ("*;q=0.5, identity", False), ("gzip;q=0.2, *", False)],
)
def test_accept_encoding_is_read_with_its_q_values(header: str | None, accepted: bool) -> None:
    assert accepts_gzip(header) is accepted


def test_gzip_is_the_same_bytes_every_time_and_decodes_to_the_input() -> None:
    body = "?s,?p\n<https://w3id.org/plan-kg/id/132292>,地域福祉\n".encode() * 100
    assert gzip_bytes(body) == gzip_bytes(body) and gzip.decompress(gzip_bytes(body)) == body
    assert gzip_bytes(body)[4:8] == b"\0\0\0\0"  # no time stamp in the header


def test_the_gzip_copy_has_its_own_strong_tag() -> None:
    assert gzip_tag('"v1-abc"') == '"v1-abc-gzip"'
