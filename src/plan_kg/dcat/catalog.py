"""The DCAT-AP 3.0.1 catalog of the published data: one dcat:Dataset per plan.

Each plan's dataset *is* the plan: its IRI is the plan IRI (`{base}id/{code}/{plan_id}`),
already a pkg:Plan and skos:ConceptScheme. DCAT-AP's shapes allow that: the Dataset and
ConceptScheme shapes ask for dct:title and dct:description, which the plan has or gets
here, and the values the plan graph already states (dct:title, dct:issued, dct:license)
are the very ones the catalog states, so the maxCount 1 of dct:issued still holds when the
catalog and the plan data are merged in one store. A separate `{plan}/dataset` IRI would
only add a second name for the same thing.

What the catalog itself mints (distributions, the SPARQL service, the publisher, the plan
period) are hash IRIs of the catalog document, `{base}catalog#…`, so each dereferences to
the catalog. Download URLs are where the web side serves dist/: `{site}downloads/{path}`.
Nothing here reads a clock: the same sources and files give the same catalog.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rdflib import RDF, RDFS, XSD, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, SKOS

from .. import __version__, formats
from ..config import Settings
from ..iris import PKG, municipality_iri, plan_iri
from ..rdf import new_graph
from ..source import PlanSource

VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
EU = "http://publications.europa.eu/resource/authority/"
IANA = "http://www.iana.org/assignments/media-types/"
ADMS_PUBLISHER_TYPE = Namespace("http://purl.org/adms/publishertype/")
ADMS_LICENCE_TYPE = Namespace("http://purl.org/adms/licencetype/")
DCATAP_AVAILABILITY = URIRef("http://data.europa.eu/r5r/availability")
SPARQL_PROTOCOL = URIRef("https://www.w3.org/TR/sparql11-protocol/")
DCAT_VERSION = URIRef("http://www.w3.org/ns/dcat#version")  # DCAT 3; not in rdflib's DCAT namespace
CC_BY_4 = "https://creativecommons.org/licenses/by/4.0/"

#: EU data themes (http://publications.europa.eu/resource/authority/data-theme) of a comprehensive plan.
THEMES = {
    "GOVE": ("政府・公共部門", "Government and public sector"),
    "REGI": ("地域・都市", "Regions and cities"),
}
#: EU file types (…/authority/file-type) of the formats in `plan_kg.formats` that are published.
FILE_TYPES = {
    "turtle": "RDF_TURTLE",
    "jsonld": "JSON_LD",
    "ntriples": "RDF_N_TRIPLES",
    "nquads": "RDF_N_QUADS",
    "trig": "RDF_TRIG",
    "rdfxml": "RDF_XML",
    "csv": "CSV",
}
LANGUAGES = {"JPN": ("日本語", "Japanese"), "ENG": ("英語", "English")}
KEYWORDS = (("総合計画", "ja"), ("基本計画", "ja"), ("自治体", "ja"), ("オープンデータ", "ja"),
            ("comprehensive plan", "en"), ("municipality", "en"), ("linked open data", "en"), ("SDGs", "en"))
LICENCE_NOTE = (
    ("CC BY 4.0。政府標準利用規約（第2.0版）に準拠したデータと互換です。出典を表示してください：「plan-kg（原典：各自治体の総合計画）」。", "ja"),
    ("CC BY 4.0, compatible with the Japanese Government Standard Terms of Use 2.0 (政府標準利用規約 第2.0版). "
     "Attribute as: plan-kg (source: each municipality's comprehensive plan).", "en"),
)
#: What each per-plan file is, for its dct:description.
_PLAN_FILE_NOTES = {
    "turtle": ("計画の全要素（推論結果を含む）Turtle", "Every element of the plan, asserted and inferred, in Turtle"),
    "jsonld": ("計画の全要素（推論結果を含む）JSON-LD", "Every element of the plan, asserted and inferred, in JSON-LD"),
    "csv": ("計画の要素の一覧表（UTF-8 BOM付き）", "The plan's elements as a table (UTF-8 with BOM)"),
}
_DUMP_NOTES = {
    "trig": ("全名前付きグラフ（TriG）", "Every named graph in TriG"),
    "nquads": ("全名前付きグラフ（N-Quads）", "Every named graph in N-Quads"),
    "ntriples": ("全トリプルを併合（N-Triples）", "Every triple of every graph, merged, in N-Triples"),
}
#: The catalog's publisher, under the base IRI; described by the catalog alone.
PUBLISHER_PATH = "id/agent/plan-kg"


def site_url(settings: Settings) -> str:
    """Where the base IRI's documents are served: `public_base_iri` when set, else the base IRI."""
    return settings.public_base_iri or settings.base_iri


