"""A query's answer as an HTML page, for people: what a browser gets from /sparql.

A browser that opens a query's URL, or sends the home page's query form without JavaScript,
asks for `text/html` first; `format=html` asks for it explicitly. Machine clients never get it
unless they ask: only an Accept header that wants it strictly more than every machine format
gets it (`server.negotiation`), so `*/*` or `application/json, text/html` still get SPARQL JSON.
A query that is refused gets `error_page` instead: the reason, and the query in the form to fix.

The page is written by the query worker (`server.worker.run_job`), under the same time, row and
size limits as every other format: it is written row by row and stopped once it is over the size
limit. Every value is escaped by the templates; only http(s) IRIs become links, and those under the
dataset's base IRI (or the ontology's) link to this server's pages. The page repeats the query in a
form, to change and run again, and links to the same answer in the machine formats; for a query too
long to send in a URL (`MAX_LINK_CHARS`), the form and the other formats are sent by POST instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

import pyoxigraph as ox

from .. import formats
from ..server.jobs import NOT_VALID
from .views import RDF, XSD, local_href, qname
from .templating import environment

#: The endpoint's path on this server (below the path it is served under), which the page's form and format links use.
ENDPOINT = "/sparql"
_PLAIN = (XSD + "string", RDF + "langString")
#: The machine formats offered as links, per kind of answer (format= names, in this order).
_RESULT_LINKS = ("json", "xml", "csv", "tsv")
_GRAPH_LINKS = ("turtle", "jsonld", "ntriples", "rdfxml")
_TRIPLE_COLUMNS = ("subject", "predicate", "object")
#: Longer links are not offered: HTTP servers and proxies refuse long URLs (nginx at 8 KB, uvicorn at 64 KB).
MAX_LINK_CHARS = 4000
#: A refused query longer than this is not repeated on its error page: escaping and sending a megabyte
#: took ~30 ms of the server process for each refusal (and the client has the query it sent).
MAX_REPEATED_CHARS = 65_536


class PageTooLarge(Exception):
    """The page grew past the size limit it was given."""


@dataclass(frozen=True)
class Cell:
    """One RDF term as shown: its text, and a link, a language or a datatype when it has one."""

    text: str
    kind: str  # "iri", "literal", "bnode" or "triple"
    href: str | None = None
    local: bool = False
    lang: str | None = None
    datatype: str | None = None  # shown as prefix:local when it can be; never xsd:string


@dataclass(frozen=True)
class FormatLink:
    name: str  # format= value
    label: str
    href: str


def cell(term: object, base_iri: str, root: str = "") -> Cell | None:
    """`term` (a pyoxigraph term, or None for an unbound variable) as a table cell; `root`: the path this
    server is served under (`Settings.public_path`), which its links start with."""
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        iri = term.value
        href, local = local_href(iri, base_iri, root)
        return Cell(qname(iri) or iri, "iri", href, local)
    if isinstance(term, ox.Literal):
        datatype = term.datatype.value
        shown = None if datatype in _PLAIN else qname(datatype) or datatype
        return Cell(term.value, "literal", lang=term.language, datatype=shown)
    if isinstance(term, ox.BlankNode):
        return Cell(f"_:{term.value}", "bnode")
    return Cell(str(term), "triple")


def render(
    query: str,
    *,
    base_iri: str,
    root: str = "",
    variables: Sequence[str] = (),
    rows: Iterable[Sequence[object]] = (),
    count: int = 0,
    boolean: bool | None = None,
    graph: bool = False,
    default_graphs: Sequence[str] | None = None,
    named_graphs: Sequence[str] | None = None,
    max_bytes: int = 0,
) -> bytes:
    """The page for one answer: `boolean` for ASK, else the `count` `rows` of terms (None: unbound) under `variables`.

    `rows` is read once, as the page is written. `graph` marks CONSTRUCT/DESCRIBE triples (rows
    of subject, predicate, object). The dataset (`default_graphs`, `named_graphs`) is carried into
    the format links and the form. PageTooLarge once the page is over `max_bytes` (0: no limit).
    `root`: the path this server is served under (`Settings.public_path`), which its links start with.
    """
    if graph:
        variables = _TRIPLE_COLUMNS
    dataset = _dataset(default_graphs, named_graphs)
    endpoint = root + ENDPOINT
    links = tuple(
        FormatLink(name, formats.by_name(name).label,
                   endpoint + "?" + urlencode([("query", query), *dataset, ("format", name)]))
        for name in (_GRAPH_LINKS if graph else _RESULT_LINKS)
    )
    chunks: list[bytes] = []
    size = 0
    for chunk in environment().get_template("results.html").generate(
        query=query,
        endpoint=endpoint,
        root=root,
        variables=tuple(variables),
        rows=([cell(term, base_iri, root) for term in row] for row in rows),
        count=count,
        boolean=boolean,
        graph=graph,
        dataset=dataset,
        format_links=links,
        post=any(len(link.href) > MAX_LINK_CHARS for link in links),
        alternates=(),
    ):
        data = chunk.encode("utf-8")
        size += len(data)
        if max_bytes and size > max_bytes:
            raise PageTooLarge
        chunks.append(data)
    return b"".join(chunks)


#: What a refusal's page says in Japanese before the endpoint's own reason (English, as every client gets it),
#: by the limit that refused the query (`QueryRejected.setting`).
_JA_BY_SETTING = {
    "query_timeout_s": "問い合わせが時間の上限を超えたため止めました。LIMIT を付ける、パターンを絞る、OPTIONAL を減らすなどして"
                       "対象を小さくするか、ダウンロードしたデータを手元のストアに読み込んで実行してください。",
    "query_memory_bytes": "問い合わせが 1 件あたりのメモリの上限を超えたため止めました。対象を絞るか LIMIT を付けてください。",
    "max_result_rows": "結果の行数がこのエンドポイントの上限を超えました。ORDER BY・LIMIT・OFFSET で分けて取得するか、"
                       "対象を絞ってください。",
    "max_response_bytes": "結果の大きさがこのエンドポイントの上限を超えました。選ぶ値を減らすか、LIMIT を付けてください。",
    "service_allow_list": "SERVICE（ほかのエンドポイントへの問い合わせ）は、このエンドポイントの設定で許されたものにしか送れません。",
}
#: ... else by the refusal's status.
_JA_BY_STATUS = {
    403: "このエンドポイントは読み取り専用です。更新（INSERT・DELETE・LOAD など）は受け付けません。",
    406: "求められた形式ではこの結果を返せません。ほかの形式を選んでください。",
    413: "問い合わせが大きすぎます。",
    429: "この接続元からの同時の問い合わせが上限に達しています。実行中のものが終わってから送ってください。",
    503: "いまは答えられません（混み合っているか、止める途中です）。しばらくしてからもう一度送ってください。",
}


def japanese_reason(status: int, message: str, setting: str | None = None) -> str:
    """The gist of a refusal (`status`, the endpoint's `message`, the `setting` whose limit refused it) in Japanese."""
    if setting in _JA_BY_SETTING:
        return _JA_BY_SETTING[setting]
    if message.startswith(NOT_VALID):
        return ("問い合わせが SPARQL 1.1 の文法に合っていません。下の説明が示す位置（行:列）と、^ の箇所を直してください。")
    if status in _JA_BY_STATUS:
        return _JA_BY_STATUS[status]
    return "問い合わせに答えられませんでした。理由は下の英語の説明のとおりです。"


def error_page(
    query: str,
    status: int,
    message: str,
    *,
    setting: str | None = None,
    root: str = "",
    default_graphs: Sequence[str] | None = None,
    named_graphs: Sequence[str] | None = None,
) -> bytes:
    """Why the endpoint did not answer `query` (`status`, `message`; in Japanese too: `japanese_reason`), with the query
    in a form to fix and run again; a query over `MAX_REPEATED_CHARS` is not repeated (the form is empty, and says so)."""
    dataset = _dataset(default_graphs, named_graphs)
    omitted = len(query) if len(query) > MAX_REPEATED_CHARS else 0
    query = "" if omitted else query
    return environment().get_template("query_error.html").render(
        query=query, status=status, message=message, reason_ja=japanese_reason(status, message, setting),
        endpoint=root + ENDPOINT, root=root, dataset=dataset,
        omitted=omitted,
        # The query's own length first: encoding a long one only to find it long took 45 ms a megabyte.
        post=len(query) > MAX_LINK_CHARS or len(urlencode([("query", query), *dataset])) > MAX_LINK_CHARS,
        alternates=(),
    ).encode("utf-8")


def _dataset(default_graphs: Sequence[str] | None, named_graphs: Sequence[str] | None) -> list[tuple[str, str]]:
    return ([("default-graph-uri", g) for g in default_graphs or ()]
            + [("named-graph-uri", g) for g in named_graphs or ()])
