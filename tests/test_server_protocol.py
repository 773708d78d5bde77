"""The form reader of the protocol module against the standard library's (`urllib.parse.parse_qsl`)."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plan_kg.server import protocol
from plan_kg.server.protocol import ProtocolError, form_pairs, read_query_string, read_request


def _read(reader, text: str) -> object:
    """What `reader` reads from `text`; for a text that is not UTF-8 once decoded, that it is refused, and why when
    `text` is ASCII (urllib decodes each ASCII run of a text apart, and may name another fault of the same bytes)."""
    try:
        return reader(text)
    except UnicodeDecodeError as exc:
        return ("not UTF-8", exc.reason if text.isascii() else "")


def _stdlib(text: str) -> list[tuple[str, str]]:
    return parse_qsl(text, keep_blank_values=True, errors="strict")


#: What trips a percent-decoder: escapes valid, cut short or of bytes that are not UTF-8 alone; `=`, `+`, `&`;
#: line breaks after `%` (a quoted-printable soft break); characters sent without escaping.
_PIECES = ["%", "=", "+", "&", "%3D", "%3d", "%2", "%zz", "%%", "%E3%81%82", "%e3%81", "%81", "%FF", "%0A", "%0d",
           "\n", "\r", "\t", " ", "_", "a", "F", "0", "子", "é", "\U0001F600", "%E5", "%AD%90", "%F0%9F", "%98%80",
           "\x00", "\x7f", "query", "%25"]


@settings(max_examples=3000)
@given(st.lists(st.sampled_from(_PIECES), max_size=16))
def test_form_pairs_reads_as_parse_qsl(pieces: list[str]) -> None:
    text = "".join(pieces)
    assert _read(form_pairs, text) == _read(_stdlib, text)


@settings(max_examples=500)
@given(st.dictionaries(st.text(max_size=20), st.text(max_size=200), max_size=4))
def test_form_pairs_reads_what_urlencode_wrote(params: dict[str, str]) -> None:
    text = urlencode(params)
    assert form_pairs(text) == _stdlib(text) == list(params.items())


@pytest.mark.parametrize("text", [
    "", "&", "&&query=", "query", "query=a=b", "query=%3D%3d=", "a=%", "a=%4", "a=%4g", "a=%%41", "a=%\n41",
    "a=%\r\n41", "a=%C3%A9", "a=%C3", "a=%C3%28", "a=子%E5%AD%90", "a=%E5子", "+=+%2B", "query=SELECT+%3Fs",
])  # fmt: skip
def test_form_pairs_edge_cases(text: str) -> None:
    assert _read(form_pairs, text) == _read(_stdlib, text)


def test_a_form_is_read_without_decoding_escape_by_escape(monkeypatch: pytest.MonkeyPatch) -> None:
    """urllib decodes escapes one at a time in Python: 0.17 s of the event loop for a 900 KB form with one
    character sent as it is, or one `%` that begins no escape. Such texts are read as urllib reads them, without it."""
    texts = ["query=" + "%41" * 1000 + tail for tail in ("子", "%zz", "%\n", "%", "100%25%", "%E5%AD%90é")]
    expected = [_stdlib(text) for text in texts]
    monkeypatch.setattr(protocol, "unquote", None)  # calling it would raise
    assert [form_pairs(text) for text in texts] == expected


def test_a_query_string_with_bytes_that_are_not_utf8_is_refused_saying_so() -> None:
    with pytest.raises(ProtocolError) as refused:
        read_query_string(b"query=ASK+%7B%7D%FF")
    assert refused.value.status == 400
    assert "percent-encoded bytes that are not UTF-8" in refused.value.message


@pytest.mark.parametrize(("content_type", "named"), [
    ("application/x-www-form-urlencoded; charset=", "an empty charset"),
    ("application/sparql-query; charset=latin-1", "charset=latin-1"),
])
def test_a_body_in_another_charset_is_refused_naming_it(content_type: str, named: str) -> None:
    """An empty charset was said as 'the body must be UTF-8, not ' (found by an audit)."""
    from starlette.requests import Request

    async def receive() -> dict:
        return {"type": "http.request", "body": b"ASK {}", "more_body": False}

    request = Request({"type": "http", "method": "POST", "path": "/sparql", "query_string": b"",
                       "headers": [(b"content-type", content_type.encode())]}, receive)
    with pytest.raises(ProtocolError) as refused:
        asyncio.run(read_request(request, max_body_bytes=1000))
    assert refused.value.status == 400
    assert refused.value.message == f"the body must be UTF-8: its Content-Type names {named}; send charset=utf-8 or none"