def catalog_iri(settings: Settings) -> URIRef:
    return URIRef(f"{settings.base_iri}catalog")


def _hash(settings: Settings, fragment: str) -> URIRef:
    return URIRef(f"{catalog_iri(settings)}#{fragment}")


def all_plans_iri(settings: Settings) -> URIRef:
    """The dataset of every plan together: the dumps and the SPARQL endpoint serve it."""
    return _hash(settings, "plan-kg")


def sparql_service_iri(settings: Settings) -> URIRef:
    return _hash(settings, "sparql-service")


def download_url(settings: Settings, relative_path: str) -> URIRef:
    return URIRef(f"{site_url(settings)}downloads/{relative_path}")


def _both(g: Graph, s: URIRef, p: URIRef, pair: tuple[str, str]) -> None:
    g.add((s, p, Literal(pair[0], lang="ja")))
    g.add((s, p, Literal(pair[1], lang="en")))


def modified_date(plans: Sequence[PlanSource], ontology: Graph) -> dt.date:
    """The newest date the sources state: a plan's issue date or the ontology's dcterms:modified."""
    dates = [p.metadata.issued for p in plans]
    dates += [o.toPython() for o in ontology.objects(None, DCTERMS.modified) if isinstance(o.toPython(), dt.date)]
    return max(dates)


def catalog_graph(settings: Settings, *, plans: Sequence[PlanSource], file_sizes: Mapping[str, int],
                  modified: dt.date) -> Graph:
    """The catalog of `plans` with their files (`file_sizes`: path under dist/ -> bytes)."""
    g = new_graph(catalog_iri(settings))
    g.bind("vcard", VCARD)
    site = site_url(settings)
    cat = catalog_iri(settings)
    publisher = URIRef(settings.base_iri + PUBLISHER_PATH)
    contact = _hash(settings, "contact")
    licence = URIRef(CC_BY_4)
    rights = _hash(settings, "rights")
    service = sparql_service_iri(settings)
    taxonomy = URIRef(EU + "data-theme")

    g.add((cat, RDF.type, DCAT.Catalog))
    _both(g, cat, DCTERMS.title, ("plan-kg：自治体総合計画のオープンデータ", "plan-kg: municipal comprehensive plans as linked open data"))
    _both(g, cat, DCTERMS.description, (
        "日本の市区町村の総合計画（基本構想・基本計画）の体系を、計画・基本目標・施策・基本施策・取組ごとにIRIで参照できるRDFとして公開するカタログ。",
        "Catalog of Japanese municipalities' comprehensive plans (総合計画) published as RDF: every plan, basic goal, "
        "policy, measure and initiative has its own IRI."))
    g.add((cat, DCTERMS.publisher, publisher))
    g.add((cat, FOAF.homepage, URIRef(site)))
    g.add((cat, DCTERMS.license, licence))
    g.add((cat, DCTERMS.rights, rights))
    g.add((cat, DCTERMS.issued, Literal(min(p.metadata.issued for p in plans))))
    g.add((cat, DCTERMS.modified, Literal(modified)))
    g.add((cat, DCAT.themeTaxonomy, taxonomy))
    g.add((cat, DCAT.service, service))
    g.add((cat, DCAT.dataset, all_plans_iri(settings)))
    g.add((URIRef(site), RDF.type, FOAF.Document))

    # Agents, licence, vocabularies: the range shapes are closed-world, so each carries its class here.
    g.add((publisher, RDF.type, FOAF.Agent))
    g.add((publisher, RDF.type, FOAF.Organization))
    _both(g, publisher, FOAF.name, ("plan-kg 開発者", "plan-kg developers"))
    g.add((publisher, DCTERMS.type, ADMS_PUBLISHER_TYPE.NonProfitOrganisation))
    _concept(g, ADMS_PUBLISHER_TYPE.NonProfitOrganisation, "Non-Profit Organisation", ADMS_PUBLISHER_TYPE["1.0"])
    g.add((contact, RDF.type, VCARD.Organization))
    g.add((contact, RDF.type, VCARD.Kind))
    _both(g, contact, VCARD.fn, ("plan-kg 開発者", "plan-kg developers"))
    g.add((contact, VCARD.hasURL, URIRef(site)))
    g.add((licence, RDF.type, DCTERMS.LicenseDocument))
    g.add((licence, RDFS.label, Literal("Creative Commons Attribution 4.0 International (CC BY 4.0)", lang="en")))
    g.add((licence, DCTERMS.type, ADMS_LICENCE_TYPE.Attribution))
    _concept(g, ADMS_LICENCE_TYPE.Attribution, "Attribution", ADMS_LICENCE_TYPE["1.0"])
    g.add((rights, RDF.type, DCTERMS.RightsStatement))
    for text, lang in LICENCE_NOTE:
        g.add((rights, RDFS.label, Literal(text, lang=lang)))
    for code, labels in THEMES.items():
        _authority(g, "data-theme", code, labels)
    for code, labels in LANGUAGES.items():
        language = _authority(g, "language", code, labels)
        g.add((language, RDF.type, DCTERMS.LinguisticSystem))
        g.add((cat, DCTERMS.language, language))
    for plan in plans:  # harvesters follow dcat:dataset from the catalog: every plan is listed, not only the whole
        g.add((cat, DCAT.dataset, _plan(settings, plan)))
        g.add((cat, DCTERMS.spatial, municipality_iri(settings.base_iri, plan.metadata.municipality.code)))

    common = _Common(publisher=publisher, contact=contact, licence=licence, rights=rights, service=service)
    _sparql_service(g, settings, plans, common)
    _all_plans(g, settings, plans, file_sizes, common, modified)
    for plan in plans:
        _plan_dataset(g, settings, plan, file_sizes, common)
    return g


