"""Read a DCAT catalog as a CKAN portal harvests it: ckanext-dcat's RDF parser, DCAT-AP 3 profile.

Run by tests/test_dcat_ckan.py with the Python of CKAN's own virtual environment (.cache/ckan-venv),
never imported by plan-kg's tests themselves:

    .cache/ckan-venv/bin/python tests/ckan_harvest.py CATALOG FORMAT [--licenses JSON] [--locale ja]

Prints the CKAN datasets the parser makes (JSON, one list). `--licenses` is the portal's license list
(CKAN's `licenses_group_url`), against which the parser matches `dct:license`; `--locale` the portal's
language (`ckan.locale_default`), which picks among a title's languages.
"""

import argparse
import json
import sys
from pathlib import Path


def main() -> None:
    arguments = argparse.ArgumentParser()
    arguments.add_argument("catalog", type=Path)
    arguments.add_argument("format")
    arguments.add_argument("--licenses", type=Path)
    arguments.add_argument("--locale", default="en")
    options = arguments.parse_args()
    catalog, rdf_format = options.catalog, options.format
    from ckan.common import config

    config["ckan.locale_default"] = options.locale
    if options.licenses:
        config["licenses_group_url"] = options.licenses.resolve().as_uri()
    from ckanext.dcat.processors import RDFParser

    parser = RDFParser(profiles=["euro_dcat_ap_3"])
    parser.parse(catalog.read_text(encoding="utf-8"), _format=rdf_format)
    json.dump(list(parser.datasets()), sys.stdout, ensure_ascii=False, default=str)


if __name__ == "__main__":
    main()
