"""HTTP conditional requests (RFC 9110 13): the preconditions of a request against an entity tag.

Shared by the endpoint (`/sparql`), the linked-data documents and downloads (`plan_kg.web`) and the
catalog (`plan_kg.dcat`); it imports nothing of theirs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from starlette.responses import Response


def etag_matches(if_none_match: str | None, tag: str) -> bool:
    """True if an If-None-Match header lists `tag` (weak comparison, as RFC 9110 §13.1.2 asks).

    `*` is not honoured here: it means "any answer", which only `precondition_failed` can know of.
    """
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        if candidate.strip().removeprefix("W/") == tag:
            return True
    return False


def header_list(headers: Mapping[str, str], name: str) -> str | None:
    """A request header field (of Starlette's `Headers`), its lines joined as one list (RFC 9110 5.3); None if not sent."""
    values = headers.getlist(name)  # type: ignore[attr-defined]
    return ", ".join(values) if values else None


def request_preconditions(headers: Mapping[str, str]) -> tuple[str | None, str | None]:
    """The If-Match and If-None-Match fields of a request (Starlette's `Headers`), each None if not sent."""
    return header_list(headers, "if-match"), header_list(headers, "if-none-match")


def content_tag(body: bytes) -> str:
    """A strong entity tag for `body`: a hash of its bytes (quoted, as sent)."""
    return f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'


def precondition_failed(*, if_match: str | None, if_none_match: str | None, tag: str | None,
                        safe: bool = True) -> int | None:
    """RFC 9110 §13.2.2 for a request whose target exists, its current representation with entity tag `tag` (None:
    it has none).

    412 when If-Match lists neither `*` nor `tag` (strong comparison); else, when If-None-Match lists `*` or `tag`
    (weak comparison), 304 for a GET or HEAD (`safe`) and 412 for any other method, which must not be performed
    (§13.1.2); None: go on. For a GET or HEAD, call it only once the answer exists: a request that would not get
    a 2xx ignores both fields. A query sent by POST is checked before it runs, against the endpoint itself, of which
    a POST selects no representation (`tag` None): `If-Match: *` lets it run, `If-None-Match: *` does not.
    """
    if if_match is not None and not any(c.strip() in ("*", tag) for c in if_match.split(",")):
        return 412
    if if_none_match is not None and (
            any(c.strip() == "*" for c in if_none_match.split(",")) or tag is not None and etag_matches(if_none_match, tag)):
        return 304 if safe else 412
    return None


def precondition_response(*, if_match: str | None, if_none_match: str | None, tag: str | None,
                          headers: dict[str, str], safe: bool = True) -> Response | None:
    """The 304 or 412 of `precondition_failed`, sent with `headers` (the answer's validators and Vary); a
    412 as no-store, which a shared cache must not hand to another client (RFC 9111 3). None: send the answer."""
    status = precondition_failed(if_match=if_match, if_none_match=if_none_match, tag=tag, safe=safe)
    if status is None:
        return None
    return Response(status_code=status, headers={**headers, "Cache-Control": "no-store"} if status == 412 else headers)
