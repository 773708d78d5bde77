"""`plan-kg publish --static`: every link in the folder works from the folder, and everything is there."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner
from rdflib import RDF, Graph, URIRef
from rdflib.namespace import FOAF

from plan_kg.build import BuildResult
from plan_kg.cli import main
from plan_kg.config import Settings
from plan_kg.export import static
from plan_kg.export.static import MANIFEST, ExportError, StaticSite, publish_static

_LINK = re.compile(r'\b(?:href|src)="([^"]*)"')
SITE = "https://example.org/plans/"


@pytest.fixture(scope="module")
def site(built: BuildResult, tmp_path_factory: pytest.TempPathFactory) -> StaticSite:
    out = tmp_path_factory.mktemp("static") / "site"
    return publish_static(Settings.load(dist_dir=built.out_dir), out_dir=out, site=SITE,
                          endpoint="https://example.org/sparql")


@pytest.fixture(scope="module")
def site_under_a_path(built: BuildResult, tmp_path_factory: pytest.TempPathFactory) -> StaticSite:
    """Published by a deployment whose server is behind a proxy at /nishitokyo/: its pages' links start with that."""
    out = tmp_path_factory.mktemp("static") / "site"
    settings = Settings.load(dist_dir=built.out_dir, public_base_iri="https://data.example.jp/nishitokyo/")
    return publish_static(settings, out_dir=out, site=SITE, endpoint="https://example.org/sparql")


def _links(page: Path) -> list[str]:
    return _LINK.findall(page.read_text(encoding="utf-8"))


def test_every_local_link_resolves_to_a_file_in_the_folder(site: StaticSite) -> None:
    broken, checked = [], 0
    for page in site.out_dir.rglob("*.html"):
        if page.name == "404.html" and page.parent == site.out_dir:
            continue  # its links start at the host's root: the next test
        for link in _links(page):
            if re.match(r"^[a-z][a-z0-9+.-]*:", link) or link.startswith("#"):
                continue  # another host (an IRI outside this build, the endpoint) or the same page
            assert not link.startswith("/"), f"{page}: {link} is not relative"
            checked += 1
            if not (page.parent / link.split("#", 1)[0]).resolve().is_file():
                broken.append(f"{page.relative_to(site.out_dir)} -> {link}")
    assert checked > 1000
    assert not broken, broken[:20]


def test_the_path_the_server_is_served_under_changes_no_link_of_the_folder(
        site: StaticSite, site_under_a_path: StaticSite) -> None:
    """The folder's links are relative, wherever the server's pages are served."""
    assert site_under_a_path.pages == site.pages
    differ = [page for page in site.pages
              if _links(site_under_a_path.out_dir / page) != _links(site.out_dir / page)]
    assert not differ, differ[:10]


def test_the_rdf_documents_are_the_same_bytes_in_every_export(site: StaticSite, site_under_a_path: StaticSite) -> None:
    """Two exports of one build: each loads the dump afresh, and its load named the blank nodes (the ontology's
    property chains, the UN KOS's lists) at random, which graph/ontology.ttl, graph/un-sdg-kos.nt … were written with."""
    documents = sorted(path.relative_to(site.out_dir).as_posix() for path in site.out_dir.rglob("*")
                       if path.suffix in (".ttl", ".nt", ".rdf", ".jsonld"))
    assert {"graph/ontology.ttl", "graph/un-sdg-kos.nt", "ontology.rdf"} <= set(documents)
    differ = [path for path in documents
              if (site.out_dir / path).read_bytes() != (site_under_a_path.out_dir / path).read_bytes()]
    assert not differ, differ


def test_every_link_into_the_ontology_page_lands_on_an_anchor(site: StaticSite) -> None:
    ontology = site.out_dir / "ontology.html"
    anchors = set(re.findall(r'\bid="([^"]*)"', ontology.read_text(encoding="utf-8")))
    missing, checked = set(), 0
    for page in site.out_dir.rglob("*.html"):
        for link in _links(page):
            target, _, fragment = link.partition("#")
            if fragment and target and (page.parent / target).resolve() == ontology.resolve():
                checked += 1
                if fragment not in anchors:
                    missing.add(f"{page.relative_to(site.out_dir)} -> {link}")
    assert checked > 100  # pages link their status, completeness, SDG link method, classes and properties
    assert not missing, sorted(missing)[:20]