@dataclass(frozen=True)
class _Common:
    """Nodes every dataset, distribution and the service point to."""

    publisher: URIRef
    contact: URIRef
    licence: URIRef
    rights: URIRef
    service: URIRef


#: Titles of the controlled vocabularies the catalog uses (a skos:ConceptScheme needs a dct:title).
_SCHEME_TITLES = {
    EU + "data-theme": "Data theme",
    EU + "language": "Language",
    EU + "file-type": "File type",
    EU + "access-right": "Access right",
    EU + "planned-availability": "Planned availability",
    str(ADMS_PUBLISHER_TYPE) + "1.0": "ADMS publisher type",
    str(ADMS_LICENCE_TYPE) + "1.0": "ADMS licence type",
}


def _concept(g: Graph, concept: URIRef, labels: str | tuple[str, str], scheme: URIRef) -> None:
    g.add((concept, RDF.type, SKOS.Concept))
    g.add((concept, SKOS.inScheme, scheme))
    g.add((scheme, RDF.type, SKOS.ConceptScheme))
    g.add((scheme, DCTERMS.title, Literal(_SCHEME_TITLES[str(scheme)], lang="en")))
    if isinstance(labels, str):
        g.add((concept, SKOS.prefLabel, Literal(labels, lang="en")))
    else:
        _both(g, concept, SKOS.prefLabel, labels)


def _authority(g: Graph, table: str, code: str, labels: str | tuple[str, str]) -> URIRef:
    """A term of an EU authority table (…/resource/authority/{table}/{code}), with its scheme."""
    term = URIRef(f"{EU}{table}/{code}")
    _concept(g, term, labels, URIRef(EU + table))
    return term


def _describe_common(g: Graph, node: URIRef, common: _Common) -> None:
    """What every dataset and the service share: publisher, contact, themes, keywords, licence."""
    g.add((node, DCTERMS.publisher, common.publisher))
    g.add((node, DCAT.contactPoint, common.contact))
    for code in THEMES:
        g.add((node, DCAT.theme, URIRef(f"{EU}data-theme/{code}")))
    for text, lang in KEYWORDS:
        g.add((node, DCAT.keyword, Literal(text, lang=lang)))
    g.add((node, DCTERMS.license, common.licence))


def _dataset_common(g: Graph, dataset: URIRef, common: _Common) -> None:
    _describe_common(g, dataset, common)
    public = _authority(g, "access-right", "PUBLIC", ("公開", "public"))
    g.add((dataset, DCTERMS.accessRights, public))
    g.add((public, RDF.type, DCTERMS.RightsStatement))
    for code in LANGUAGES:
        g.add((dataset, DCTERMS.language, URIRef(f"{EU}language/{code}")))
    g.add((dataset, DCAT_VERSION, Literal(__version__)))


