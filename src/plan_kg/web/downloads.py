"""/downloads/…: the files of dist/, gzip-compressed for clients that accept it, with validators and ranges."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email.utils import formatdate, parsedate_to_datetime
from os import PathLike, stat_result
from pathlib import Path
from stat import S_ISREG

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, RedirectResponse, Response
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import Scope

from .. import formats
from ..conditional import header_list, precondition_failed, request_preconditions
from ..config import Settings
from ..content_coding import accepts_gzip
from ..formats import Format
from .compress import GzipCopies
from .security import download_headers, secure


@dataclass(frozen=True)
class Download:
    """A file of dist/ as the home page lists it: its path under dist/, link, media type and size for people."""

    name: str
    href: str
    media_type: str
    size: str


#: Formats already compressed: sent as they are.
_COMPRESSED = (formats.by_name("png"),)
_RANGE_SPEC = re.compile(r"\s*(?:(\d{1,18})-(\d{0,18})|-\d{1,18})\s*")  # longer numbers: no file is that large


def _precondition(request_headers: Headers, etag: str, last_modified: str) -> int | None:
    """412, 304 or None (send it) for a GET of a download whose validators are `etag` and `last_modified`,
    in RFC 9110 13.2.2's order: If-Match, else If-Unmodified-Since; then If-None-Match, else If-Modified-Since.
    A date that cannot be read is ignored, as the RFC says."""
    if_match, if_none_match = request_preconditions(request_headers)
    modified = parsedate_to_datetime(last_modified)
    if if_match is None and (since := _date(request_headers, "if-unmodified-since")) is not None and modified > since:
        return 412
    if (status := precondition_failed(if_match=if_match, if_none_match=if_none_match, tag=etag)) is not None:
        return status
    if if_none_match is None and (since := _date(request_headers, "if-modified-since")) is not None and modified <= since:
        return 304
    return None


def _date(request_headers: Headers, name: str) -> datetime | None:
    """The HTTP date in a header field; None when it is not sent or is not one (ignored, as RFC 9110 13.1.3
    asks): not a date, or one without a time zone (`-0000`, which made the comparison raise: a 500)."""
    try:
        date = parsedate_to_datetime(request_headers[name]) if name in request_headers else None
    except (TypeError, ValueError):
        return None
    return date if date is not None and date.tzinfo is not None else None


def _range_kept(scope: Scope) -> bool:
    """Whether the request in `scope` asks for a range that is to be sent. RFC 9110 14.2: a Range of another unit
    or that cannot be read is ignored (Starlette's FileResponse: 400), and so is any Range on a method other than
    GET (a HEAD gets the whole file's fields): such a field is taken out of `scope`."""
    fields = Headers(scope=scope)
    if "range" not in fields:
        return False
    if scope["method"] == "GET" and _readable_range(fields["range"]):
        return True
    scope["headers"] = [(name, value) for name, value in scope["headers"] if name != b"range"]
    return False


def _readable_range(value: str) -> bool:
    """Whether a Range header is a byte range set (RFC 9110 14.1.1), each range's last byte not before its first."""
    unit, equals, specs = value.partition("=")
    if unit.strip().lower() != "bytes" or not equals:
        return False
    listed = [spec for spec in specs.split(",") if spec.strip()]  # empty list elements are allowed
    matches = [_RANGE_SPEC.fullmatch(spec) for spec in listed]
    return bool(listed) and all(
        match is not None and not (match[2] and int(match[2]) < int(match[1])) for match in matches)


class Downloads:
    """The files of `settings.dist_dir` that have a format in the format table, as the site serves them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # Downloads as gzip (`compress`): all of the bundled build's take ~1.5 MB compressed.
        self._gzipped = GzipCopies(settings.response_cache_bytes)

    def listed(self) -> list[Download]:
        """The built files in dist/ that have a format in the format table."""
        dist = self.settings.dist_dir
        if not dist.is_dir():
            return []
        found = []
        for path in sorted(p for p in dist.rglob("*") if p.is_file()):
            fmt = _file_format(path)
            if fmt is not None:
                relative = path.relative_to(dist).as_posix()
                found.append(Download(relative, f"{self.settings.public_path}/downloads/{relative}", fmt.media_type,
                                      _size(path.stat().st_size)))
        return found

    async def serve(self, request: Request) -> Response:
        """/downloads/… : a file of dist/, gzip-compressed for a client that accepts it (`compress`);
        /downloads/ itself is the list on the home page.

        Every answer about a file (200, 206, 304, 412) carries the security headers of its format
        (`security.download_headers`): a 304 updates the headers a cache stored with the file (RFC 9111
        4.3.4), so one under another policy would break the chart it keeps. Anything else: the site's."""
        if not request.path_params["path"]:
            return secure(RedirectResponse(f"{self.settings.public_path}/#downloads", status_code=303))
        dist = self.settings.dist_dir.resolve()
        try:
            target = (dist / request.path_params["path"]).resolve()
            stat = target.stat()  # once: a new build may replace the file while it is served
        except (OSError, ValueError):  # not there (or gone), or not a path at all (a NUL byte)
            return self._missing()
        fmt = _file_format(target)
        if not target.is_relative_to(dist) or not S_ISREG(stat.st_mode) or fmt is None:
            return self._missing()
        if (response := await self._file(request, target, stat, fmt)) is None:
            return self._missing()
        return secure(response, download_headers(fmt))

    def _missing(self) -> Response:
        return secure(PlainTextResponse(
            f"No such download. The list is on the home page: {self.settings.public_path}/\n", status_code=404))

    async def _file(self, request: Request, target: Path, stat: stat_result, fmt: Format) -> Response | None:
        """The file at `target` (`stat` as found), as the request asks; None if it went away meanwhile."""
        headers = {"Vary": "Accept-Encoding"}
        ranged = _range_kept(request.scope)
        if fmt not in _COMPRESSED and not ranged and accepts_gzip(header_list(request.headers, "accept-encoding")):
            if (body := await self._gzipped.get(target, stat)) is not None:
                tag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}-gzip"'
                headers.update({"Content-Encoding": "gzip", "ETag": tag,
                                "Last-Modified": formatdate(stat.st_mtime, usegmt=True)})
                if (status := _precondition(request.headers, tag, headers["Last-Modified"])) is not None:
                    return Response(status_code=status, headers=headers)
                return Response(body, media_type=fmt.media_type, headers=headers)
            if not target.is_file():  # it went away while it was being compressed
                return None
        response = FileResponse(target, media_type=fmt.media_type, headers=headers, stat_result=stat)
        if (status := _precondition(request.headers, response.headers["etag"], response.headers["last-modified"])):
            kept = {name: response.headers[name] for name in ("etag", "last-modified", "vary")}
            return Response(status_code=status, headers=kept)
        return response


class ValidatedFiles(StaticFiles):
    """Starlette's StaticFiles (the site's stylesheets and scripts, the query editor's files) with every
    precondition of RFC 9110 13.2.2 evaluated as for a download: StaticFiles answers If-None-Match and
    If-Modified-Since (304) but sent the file whatever If-Match or If-Unmodified-Since said (RFC 9110 13.1.1:
    an origin server MUST evaluate If-Match; a failed one is 412). A Range that cannot be read is ignored, as
    for a download (RFC 9110 14.2; StaticFiles answered 400)."""

    def file_response(self, full_path: PathLike, stat_result: stat_result, scope: Scope,
                      status_code: int = 200) -> Response:
        _range_kept(scope)  # a Range that cannot be read is ignored, as for a download (it was a 400)
        response = FileResponse(full_path, status_code=status_code, stat_result=stat_result)
        status = _precondition(Headers(scope=scope), response.headers["etag"], response.headers["last-modified"])
        if status is None:
            return response
        if status == 304:
            return NotModifiedResponse(response.headers)  # as StaticFiles answers it
        return Response(status_code=status, headers={name: response.headers[name] for name in ("etag", "last-modified")})


def _file_format(path: Path) -> Format | None:
    """The format of a file by its suffix (the format table's), None if it has none there (not a download)."""
    try:
        return formats.by_extension(path.suffix.lstrip("."))
    except KeyError:
        return None


def _size(size: int) -> str:
    """A byte count as people read it: 512 B, 3.6 KB, 4.0 MB."""
    for unit in ("B", "KB", "MB"):
        if size < 1024 or unit == "MB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return str(size)
