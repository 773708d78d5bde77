"""The form reader of the protocol module against the standard library's (`urllib.parse.parse_qsl`)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plan_kg.server.protocol import ProtocolError, form_pairs, read_query_string


def _read(reader, text: str) -> object:
    try:
        return reader(text)
    except UnicodeDecodeError as exc:
        return ("not UTF-8", exc.reason)


def _stdlib(text: str) -> list[tuple[str, str]]:
    return parse_qsl(text, keep_blank_values=True, errors="strict")


#: What trips a percent-decoder: escapes valid, cut short or of bytes that are not UTF-8 alone; `=`, `+`, `&`;
#: line breaks after `%` (a quoted-printable soft break); characters sent without escaping.
_PIECES = ["%", "=", "+", "&", "%3D", "%3d", "%2", "%zz", "%%", "%E3%81%82", "%e3%81", "%81", "%FF", "%0A", "%0d",
           "\n", "\r", "\t", " ", "_", "a", "F", "0", "子", "\x00", "\x7f", "query", "%25"]


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


def test_a_query_string_with_bytes_that_are_not_utf8_is_refused_saying_so() -> None:
    with pytest.raises(ProtocolError) as refused:
        read_query_string(b"query=ASK+%7B%7D%FF")
    assert refused.value.status == 400
    assert "percent-encoded bytes that are not UTF-8" in refused.value.message