def _sparql_service(g: Graph, settings: Settings, plans: Sequence[PlanSource], common: _Common) -> None:
    service = common.service
    endpoint = URIRef(f"{site_url(settings)}sparql")
    g.add((service, RDF.type, DCAT.DataService))
    _both(g, service, DCTERMS.title, ("plan-kg SPARQL エンドポイント", "plan-kg SPARQL endpoint"))
    _both(g, service, DCTERMS.description, (
        "全計画を問い合わせできる読み取り専用の SPARQL 1.1 エンドポイント。GET で問い合わせなしに要求するとサービス記述を返します。",
        "Read-only SPARQL 1.1 endpoint over every plan; a GET without a query returns its service description."))
    g.add((service, DCAT.endpointURL, endpoint))
    g.add((service, DCAT.endpointDescription, endpoint))
    g.add((service, DCTERMS.conformsTo, SPARQL_PROTOCOL))
    g.add((SPARQL_PROTOCOL, RDF.type, DCTERMS.Standard))
    g.add((service, DCAT.servesDataset, all_plans_iri(settings)))
    for plan in plans:
        g.add((service, DCAT.servesDataset, _plan(settings, plan)))
    _describe_common(g, service, common)


_ALL_PLANS_TITLE = ("plan-kg 全データ", "plan-kg: all plans")


def _plan(settings: Settings, plan: PlanSource) -> URIRef:
    return plan_iri(settings.base_iri, plan.metadata.municipality.code, plan.metadata.plan_id)


def _distribution(g: Graph, settings: Settings, dataset: URIRef, fragment: str, relative_path: str,
                  fmt_name: str, note: tuple[str, str], file_sizes: Mapping[str, int], common: _Common, *,
                  title: tuple[str, str]) -> None:
    """A file of `dataset`, titled by the dataset's `title` (ja, en) and the file's format: a portal (CKAN)
    shows a distribution's title as the resource's name."""
    fmt = formats.by_name(fmt_name)
    dist = _hash(settings, fragment)
    url = download_url(settings, relative_path)
    g.add((dataset, DCAT.distribution, dist))
    g.add((dist, RDF.type, DCAT.Distribution))
    _both(g, dist, DCTERMS.title, (f"{title[0]}（{fmt.label}）", f"{title[1]} ({fmt.label})"))
    _both(g, dist, DCTERMS.description, note)
    g.add((dist, DCAT.accessURL, url))
    g.add((dist, DCAT.downloadURL, url))
    media_type = URIRef(IANA + fmt.media_type)
    g.add((dist, DCAT.mediaType, media_type))
    g.add((media_type, RDF.type, DCTERMS.MediaType))
    file_type = _authority(g, "file-type", FILE_TYPES[fmt.name], fmt.name)
    g.add((dist, DCTERMS.format, file_type))
    g.add((file_type, RDF.type, DCTERMS.MediaTypeOrExtent))
    if relative_path in file_sizes:
        g.add((dist, DCAT.byteSize, Literal(file_sizes[relative_path], datatype=XSD.nonNegativeInteger)))
    _licensed(g, dist, common)


def _licensed(g: Graph, dist: URIRef, common: _Common) -> None:
    g.add((dist, DCTERMS.license, common.licence))
    g.add((dist, DCTERMS.rights, common.rights))
    g.add((dist, DCATAP_AVAILABILITY, _authority(g, "planned-availability", "STABLE", ("安定", "stable"))))


def _sparql_distribution(g: Graph, settings: Settings, dataset: URIRef, fragment: str, common: _Common) -> None:
    """The endpoint as a distribution: ckanext-dcat only sees a DataService through dcat:accessService."""
    dist = _hash(settings, fragment)
    g.add((dataset, DCAT.distribution, dist))
    g.add((dist, RDF.type, DCAT.Distribution))
    _both(g, dist, DCTERMS.title, ("SPARQL エンドポイント", "SPARQL endpoint"))
    _both(g, dist, DCTERMS.description, ("SPARQL 1.1 で問い合わせる（読み取り専用）", "Query with SPARQL 1.1 (read-only)"))
    g.add((dist, DCAT.accessURL, URIRef(f"{site_url(settings)}sparql")))
    g.add((dist, DCAT.accessService, common.service))
    _licensed(g, dist, common)


