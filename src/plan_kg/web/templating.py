"""The Jinja environment of every HTML page: the server's pages, the static site and query results."""

from __future__ import annotations

import functools

import jinja2

from .. import __version__


@functools.cache
def environment() -> jinja2.Environment:
    """The templates of `plan_kg.web`, each literal and IRI escaped (autoescape), undefined names an error."""
    templates = jinja2.Environment(
        loader=jinja2.PackageLoader("plan_kg.web", "templates"),
        autoescape=True,  # every page is HTML; every literal and IRI is escaped
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    templates.globals["version"] = __version__
    return templates
