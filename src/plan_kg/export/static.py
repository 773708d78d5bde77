"""`plan-kg publish --static DIR`: the whole site as plain files any static web host can serve.

The folder mirrors the server's URL space, so the same IRIs work on both: a resource
`{base}id/132292/basic-plan-3/1-3-2` is `id/132292/basic-plan-3/1-3-2.html` (and `.ttl`,
`.jsonld`, `.nt`, `.rdf`), the home page `index.html`, the dumps `downloads/…`, the catalog
`catalog.{ttl,jsonld,rdf,nt}`, VoID `.well-known/void`, the ontology docs `ontology.html`, and
`404.html`, the page a static host (GitHub Pages, Netlify, Cloudflare Pages …) sends for any missing path.

Pages are rendered by the web side itself (`plan_kg.web.routes` through a Starlette
TestClient), never a second time here; only their links are rewritten: every local link
becomes relative to the page (so the folder works under any path prefix and from disk) and
points at a file that exists. Except in 404.html: a host sends it in place of a missing page at
any depth, where no relative link holds (and the pages' policy, `base-uri 'none'`, rules out <base>),
so its links start at the host's root, with the path of the URL the folder is served at (`site`:
`--site-url`, by default public_base_iri or the base IRI); on another path only that page's links miss.
A static host has no SPARQL endpoint, so the query form and editor point at `endpoint` (by default
the public endpoint under the site URL).
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

import pyoxigraph as ox
from starlette.applications import Starlette
from starlette.testclient import TestClient

from .. import __version__, formats
from ..config import Settings
from ..errors import BuildError, PlanKgError
from ..named_queries import load_named_queries
from ..dcat.catalog import PUBLISHER_PATH, site_url
from ..dcat.serialize import DOCUMENT_FORMATS
from ..dcat.docs import STYLESHEET_PATH
from ..dcat.write import CATALOG_STEM, ONTOLOGY_CSS, ONTOLOGY_HTML, VOID_FILE
from ..server.store import DUMP_NAME

_ATTRIBUTE = re.compile(r'\b(href|src|action|data-endpoint)="([^"]*)"')
#: The home page's endpoint, shown as text: in the folder, the endpoint its query form uses.
_ENDPOINT_SHOWN = re.compile(r'(<code class="endpoint">)[^<]*(</code>)')
#: The query editor's cue to link result IRIs to this server's pages (web/static/home.js): a folder's pages are
#: files named otherwise, and the IRIs lead to where the folder is published, so it is left out.
_LOCAL_BASE = re.compile(r' data-local-base="[^"]*"')
#: Paths whose documents are negotiated on the server: a link without a suffix means its HTML page.
_NEGOTIATED = ("/id/", "/graph/", "/ontology")
#: Written last into every exported folder: what plan-kg wrote there. A folder is replaced only when it holds
#: this file and nothing it does not list, so a folder that merely looks like a site (a sitemap.xml) is never wiped.
MANIFEST = ".plan-kg-static.json"
#: The not-found page, which static hosts send for any path the folder lacks.
NOT_FOUND_PAGE = "404.html"
#: In the home page of every site plan-kg has exported, the manifest's or not: its title, header and brand.
_HOME_MARKS = ("— plan-kg</title>", '<header class="site">', "plan-kg: ")


class ExportError(PlanKgError):
    """The static folder cannot be written where asked."""


@dataclass(frozen=True)
class StaticSite:
    """What `publish_static` wrote."""

    out_dir: Path
    pages: tuple[str, ...]  # every HTML page, relative to out_dir (posix)
    files: int  # every file written


def _store(settings: Settings) -> ox.Store:
    dump = settings.dist_dir / DUMP_NAME
    if not dump.is_file():
        raise BuildError(f"{dump} is missing: run `plan-kg build` first")
    store = ox.Store()
    store.bulk_load(path=str(dump), format=ox.RdfFormat.N_QUADS)
    return store


def _resource_paths(settings: Settings, store: ox.Store) -> Iterator[str]:
    """The server path of every IRI under the base that is the subject of a statement, and of every named graph."""
    base = settings.base_iri
    subjects = {q.subject.value for q in store.quads_for_pattern(None, None, None, None)
                if isinstance(q.subject, ox.NamedNode) and q.subject.value.startswith(base + "id/")}
    graphs = {g.value for g in store.named_graphs() if isinstance(g, ox.NamedNode) and g.value.startswith(base)}
    for iri in sorted(subjects | graphs):
        yield "/" + iri[len(base):]


def _check_out_dir(settings: Settings, out_dir: Path, *, new_files: set[str] | None = None) -> None:
    """Refuse a folder that is not new, empty or an earlier export holding only what that export wrote.

    An export from before the MANIFEST (`_earlier_export`) is replaced only while it holds nothing but files the
    new one writes again (`new_files`): known once the new site is written, it passes while `new_files` is None.
    """
    out_dir = out_dir.resolve()
    if out_dir in (settings.dist_dir.resolve(), *settings.root.resolve().parents) or settings.root.resolve() == out_dir:
        raise ExportError(f"{out_dir} is not a folder to publish into; name a new or earlier static folder")
    if out_dir.is_relative_to(settings.dist_dir.resolve()):  # its files are copied into the site: each run, again
        raise ExportError(f"{out_dir} is inside {settings.dist_dir}, whose files the site holds (under downloads/); "
                          "name a folder outside it")
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise ExportError(f"{out_dir} is a file, not a folder; name a new folder to publish into")
    if not any(out_dir.iterdir()):
        return
    manifest = out_dir / MANIFEST
    if manifest.is_file():
        written, whose = _manifest_files(manifest), "the earlier export did not write"
    elif _earlier_export(out_dir):
        if new_files is None:
            return
        written, whose = new_files, "this export does not write again"
    else:
        raise ExportError(f"{out_dir} is not empty and was not written by `plan-kg publish --static` (it has no "
                          f"{MANIFEST}, nor a plan-kg home page index.html beside sitemap.xml and robots.txt), so "
                          "it is left as it is; name a new or empty folder")
    others = sorted(set(_files(out_dir)) - written - {MANIFEST})
    if others:
        shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
        raise ExportError(f"{out_dir} holds {len(others)} file(s) {whose} ({shown}); "
                          "replacing the folder would delete them, so it is left as it is: move them elsewhere, "
                          "or name a new folder")


def _earlier_export(folder: Path) -> bool:
    """Whether `folder`, without a MANIFEST, is a site a plan-kg from before the manifest exported: its index.html
    is plan-kg's home page, and the sitemap.xml and robots.txt every export writes are beside it."""
    try:
        home = (folder / "index.html").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return (folder / "sitemap.xml").is_file() and (folder / "robots.txt").is_file() and all(
        mark in home for mark in _HOME_MARKS)


