"""Settings: where sources are, where output goes, the base IRI and the server's limits.

Read from `plan-kg.toml` at the project root when present; every field has a default.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from urllib.parse import urlsplit

import pyoxigraph

from .errors import SourceError

#: The documented default base of every data IRI. A deployment may set its own
#: (`base_iri` in plan-kg.toml or PLAN_KG_BASE_IRI); IRIs are then minted under it.
DEFAULT_BASE_IRI = "https://w3id.org/plan-kg/"

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Settings:
    """Everything the pipeline and the server need to know about their environment."""

    base_iri: str = DEFAULT_BASE_IRI
    root: Path = PROJECT_ROOT
    data_dir: Path = PROJECT_ROOT / "data"
    dist_dir: Path = PROJECT_ROOT / "dist"
    ontology_dir: Path = PROJECT_ROOT / "ontology"
    shapes_dir: Path = PROJECT_ROOT / "shapes"
    queries_dir: Path = PROJECT_ROOT / "queries"
    shared_dir: Path = PROJECT_ROOT.parent / "shared"
    # Build: owlrl is the reference OWL RL engine; "reasonable" gives the same inferences
    # (tests/test_reasoning_engines.py) about 17x faster, for national scale.
    reasoning_engine: str = "owlrl"
    # Server
    public_base_iri: str | None = None  # where base_iri is served, if not on this host
    query_timeout_s: float = 30.0
    max_result_rows: int = 10_000
    # An answer larger than this once written (JSON, XML, CSV, TSV or RDF) is refused (400); 0: no limit.
    max_response_bytes: int = 64_000_000
    max_body_bytes: int = 1_000_000
    max_concurrent_per_client: int = 4
    # An answer over a megabyte is sent a megabyte at a time, holding its client's place among its
    # concurrent queries; one whose client reads nothing for this long is given up (connection closed).
    send_timeout_s: float = 60.0
    # Reverse proxies (addresses or CIDR ranges) whose X-Forwarded-For names the client; none by default.
    trusted_proxies: tuple[str, ...] = field(default_factory=tuple)
    # Query worker processes. One client's queries run on at most max_workers_per_client of them at
    # once (0: all but one), so that a client sending runaway queries cannot hold up everybody else.
    query_workers: int = 3
    max_workers_per_client: int = 0
    # Clients at several addresses can hold every worker together. A query that has waited this long
    # for a worker stops the longest-running query of the client holding the most (if it has run this
    # long too; that client gets a 503 saying why). 0: queries wait for a worker up to the time limit.
    preempt_after_s: float = 1.0
    # A query worker copies the store into memory when it holds at most this many quads: queries
    # run up to 3x faster than on the on-disk store, for about 120 bytes of memory a quad in each
    # worker and a slower start (2.4 s at 385,000 quads). The server process then keeps a copy too,
    # for the lookups it answers itself (server/lookup.py). 0: everything reads the on-disk store.
    worker_memory_store_quads: int = 1_000_000
    # A query of one triple pattern with at most this many rows is answered in the server process,
    # without the hop to a worker (server/lookup.py: it cannot run away); 0: every query in a worker.
    in_process_rows: int = 100
    # Heap a query worker may use (RLIMIT_DATA); past it the worker stops and is replaced. 0: no limit.
    query_memory_bytes: int = 2_000_000_000
    service_allow_list: tuple[str, ...] = field(default_factory=tuple)
    # Answers kept in memory (the store is read-only while served); 0 turns the cache off. The
    # documents under /id/, /graph/, /ontology and the gzip copies of downloads get a cache of this size each.
    response_cache_bytes: int = 64_000_000
    response_cache_entry_bytes: int = 1_000_000
    response_max_age_s: int = 300  # Cache-Control max-age of a repeatable query's answer

    def __post_init__(self) -> None:
        if not self.base_iri.endswith(("/", "#")):
            raise ValueError(f"base_iri must end with '/' or '#': {self.base_iri!r}")
        for name in ("base_iri", "public_base_iri"):
            iri = getattr(self, name)
            if iri and not _is_absolute_iri(iri):  # public_base_iri "" (or None): not set, the base IRI is served here
                raise ValueError(f"{name} must be an absolute http(s) IRI with a host, such as "
                                 f"'https://example.org/plans/': {iri!r}")
        if self.public_base_iri and not self.public_base_iri.endswith("/"):  # paths are appended to it
            raise ValueError(f"public_base_iri must end with '/': {self.public_base_iri!r}")
        if self.reasoning_engine not in ("owlrl", "reasonable"):
            raise ValueError(f"reasoning_engine must be 'owlrl' or 'reasonable', not {self.reasoning_engine!r}")

    @property
    def workers_per_client(self) -> int:
        """How many query workers one client's queries may hold at once (`max_workers_per_client`, 0: all but one)."""
        return workers_per_client(self.query_workers, self.max_workers_per_client)

    @classmethod
    def load(cls, path: Path | None = None, **overrides: object) -> "Settings":
        """Settings from `path` (default: plan-kg.toml at the root, if any), the environment, then overrides."""
        values: dict[str, object] = {}
        if path is not None and not path.is_file():  # named by the user: not there is a mistake, not the defaults
            raise SourceError(path, "no such settings file; check the path given to --config")
        path = path or PROJECT_ROOT / "plan-kg.toml"
        if path.exists():
            try:
                raw = tomllib.loads(path.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise SourceError(path, f"not valid TOML ({exc}); fix the file or remove it") from exc
            known = {f.name: f for f in fields(cls)}
            for key, value in raw.items():
                if key not in known:
                    raise SourceError(path, f"unknown setting '{key}'; known: {', '.join(sorted(known))}")
                _check_type(path, key, value, str(known[key].type))
                if known[key].type in ("Path", Path):
                    value = (path.parent / str(value)).resolve()
                elif isinstance(value, list):
                    value = tuple(value)
                values[key] = value
        if env_base := os.environ.get("PLAN_KG_BASE_IRI"):
            values["base_iri"] = env_base
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return replace(cls(), **values)  # type: ignore[arg-type]
        except ValueError as exc:  # __post_init__: a value of the right type that cannot be used
            where = path if path.exists() else "settings"
            raise SourceError(where, f"{exc} (from this file, PLAN_KG_BASE_IRI or the command line)") from exc


#: What a setting of each declared type may be in TOML, and how to say so.
_TOML_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "int": ((int,), "a whole number"),
    "float": ((int, float), "a number"),
    "str": ((str,), "a string"),
    "str | None": ((str,), "a string"),
    "Path": ((str,), "a path (a string)"),
    "tuple[str, ...]": ((list,), "a list of strings"),
}


def _is_absolute_iri(iri: str) -> bool:
    """Whether `iri` is an absolute IRI (RFC 3987: pyoxigraph refuses a space, <, >, \" and the like, which
    rdflib's writer also refuses) with an http or https scheme and a host: what the build mints IRIs under."""
    try:
        pyoxigraph.NamedNode(iri)
    except ValueError:
        return False
    parts = urlsplit(iri)
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def workers_per_client(workers: int, setting: int = 0) -> int:
    """How many of `workers` query workers one client may hold at once: `setting`, or all but one if it is 0."""
    return setting if setting > 0 else max(1, workers - 1)


def _check_type(path: Path, key: str, value: object, declared: str) -> None:
    """SourceError unless `value` read from TOML suits a setting declared as `declared`."""
    allowed, described = _TOML_TYPES[declared]
    wrong = not isinstance(value, allowed) or isinstance(value, bool)  # TOML's true is no number
    if isinstance(value, list):
        wrong = wrong or not all(isinstance(item, str) for item in value)
    if wrong:
        raise SourceError(path, f"setting '{key}' is {value!r}; it must be {described}")
