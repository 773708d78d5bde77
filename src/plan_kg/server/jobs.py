"""What the server and a query worker exchange: a job, its serialised answer, or why it is refused."""

from __future__ import annotations

from dataclasses import dataclass, field

#: How the reason for refusing a text pyoxigraph's parser cannot read begins (`worker.syntax_rejection`); the page of
#: a refusal tells such a reason by it (`web.results.japanese_reason`).
NOT_VALID = "the query is not valid SPARQL 1.1"


@dataclass(frozen=True)
class QueryJob:
    """A parsed request: the query text, its dataset and the formats acceptable per result kind."""

    query: str
    base_iri: str | None = None
    default_graphs: tuple[str, ...] | None = None  # protocol dataset; None: union of named graphs
    named_graphs: tuple[str, ...] | None = None
    results_format: str | None = None  # plan_kg.formats name for SELECT/ASK; None: not acceptable
    graph_format: str | None = None  # ... for CONSTRUCT/DESCRIBE
    service_allow_list: tuple[str, ...] = ()  # the endpoints SERVICE may name (guard.check_services)
    page_base_iri: str = ""  # the data's base IRI: an HTML answer links IRIs under it to this server's pages
    page_root: str = ""  # the path this server is served under (Settings.public_path): its pages' links start with it


@dataclass(frozen=True)
class QueryResult:
    """A serialised answer."""

    media_type: str  # what to send as Content-Type
    body: bytes
    # How long a query worker took to run the query and write this answer (seconds); None: not a worker's answer.
    run_s: float | None = field(default=None, compare=False)


class QueryRejected(Exception):
    """The query cannot be answered; `status` is the HTTP status that says why, `retry_after_s`
    (None: do not) when to try again: a busy endpoint, not a query that fails whenever it is sent; and `setting` the
    one of `Settings` whose limit refused it (None: no limit did), which `plan-kg query` names to the operator."""

    def __init__(self, status: int, message: str, *, retry_after_s: int | None = None, setting: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after_s = retry_after_s
        self.setting = setting