def _manifest_files(manifest: Path) -> set[str]:
    try:
        content = json.loads(manifest.read_text(encoding="utf-8"))
        files = content["files"] if content.get("generator") == "plan-kg" else None
    except (OSError, UnicodeDecodeError, ValueError, AttributeError, KeyError, TypeError):
        files = None
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise ExportError(f"{manifest} is not the list of files plan-kg writes there, so the folder is left as it "
                          "is; name a new or empty folder")
    return set(files)


def _files(folder: Path) -> Iterator[str]:
    """Every entry under `folder` that is not a directory (a symlink counts as a file), relative, posix."""
    for directory, subdirectories, names in os.walk(folder):
        for name in [*names, *(d for d in subdirectories if os.path.islink(os.path.join(directory, d)))]:
            yield Path(directory, name).relative_to(folder).as_posix()


def publish_static(settings: Settings, *, out_dir: Path, endpoint: str | None = None,
                   site: str | None = None) -> StaticSite:
    """Write the static site of the built data (settings.dist_dir) into `out_dir`, replacing an earlier export there.

    `endpoint`: the SPARQL endpoint the pages' query form uses (default: `{site}sparql`);
    `site`: the URL the folder will be served at, for sitemap.xml and the links of 404.html (default:
    public_base_iri or base_iri).
    The site is written into a folder beside `out_dir` and put in its place only once complete, so a failed
    export leaves `out_dir` as it was. A non-empty `out_dir` is replaced only if an earlier export wrote it
    (its MANIFEST lists every file in it, or, from before the manifest, its home page is plan-kg's and this
    export writes every file in it again); anything else there is refused with ExportError, never deleted.
    """
    store = _store(settings)
    site = site or site_url(settings)
    endpoint = endpoint or f"{site}sparql"
    _check_out_dir(settings, out_dir)
    target = out_dir.resolve()  # a symlink to the folder keeps pointing at it
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-publishing-", dir=target.parent))
        staging.chmod(0o755)  # mkdtemp makes it private; the site is for publishing
    except OSError as exc:
        raise ExportError(f"cannot write beside {target}: {exc.strerror or exc}; name a folder you may write") from exc
    try:
        pages = _write_site(settings, store, staging, endpoint=endpoint, site=site)
        files = sorted(_files(staging))
        (staging / MANIFEST).write_text(json.dumps(
            {"generator": "plan-kg", "version": __version__, "files": files}, ensure_ascii=False, indent=0) + "\n",
            encoding="utf-8")
        _check_out_dir(settings, out_dir, new_files=set(files))  # again: more may be there by now
        _swap_in(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return StaticSite(out_dir=out_dir, pages=pages, files=len(files) + 1)  # and the manifest


def _swap_in(staging: Path, target: Path) -> None:
    """Put `staging` in the place of `target`; the earlier export is removed only once the new one is there, and is
    put back if the new one cannot be (also when interrupted between the two renames)."""
    if not target.exists():
        try:
            staging.rename(target)
        except OSError as exc:
            raise ExportError(f"cannot put the new site at {target}: {exc.strerror or exc}") from exc
        return
    retired = target.with_name(f".{target.name}-old-{time.time_ns()}")
    try:
        target.rename(retired)
    except OSError as exc:
        raise ExportError(f"cannot put the new site in place of {target}: {exc.strerror or exc}; the folder is left "
                          "as it was (a mount point cannot be replaced: publish into a folder inside it)") from exc
    try:
        staging.rename(target)
    except BaseException as exc:
        try:
            retired.rename(target)
        except OSError as again:
            raise ExportError(f"cannot put the new site in place of {target} ({exc}), nor the earlier one back "
                              f"({again.strerror or again}): the earlier site is in {retired}; rename it to "
                              f"{target.name}") from again
        if isinstance(exc, OSError):
            raise ExportError(f"cannot put the new site in place of {target}: {exc.strerror or exc}; the folder "
                              "is left as it was") from exc
        raise
    shutil.rmtree(retired, ignore_errors=True)


def _write_site(settings: Settings, store: ox.Store, out_dir: Path, *, endpoint: str, site: str) -> tuple[str, ...]:
    """Write every page and file of the site into the empty folder `out_dir`; return the pages."""
    from ..web import STATIC_DIR, Site, routes as web_routes  # the web side renders every page
    from ..dcat.routes import routes as dcat_routes

    writer = _Writer(settings, out_dir, endpoint, site)
    web = Site(settings, store)
    client = TestClient(Starlette(routes=[*web_routes(settings, store, web), *dcat_routes(settings)]))

    writer.page(client.get("/").text, "index.html")
    writer.page(web.static_not_found(), NOT_FOUND_PAGE)
    for path in _resource_paths(settings, store):
        for fmt in _OFFERED:
            response = client.get(f"{path}.{fmt.extension}")
            if response.status_code != 200:
                break  # the web side describes no such resource; nothing to link to
            if fmt.name == "html":
                writer.page(response.text, f"{path.lstrip('/')}.html")
            else:
                writer.file(f"{path.lstrip('/')}.{fmt.extension}", response.content)
    for fmt in _OFFERED[1:]:
        writer.file(f"ontology.{fmt.extension}", client.get(f"/ontology.{fmt.extension}").content)
    # The web side's page, as the server sends it: the one with an anchor for every term, where pages
    # link (ontology.html#Draft). pyLODE's page (dist/ontology.html) is below, under downloads/, as on the server.
    writer.page(client.get("/ontology.html").text, ONTOLOGY_HTML)
    for query in load_named_queries(settings):
        writer.file(f"queries/{query.name}.rq", query.text.encode("utf-8"))
    for path in sorted(p for p in settings.dist_dir.rglob("*")
                       if p.is_file() and not any(part.startswith(".") for part in p.relative_to(settings.dist_dir).parts)):
        relative = f"downloads/{path.relative_to(settings.dist_dir).as_posix()}"
        if path.suffix == ".html":
            writer.page(path.read_text(encoding="utf-8"), relative)
        else:
            writer.file(relative, path.read_bytes())
    for fmt in DOCUMENT_FORMATS:
        catalog = (settings.dist_dir / f"{CATALOG_STEM}.{fmt.extension}").read_bytes()
        writer.file(f"{CATALOG_STEM}.{fmt.extension}", catalog)
        # The catalog's publisher (id/agent/plan-kg) is described by the catalog alone: the server sends a
        # client there (303), and people to the home page; a static host serves the same as its documents.
        writer.file(f"{PUBLISHER_PATH}.{fmt.extension}", catalog)
    writer.page(client.get("/").text, f"{PUBLISHER_PATH}.html")
    writer.file(".well-known/void", (settings.dist_dir / VOID_FILE).read_bytes())
    writer.file(VOID_FILE, (settings.dist_dir / VOID_FILE).read_bytes())
    shutil.copytree(STATIC_DIR, out_dir / "assets" / "site")
    if (settings.dist_dir / ONTOLOGY_CSS).is_file():
        writer.file(STYLESHEET_PATH.lstrip("/"), (settings.dist_dir / ONTOLOGY_CSS).read_bytes())
    yasgui = settings.root / "node_modules" / "@zazuko" / "yasgui" / "build"
    if yasgui.is_dir():
        shutil.copytree(yasgui, out_dir / "assets" / "yasgui", ignore=shutil.ignore_patterns("*.map", "ts"))
    writer.finish()
    return tuple(sorted(writer.pages))


_OFFERED = (formats.by_name("html"), *(f for f in formats.for_kind(formats.Kind.GRAPH)))


class _Writer:
    """Writes files, and pages with their links made relative once every file is known."""

    def __init__(self, settings: Settings, out_dir: Path, endpoint: str, site: str) -> None:
        self.settings = settings
        self.out_dir = out_dir
        self.endpoint = endpoint
        self.site = site
        self.pending: dict[str, str] = {}  # page file -> HTML with server paths
        self.pages: list[str] = []

    def file(self, relative: str, content: bytes) -> None:
        target = self.out_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)

    def page(self, html: str, relative: str) -> None:
        self.pending[relative] = html
        self.file(relative, b"")  # exists now, so links to it resolve
        self.pages.append(relative)

    def finish(self) -> None:
        for relative, html in self.pending.items():
            html = _ENDPOINT_SHOWN.sub(lambda m: m.group(1) + escape(self.endpoint) + m.group(2), html)
            html = _LOCAL_BASE.sub("", html)
            html = html.replace("<head>", f'<head>\n<meta http-equiv="Content-Security-Policy" '
                                          f'content="{escape(self._policy(relative), {chr(34): "&quot;"})}">', 1)
            self.file(relative, self._relink(html, relative).encode("utf-8"))
        urls = "".join(f"<url><loc>{escape(self.site + _page_url(p))}</loc></url>\n"
                       for p in sorted(self.pages) if p != NOT_FOUND_PAGE)
        self.file("sitemap.xml", ('<?xml version="1.0" encoding="UTF-8"?>\n'
                                  '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
                                  f"{urls}</urlset>\n").encode("utf-8"))
        self.file("robots.txt", f"User-agent: *\nAllow: /\nSitemap: {self.site}sitemap.xml\n".encode("utf-8"))

    def _policy(self, page: str) -> str:
        """The Content-Security-Policy the server sends with `page`, as a static host may send none: in a <meta>
        element, without frame-ancestors (which a browser ignores there), and the endpoint's origin allowed for
        the query form and the query editor, which send queries to it."""
        from ..web.security import EDITOR_SECURITY_HEADERS, SECURITY_HEADERS

        policy = (EDITOR_SECURITY_HEADERS if page == "index.html" else SECURITY_HEADERS)["Content-Security-Policy"]
        parts = urlsplit(self.endpoint)
        origin = f" {parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
        directives = []
        for directive in policy.split("; "):
            if directive.startswith("frame-ancestors"):
                continue
            if origin and directive.startswith(("connect-src", "form-action")):
                directive += origin
            directives.append(directive)
        return "; ".join(directives)

    def _relink(self, html: str, page: str) -> str:
        def replace(match: re.Match[str]) -> str:
            name, value = match.group(1), match.group(2)
            return f'{name}="{self._target(value, page)}"'

        return _ATTRIBUTE.sub(replace, html)

    def _target(self, value: str, page: str) -> str:
        """`value` (a link on the server) as a link from `page` in the folder."""
        root = self.settings.public_path  # the server's links start with it; the folder's are relative
        if root and value.startswith(root + "/"):
            value = value[len(root):]
        if value == "/sparql" or value.startswith("/sparql?"):
            return self.endpoint + value[len("/sparql"):]
        if not value.startswith("/") or value.startswith("//"):
            return value  # another host, a fragment or already relative
        path, hash_, fragment = value.partition("#")
        path = path.split("?", 1)[0]
        if path == "/":
            target = "index.html"
        elif path.startswith(_NEGOTIATED) and not _has_offered_suffix(path):
            target = f"{path.lstrip('/')}.html"
        else:
            target = path.lstrip("/")
        if not (self.out_dir / target).is_file():
            # Something this build does not hold (another city's plan not built, say): link its IRI.
            return self.settings.base_iri + path.lstrip("/") + hash_ + fragment
        if page == NOT_FOUND_PAGE:  # sent for a missing path at any depth: from the root of the host
            return f"{urlsplit(self.site).path.rstrip('/')}/{target}{hash_}{fragment}"
        relative = posixpath.relpath(target, posixpath.dirname(page) or ".")
        return relative + hash_ + fragment


def _has_offered_suffix(path: str) -> bool:
    last = path.rsplit("/", 1)[-1]
    return "." in last and last.rsplit(".", 1)[1] in {f.extension for f in _OFFERED}


def _page_url(relative: str) -> str:
    return "" if relative == "index.html" else relative