def test_a_page_per_resource_and_the_data_beside_it(site: StaticSite, built: BuildResult) -> None:
    out = site.out_dir
    for plan in built.plans:
        stem = plan.iri.split("/id/", 1)[1]
        for suffix in ("html", "ttl", "jsonld", "nt", "rdf"):
            assert (out / "id" / f"{stem}.{suffix}").is_file()
    page = (out / "id" / "132292" / "basic-plan-3" / "1-3-2.html").read_text(encoding="utf-8")
    assert 'href="../../../assets/site/style.css"' in page
    assert Graph().parse(out / "id" / "132292" / "basic-plan-3" / "1-3-2.ttl")


def test_dumps_catalog_void_docs_sitemap_and_robots(site: StaticSite, built: BuildResult) -> None:
    out = site.out_dir
    for name in ("plan-kg.nq", "plan-kg.trig", "plan-kg.nt", "shapes.ttl", "ontology.ttl"):
        assert (out / "downloads" / name).read_bytes() == (built.out_dir / name).read_bytes()
    # The build record (what dist/ was built from, for `plan-kg serve`) is not published.
    assert (built.out_dir / ".plan-kg-build.json").is_file() and not (out / "downloads" / ".plan-kg-build.json").exists()
    for name in ("catalog.ttl", "catalog.jsonld", "catalog.rdf", "catalog.nt", ".well-known/void", "ontology.html",
                 "index.html"):
        assert (out / name).is_file(), name
    locs = [e.text for e in ElementTree.parse(out / "sitemap.xml").getroot().iter(
        "{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
    assert SITE in locs and f"{SITE}id/132292/basic-plan-3.html" in locs
    assert len(locs) == len(site.pages) - 1  # every page but 404.html, which no URL of its own shows
    assert f"Sitemap: {SITE}sitemap.xml" in (out / "robots.txt").read_text(encoding="utf-8")


def test_a_missing_path_at_any_depth_gets_the_sites_not_found_page(site: StaticSite) -> None:
    """Static hosts send 404.html for every path the folder lacks, at any depth, where no relative link holds
    (nor a <base>: the pages' policy has base-uri 'none'); its links start at the path of the site's URL."""
    page = site.out_dir / "404.html"
    html = page.read_text(encoding="utf-8")
    assert "見つかりません" in html and "There is no page at this address on this site." in html
    assert "on this server" not in html  # which path was asked for, the one file cannot say
    local = [link for link in _links(page) if not re.match(r"^[a-z][a-z0-9+.-]*:", link)]
    assert {"/plans/assets/site/style.css", "/plans/index.html", "/plans/id/132292/basic-plan-3.html"} <= set(local)
    broken = [link for link in local
              if not link.startswith("/plans/") or not (site.out_dir / link[len("/plans/"):].split("#")[0]).is_file()]
    assert not broken, broken
    assert "404.html" in site.pages
    assert "404.html" in json.loads((site.out_dir / MANIFEST).read_text(encoding="utf-8"))["files"]
    assert "404.html" not in (site.out_dir / "sitemap.xml").read_text(encoding="utf-8")


def test_the_catalogs_publisher_is_a_document_of_the_folder_too(site: StaticSite, built: BuildResult) -> None:
    """The server sends a client asking for the publisher's IRI to the catalog (303) and people home; the
    static site has the same at the IRI's path (a crawler of the catalog got a 404 there)."""
    agent = site.out_dir / "id" / "agent" / "plan-kg"
    for extension in ("ttl", "jsonld", "rdf", "nt"):
        assert agent.with_suffix(f".{extension}").read_bytes() == (built.out_dir / f"catalog.{extension}").read_bytes()
    publisher = f"{Settings().base_iri}id/agent/plan-kg"
    assert (URIRef(publisher), RDF.type, FOAF.Agent) in Graph().parse(agent.with_suffix(".ttl"), format="turtle")
    page = agent.with_suffix(".html").read_text(encoding="utf-8")  # the home page, its links from two folders down
    home = (site.out_dir / "index.html").read_text(encoding="utf-8")
    assert page.count("<h1") == home.count("<h1") == 1 and 'href="../../downloads/catalog.ttl"' in page
    assert "id/agent/plan-kg.html" in site.pages


def test_the_query_form_points_at_the_endpoint(site: StaticSite) -> None:
    home = (site.out_dir / "index.html").read_text(encoding="utf-8")
    assert 'action="https://example.org/sparql"' in home
    assert '<code class="endpoint">https://example.org/sparql</code>' in home  # the text a reader copies, too
    assert '"/sparql"' not in home
    # Result IRIs in the query editor are left as they are: the folder's pages are not the server's paths
    assert 'id="yasgui"' in home and "data-local-base" not in home


def test_refuses_to_replace_a_folder_that_is_not_a_site(built: BuildResult, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ExportError, match="not empty"):
        publish_static(Settings.load(dist_dir=built.out_dir), out_dir=tmp_path)
    assert (tmp_path / "notes.txt").is_file()


def test_a_folder_that_merely_holds_a_sitemap_is_left_alone(built: BuildResult, tmp_path: Path) -> None:
    """A sitemap.xml proves nothing: only the export's own manifest lets it replace a folder."""
    folder = tmp_path / "scratch"
    (folder / "blog").mkdir(parents=True)
    (folder / "important.txt").write_text("keep", encoding="utf-8")
    (folder / "sitemap.xml").write_text("<urlset/>", encoding="utf-8")
    (folder / "blog" / "p.html").write_text("post", encoding="utf-8")
    result = CliRunner().invoke(main, ["--out", str(built.out_dir), "publish", "--static", str(folder)])
    assert result.exit_code == 2, result.output
    assert MANIFEST in result.output and "name a new or empty folder" in result.output
    assert "Traceback" not in result.output
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")) == [
        "blog", "blog/p.html", "important.txt", "sitemap.xml"]
    assert (folder / "important.txt").read_text(encoding="utf-8") == "keep"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left beside it


def test_the_manifest_lists_every_file_of_the_folder(site: StaticSite) -> None:
    manifest = json.loads((site.out_dir / MANIFEST).read_text(encoding="utf-8"))
    on_disk = sorted(p.relative_to(site.out_dir).as_posix() for p in site.out_dir.rglob("*") if p.is_file())
    assert manifest["generator"] == "plan-kg"
    assert sorted([*manifest["files"], MANIFEST]) == on_disk
    assert site.files == len(on_disk)


def test_a_failed_export_leaves_the_earlier_one_as_it_was(built: BuildResult, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    settings, out, before = _published(built, tmp_path)

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(static._Writer, "page", broken)
    with pytest.raises(OSError):
        publish_static(settings, out_dir=out)
    after = _snapshot(out)
    assert after == before, f"{len(set(after.items()) ^ set(before.items()))} files differ"
    assert [p.name for p in tmp_path.iterdir()] == ["site"]  # the half-written one is gone


def test_an_interrupt_between_the_renames_puts_the_earlier_site_back(built: BuildResult, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    settings, out, before = _published(built, tmp_path)
    renamed = Path.rename

    def interrupted(self: Path, target: Path) -> Path:
        if self.name.startswith(".site-publishing-"):  # the new site, about to take the earlier one's place
            raise KeyboardInterrupt
        return renamed(self, target)

    monkeypatch.setattr(Path, "rename", interrupted)
    with pytest.raises(KeyboardInterrupt):
        publish_static(settings, out_dir=out)
    monkeypatch.undo()
    assert _snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["site"]  # neither the new one nor a retired copy is left


def test_a_folder_inside_dist_is_refused(built: BuildResult, tmp_path: Path) -> None:
    # Its files would be copied into the site's downloads/, the earlier site's with them, on every run.
    dist = tmp_path / "dist"
    shutil.copytree(built.out_dir, dist)
    with pytest.raises(ExportError, match=r"is inside .*dist.*name a folder outside it"):
        publish_static(Settings.load(dist_dir=dist), out_dir=dist / "site")
    assert not (dist / "site").exists()


def test_files_in_dot_folders_of_dist_are_not_published(built: BuildResult, tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    shutil.copytree(built.out_dir, dist)
    (dist / ".scratch").mkdir()
    (dist / ".scratch" / "notes.ttl").write_text("# not for publishing\n", encoding="utf-8")
    site = publish_static(Settings.load(dist_dir=dist), out_dir=tmp_path / "site")
    assert (site.out_dir / "downloads" / "plan-kg.nq").is_file()
    assert not any(".scratch" in p.parts for p in site.out_dir.rglob("*"))


def _published(built: BuildResult, tmp_path: Path) -> tuple[Settings, Path, dict[str, str]]:
    """The settings of `built`, the folder `tmp_path/site` an export of it was just written to, and its snapshot."""
    settings = Settings.load(dist_dir=built.out_dir)
    out = tmp_path / "site"
    publish_static(settings, out_dir=out)
    return settings, out, _snapshot(out)


def _snapshot(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in folder.rglob("*") if p.is_file()}


def test_an_earlier_export_is_replaced_only_while_it_holds_nothing_else(built: BuildResult, tmp_path: Path) -> None:
    settings = Settings.load(dist_dir=built.out_dir)
    out = tmp_path / "site"
    publish_static(settings, out_dir=out)
    # A page an earlier export wrote and this one does not (its manifest lists it) goes with the rest.
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    (out / "id" / "gone.html").write_text("old", encoding="utf-8")
    manifest["files"].append("id/gone.html")
    (out / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    publish_static(settings, out_dir=out)
    assert not (out / "id" / "gone.html").exists() and (out / "index.html").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["site"]  # nor the earlier one's folder left beside it

    # A file somebody added (a host's CNAME) would be lost: the folder is refused and kept as it is.
    (out / "CNAME").write_text("plans.example.jp", encoding="utf-8")
    files = sorted(p for p in out.rglob("*") if p.is_file())
    with pytest.raises(ExportError, match=r"1 file\(s\) the earlier export did not write \(CNAME\)"):
        publish_static(settings, out_dir=out)
    assert sorted(p for p in out.rglob("*") if p.is_file()) == files
    assert (out / "CNAME").read_text(encoding="utf-8") == "plans.example.jp"


def test_an_export_from_before_the_manifest_is_replaced_while_it_holds_only_files_written_again(
        built: BuildResult, tmp_path: Path) -> None:
    """A plan-kg from before the manifest wrote none: its folder (plan-kg's home page beside sitemap.xml and
    robots.txt) is replaced while every file in it is one the new export writes, and else refused as it is."""
    settings, out, _ = _published(built, tmp_path)
    (out / MANIFEST).unlink()
    publish_static(settings, out_dir=out)
    assert (out / MANIFEST).is_file() and (out / "index.html").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["site"]

    (out / MANIFEST).unlink()
    (out / "id" / "notes.txt").write_text("mine", encoding="utf-8")
    before = _snapshot(out)
    with pytest.raises(ExportError, match=r"1 file\(s\) this export does not write again \(id/notes.txt\)"):
        publish_static(settings, out_dir=out)
    assert _snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["site"]  # the new site written to check was removed


def test_a_folder_with_a_home_page_not_plan_kgs_is_refused(built: BuildResult, tmp_path: Path) -> None:
    """The files an export writes at the top, but a home page of somebody else's: not a site plan-kg wrote."""
    folder = tmp_path / "site"
    folder.mkdir()
    for name in ("index.html", "sitemap.xml", "robots.txt"):
        (folder / name).write_text("<title>My plans — notes</title>", encoding="utf-8")
    with pytest.raises(ExportError, match="nor a plan-kg home page index.html"):
        publish_static(Settings.load(dist_dir=built.out_dir), out_dir=folder)
    assert sorted(p.name for p in folder.iterdir()) == ["index.html", "robots.txt", "sitemap.xml"]
    assert (folder / "index.html").read_text(encoding="utf-8") == "<title>My plans — notes</title>"


def test_cli_without_a_build_says_what_to_do(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--out", str(tmp_path / "none"), "publish", "--static", str(tmp_path / "s")])
    assert result.exit_code == 2
    assert "plan-kg build" in result.output


def test_every_download_url_in_the_catalog_is_a_file_of_the_folder(site: StaticSite, built: BuildResult) -> None:
    from rdflib.namespace import DCAT

    from plan_kg.dcat.catalog import site_url

    prefix = site_url(Settings.load(dist_dir=built.out_dir))
    catalog = Graph().parse(site.out_dir / "catalog.ttl")
    urls = [str(u) for u in catalog.objects(None, DCAT.downloadURL)]
    assert urls and all(u.startswith(prefix) and (site.out_dir / u[len(prefix):]).is_file() for u in urls)


def test_every_page_carries_the_servers_security_policy_in_a_meta_element(site: StaticSite) -> None:
    """A static host sends no Content-Security-Policy: each page states the server's, allowing the endpoint's origin
    for the query form and editor (frame-ancestors is left out: a browser ignores it in <meta>)."""
    from plan_kg.web.security import SECURITY_HEADERS

    for page in site.pages:
        html = (site.out_dir / page).read_text(encoding="utf-8")
        head = html[html.index("<head>"):html.index("</head>")]
        found = re.search(r'<head>\n<meta http-equiv="Content-Security-Policy" content="([^"]*)">', head)
        assert found, page
        policy = found[1]
        assert "script-src 'self'" in policy and "object-src 'none'" in policy and "frame-ancestors" not in policy
        assert "connect-src 'self' https://example.org" in policy and "form-action 'self' https://example.org" in policy
        assert ("style-src-elem" in policy) == (page == "index.html"), page  # the query editor's one <style>
        assert policy.startswith(SECURITY_HEADERS["Content-Security-Policy"].split(";")[0])
