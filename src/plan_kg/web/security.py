"""The security headers of the web side's responses: every Content-Security-Policy it sends is here."""

from __future__ import annotations

from starlette.responses import Response

from .. import formats
from ..formats import Format

#: Sent with every response of these routes. No inline script or style, nothing from other hosts.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
#: The home page's query editor: YASR's result table adds one fixed <style> element (its column
#: resizer). Allow exactly that element by its hash, and nothing else inline. A new YASGUI version
#: that changes it shows up as a CSP error in tests/test_browser.py.
YASR_RESIZER_STYLE = "'sha256-zCK2EVMoPc04mRF/g5CotUvxbJPWS+8V0b+s9ptqQIk='"
EDITOR_SECURITY_HEADERS = {
    **SECURITY_HEADERS,
    "Content-Security-Policy": SECURITY_HEADERS["Content-Security-Policy"] + f"; style-src-elem 'self' {YASR_RESIZER_STYLE}",
}
#: A chart download (SVG, PNG), which a browser opening it shows as a document of its own. Inline style
#: is all it may use: matplotlib's SVG styles itself with a <style> element and style="…" on nearly
#: every element, and Chromium's page for a PNG is styled inline; under the site's policy both were
#: unreadable (black, labels piled up). Images only as data: (an SVG heat map embeds its PNG so).
#: Nothing is fetched and nothing runs (an SVG can carry script: default-src 'none' covers script-src);
#: `sandbox` without allow-scripts also gives the document an opaque origin, so not even a script that
#: ran could read this site's storage or send requests as it, and it blocks forms, pop-ups and plugins.
IMAGE_SECURITY_HEADERS = {
    **SECURITY_HEADERS,
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'; sandbox"
    ),
}


def secure(response: Response, headers: dict[str, str] = SECURITY_HEADERS) -> Response:
    """`response` with the security `headers` (the site's policy unless told)."""
    response.headers.update(headers)
    return response


def download_headers(fmt: Format) -> dict[str, str]:
    """The security headers for a download in `fmt`: an image's own policy, or the site's (the pyLODE page
    is styled by its own stylesheet; RDF and tables are shown as text or saved)."""
    return IMAGE_SECURITY_HEADERS if formats.Kind.IMAGE in fmt.kinds else SECURITY_HEADERS
