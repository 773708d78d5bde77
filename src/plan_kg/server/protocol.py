"""Reads a SPARQL 1.1 Protocol request (GET, POST form, POST direct) strictly.

Anything the protocol does not allow is a `ProtocolError` carrying the HTTP status to send:
updates (this endpoint is read-only), repeated `query` parameters, other media types and
bodies that are not UTF-8. Nothing here guesses what a malformed request meant.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass
from urllib.parse import unquote

import mimeparse
from starlette.requests import ClientDisconnect, Request

FORM = "application/x-www-form-urlencoded"
QUERY = "application/sparql-query"
UPDATE = "application/sparql-update"
_READ_ONLY = "this endpoint is read-only: SPARQL updates are not accepted"


class ProtocolError(Exception):
    """The request does not follow the SPARQL 1.1 Protocol; `status` is the HTTP status to answer."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


@dataclass(frozen=True)
class ProtocolRequest:
    """What a request asks: a query (None: the service description) and its options."""

    query: str | None
    default_graphs: tuple[str, ...] | None  # None when the request names no dataset
    named_graphs: tuple[str, ...] | None
    format: str | None  # the ?format= (or ?output=) override


async def read_request(request: Request, *, max_body_bytes: int) -> ProtocolRequest:
    """The protocol request in `request`; ProtocolError if it is not one this endpoint answers."""
    url_params = _parse_form(request.scope.get("query_string", b""), "the URL's query string")
    if request.method in ("GET", "HEAD"):
        return _protocol_request(url_params)
    parsed = _protocol_request(url_params + await _post_params(request, url_params, max_body_bytes))
    if parsed.query is None:  # only a GET without a query asks for the service description
        raise ProtocolError(400, f"the POST has no 'query' parameter; send {FORM} with query=..., or {QUERY}")
    return parsed


def read_query_string(raw: bytes) -> ProtocolRequest:
    """The protocol request of a GET with the raw URL query string `raw` (what `read_request` reads for a GET)."""
    return _protocol_request(_parse_form(raw, "the URL's query string"))


def _protocol_request(params: list[tuple[str, str]]) -> ProtocolRequest:
    names = [name for name, _ in params]
    if "update" in names:
        raise ProtocolError(403, _READ_ONLY)
    queries = [value for name, value in params if name == "query"]
    if len(queries) > 1:
        raise ProtocolError(400, f"the request has {len(queries)} 'query' parameters; send exactly one")
    default = tuple(value for name, value in params if name == "default-graph-uri")
    named = tuple(value for name, value in params if name == "named-graph-uri")
    dataset = "default-graph-uri" in names or "named-graph-uri" in names
    # The first one given: SPARQLWrapper sends both `format` and `output`, spelt differently (tsv and
    # text/tab-separated-values), and may send the same parameter twice. An empty one (a form's "any format") names
    # none: it left a later `output=csv` unread.
    fmt = next((value for name, value in params if name in ("format", "output") and value), None)
    return ProtocolRequest(
        query=queries[0].removeprefix("\ufeff") if queries else None,  # a byte order mark is no part of it
        default_graphs=default if dataset else None,
        named_graphs=named if dataset else None,
        format=fmt,
    )


async def _post_params(request: Request, url_params: list[tuple[str, str]], max_body_bytes: int) -> list[tuple[str, str]]:
    content_type = request.headers.get("content-type")
    if not content_type:
        raise ProtocolError(415, f"a POST needs a Content-Type: {FORM} or {QUERY}")
    try:
        main, sub, options = mimeparse.parse_mime_type(content_type)
    except (mimeparse.MimeTypeParseException, ValueError, IndexError) as exc:
        raise ProtocolError(415, f"the Content-Type cannot be parsed: {exc}") from exc
    media_type = f"{main}/{sub}".lower()
    charset = options.get("charset", "utf-8").strip().strip('"').lower()
    if media_type == UPDATE:
        raise ProtocolError(403, _READ_ONLY)
    if media_type not in (FORM, QUERY):
        raise ProtocolError(415, f"POST {media_type} is not accepted; send {FORM} or {QUERY}")
    if charset not in ("utf-8", "utf8"):
        named = f"charset={charset}" if charset else "an empty charset"
        raise ProtocolError(400, f"the body must be UTF-8: its Content-Type names {named}; send charset=utf-8 or none")
    coding = request.headers.get("content-encoding", "").strip().lower()
    if coding not in ("", "identity"):  # RFC 9110 15.5.16: 415, saying which codings would do
        raise ProtocolError(415, f"a body with Content-Encoding: {coding} is not accepted; send it uncompressed",
                            headers={"Accept-Encoding": "identity"})
    body = await _read_body(request, max_body_bytes)
    if media_type == FORM:
        return _parse_form(body, "the form body")
    if any(name in ("query", "update") for name, _ in url_params):
        raise ProtocolError(400, f"with {QUERY} the query is the body; do not also send ?query= in the URL")
    try:
        return [("query", body.decode("utf-8").removeprefix("\ufeff"))]  # a byte order mark is no part of it
    except UnicodeDecodeError as exc:
        raise ProtocolError(400, f"the body is not valid UTF-8 (byte {exc.start})") from exc