def _all_plans(g: Graph, settings: Settings, plans: Sequence[PlanSource], file_sizes: Mapping[str, int],
               common: _Common, modified: dt.date) -> None:
    dataset = all_plans_iri(settings)
    g.add((dataset, RDF.type, DCAT.Dataset))
    _both(g, dataset, DCTERMS.title, _ALL_PLANS_TITLE)
    _both(g, dataset, DCTERMS.description, (
        "全計画の名前付きグラフ（記述・推論）とオントロジーをまとめたデータ。",
        "Every plan's named graphs (asserted and inferred) and the ontology, together."))
    _dataset_common(g, dataset, common)
    g.add((dataset, DCTERMS.issued, Literal(min(p.metadata.issued for p in plans))))
    g.add((dataset, DCTERMS.modified, Literal(modified)))
    g.add((dataset, DCAT.landingPage, URIRef(site_url(settings))))
    period = _hash(settings, "plan-kg-period")
    g.add((dataset, DCTERMS.temporal, period))
    g.add((period, RDF.type, DCTERMS.PeriodOfTime))
    g.add((period, DCAT.startDate, Literal(min(p.metadata.period_start for p in plans))))
    g.add((period, DCAT.endDate, Literal(max(p.metadata.period_end for p in plans))))
    for plan in plans:
        g.add((dataset, DCTERMS.hasPart, _plan(settings, plan)))
        g.add((dataset, DCTERMS.spatial, municipality_iri(settings.base_iri, plan.metadata.municipality.code)))
    for name, note in _DUMP_NOTES.items():
        fmt = formats.by_name(name)
        _distribution(g, settings, dataset, f"dump-{fmt.extension}", f"plan-kg.{fmt.extension}", name, note,
                      file_sizes, common, title=_ALL_PLANS_TITLE)
    _sparql_distribution(g, settings, dataset, "sparql", common)


def _plan_dataset(g: Graph, settings: Settings, plan: PlanSource, file_sizes: Mapping[str, int],
                  common: _Common) -> None:
    meta, muni = plan.metadata, plan.metadata.municipality
    dataset = _plan(settings, plan)
    place = municipality_iri(settings.base_iri, muni.code)  # the author (an Agent) and, by its area, the coverage
    period = _hash(settings, f"{plan.slug}-period")
    g.add((dataset, RDF.type, DCAT.Dataset))
    _both(g, dataset, DCTERMS.title, (meta.title_ja, meta.title_en))
    _both(g, dataset, DCTERMS.description, (
        f"{muni.prefecture_ja}{muni.name_ja}の{meta.title_ja}の体系（全{len(plan.items)}項目）。原典：{meta.source}",
        f"The policy structure of {muni.name_en}, {muni.prefecture_en}: {meta.title_en} "
        f"({len(plan.items)} elements). Source: {meta.source}"))
    _dataset_common(g, dataset, common)
    g.add((dataset, DCTERMS.identifier, Literal(str(dataset))))
    g.add((dataset, DCTERMS.issued, Literal(meta.issued)))
    g.add((dataset, DCTERMS.modified, Literal(meta.issued)))
    g.add((dataset, DCTERMS.creator, place))
    g.add((dataset, DCTERMS.isPartOf, all_plans_iri(settings)))
    page = URIRef(f"{site_url(settings)}{str(dataset)[len(settings.base_iri):]}.html")
    g.add((dataset, DCAT.landingPage, page))
    g.add((page, RDF.type, FOAF.Document))
    source = URIRef(meta.source)
    g.add((dataset, FOAF.page, source))
    g.add((source, RDF.type, FOAF.Document))
    g.add((place, RDF.type, FOAF.Agent))
    g.add((place, RDF.type, PKG.Municipality))
    _both(g, place, FOAF.name, (muni.name_ja, muni.name_en))
    g.add((place, DCTERMS.type, ADMS_PUBLISHER_TYPE.LocalAuthority))
    _concept(g, ADMS_PUBLISHER_TYPE.LocalAuthority, "Local Authority", ADMS_PUBLISHER_TYPE["1.0"])
    g.add((dataset, DCTERMS.spatial, place))
    g.add((place, RDF.type, DCTERMS.Location))
    _both(g, place, SKOS.prefLabel, (f"{muni.prefecture_ja}{muni.name_ja}", f"{muni.name_en}, {muni.prefecture_en}"))
    g.add((place, PKG.municipalityCode, Literal(muni.code)))
    g.add((dataset, DCTERMS.temporal, period))
    g.add((period, RDF.type, DCTERMS.PeriodOfTime))
    g.add((period, DCAT.startDate, Literal(meta.period_start)))
    g.add((period, DCAT.endDate, Literal(meta.period_end)))
    for name, note in _PLAN_FILE_NOTES.items():
        fmt = formats.by_name(name)
        _distribution(g, settings, dataset, f"{plan.slug}-{fmt.extension}", f"plans/{plan.slug}.{fmt.extension}",
                      name, note, file_sizes, common, title=(meta.title_ja, meta.title_en))
    _sparql_distribution(g, settings, dataset, f"{plan.slug}-sparql", common)
