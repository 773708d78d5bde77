"""`plan-kg publish --static DIR` and `plan-kg push --graph-store URL`: parse options, call one function."""

from __future__ import annotations

import os
from pathlib import Path

import click

from ..errors import PlanKgError


@click.command()
@click.option("--static", "static_dir", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Folder to write the static site into: new, empty, or one an earlier export wrote (replaced; "
                   "a folder holding anything else is refused, never emptied).")
@click.option("--endpoint", default=None,
              help="SPARQL endpoint the pages' query form uses. Default: the site URL + sparql.")
@click.option("--site-url", default=None,
              help="URL the folder will be served at, for sitemap.xml and the links of 404.html. "
                   "Default: public_base_iri or the base IRI.")
@click.pass_context
def publish(ctx: click.Context, static_dir: Path, endpoint: str | None, site_url: str | None) -> None:
    """Write the built data as a static web site: pages, dumps, catalog, VoID, ontology docs, sitemap, 404 page.

    Any static host can serve the folder (GitHub Pages, Netlify, S3, `python -m http.server`);
    every link in it is relative, but in 404.html (from the path of --site-url). Run `plan-kg build`
    first. The site is written beside the folder and put in its place once complete, so a failed
    export leaves the folder as it was.
    """
    from ..cli import fail
    from .static import publish_static

    if site_url is not None and not site_url.endswith("/"):
        site_url += "/"
    try:
        site = publish_static(ctx.obj["settings"], out_dir=static_dir, endpoint=endpoint, site=site_url)
    except PlanKgError as exc:
        fail(exc)
    click.echo(f"wrote {len(site.pages)} pages, {site.files} files in {site.out_dir}")


@click.command()
@click.option("--graph-store", required=True,
              help="Graph Store Protocol endpoint, e.g. http://localhost:7878/store (Oxigraph), "
                   "http://localhost:3030/plan-kg/data (Fuseki).")
@click.option("--user", default=None,
              help="User for HTTP authentication (Basic or Digest, as the store asks); the password is read from "
                   "PLAN_KG_GRAPH_STORE_PASSWORD.")
@click.pass_context
def push(ctx: click.Context, graph_store: str, user: str | None) -> None:
    """Put every named graph of the build into a triplestore (SPARQL 1.1 Graph Store Protocol, PUT per graph).

    Replaces those graphs only; other graphs in the store are left alone. Run `plan-kg build` first.
    """
    from ..cli import fail
    from .push import push_graphs

    try:
        result = push_graphs(ctx.obj["settings"].dist_dir, graph_store=graph_store, user=user,
                             password=os.environ.get("PLAN_KG_GRAPH_STORE_PASSWORD"))
    except PlanKgError as exc:
        fail(exc)
    for graph in result.graphs:
        click.echo(f"{graph.status} <{graph.iri}>: {graph.triples} triples")
    click.echo(f"pushed {len(result.graphs)} graphs to {result.graph_store}")