async def _read_body(request: Request, max_body_bytes: int) -> bytes:
    too_large = ProtocolError(413, f"the request body is larger than {max_body_bytes} bytes, this endpoint's limit")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_body_bytes:
        raise too_large
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_body_bytes:
                raise too_large
            chunks.append(chunk)
    except ClientDisconnect:  # nobody to answer; without this, a traceback in the log for each
        raise ProtocolError(400, "the client went away before it sent the whole body") from None
    return b"".join(chunks)


#: More parameters than any SPARQL request needs (a query, a format, graph IRIs): refused before they
#: are split and decoded, which took 0.27 s of the event loop for a 1 MB form of 250,000 of them.
MAX_PARAMETERS = 1000


def _parse_form(raw: bytes, where: str) -> list[tuple[str, str]]:
    if raw.count(b"&") >= MAX_PARAMETERS:
        raise ProtocolError(400, f"{where} has more than {MAX_PARAMETERS} parameters, this endpoint's limit")
    try:
        # UTF-8 as sent (`curl -d 'query=…子ども…'`) or percent-encoded: the URL standard's reading of a form.
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError(400, f"{where} is not UTF-8 (byte {exc.start + 1}: {exc.reason})") from exc
    try:
        return form_pairs(text)
    except UnicodeDecodeError as exc:
        raise ProtocolError(400, f"{where} has percent-encoded bytes that are not UTF-8 ({exc.reason})") from exc


def form_pairs(text: str) -> list[tuple[str, str]]:
    """The name-value pairs of a form (or URL query string): what `urllib.parse.parse_qsl(text,
    keep_blank_values=True, errors="strict")` gives, UnicodeDecodeError included, sooner.

    parse_qsl decodes percent-escapes one at a time in Python: 53 µs for a 760-character named query
    (258 escapes), half of what pyoxigraph takes to answer it; here 9 µs (`_unquote_plus`).
    `tests/test_server_protocol.py` holds it to parse_qsl on generated texts: the same pairs, and a
    UnicodeDecodeError where parse_qsl raises one (with its reason when the text is ASCII).
    """
    pairs = []
    for part in text.split("&"):
        if part:
            name, _, value = part.partition("=")
            pairs.append((_unquote_plus(name), _unquote_plus(value)))
    return pairs


def _unquote_plus(text: str) -> str:
    """`text` with `+` read as a space and its percent-escapes decoded, as parse_qsl reads a name or value.

    The escapes are decoded together by binascii's quoted-printable decoder (`_escapes_decoded`), in C:
    urllib decodes them one at a time in Python, which held the event loop 0.17 s for a form body of
    900 KB. A `%` that begins no escape (`100%`, `%zz`) is kept as it is, as urllib keeps it: written
    as the escape of `%` itself first. Only a text that is not UTF-8 once decoded may be said in
    other words than urllib's (which decodes each run of ASCII apart): the same bytes are refused.
    """
    text = text.replace("+", " ")
    if "%" not in text:
        return text
    # A line break after `%` would be a soft line break to the decoder: such a `%` begins no escape either.
    decoded = _escapes_decoded(text) if "%\n" not in text and "%\r" not in text else None
    if decoded is None:
        decoded = _escapes_decoded(_LONE_PERCENT.sub("%25", text))
    if decoded is None:  # a lone surrogate, which no request decoded from UTF-8 holds
        return unquote(text, errors="strict")
    return decoded.decode("utf-8")  # UnicodeDecodeError: the escapes are not UTF-8


#: A `%` that is not followed by two hex digits.
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _escapes_decoded(text: str) -> bytes | None:
    """`text` as UTF-8 with its escapes decoded; None if some `%` of it begins no escape.

    Each `%` becomes the decoder's `=` (a `=` of the text itself is escaped first, as `%3D`). The decoder
    also reads a `=` before no two hex digits (kept, or dropped at the end) and `==`: each of those
    shortens the text by less than two bytes, so a text two bytes shorter for each `=` had escapes only.
    It leaves every other byte as it is.
    """
    try:
        quoted = text.replace("=", "%3D").replace("%", "=").encode("utf-8")
    except UnicodeEncodeError:
        return None
    decoded = binascii.a2b_qp(quoted)
    return decoded if len(decoded) == len(quoted) - 2 * quoted.count(b"=") else None
