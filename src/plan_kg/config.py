"""Settings: where sources are, where output goes, the base IRI and the server's limits.

Read from `plan-kg.toml` at the project root when present; every field has a default.
"""

from __future__ import annotations

import functools
import ipaddress
import math
import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from urllib.parse import quote, urljoin, urlsplit

import pyoxigraph

from .errors import SourceError

#: The documented default base of every data IRI. A deployment may set its own
#: (`base_iri` in plan-kg.toml or PLAN_KG_BASE_IRI); IRIs are then minted under it.
DEFAULT_BASE_IRI = "https://w3id.org/plan-kg/"

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class UnusableSetting(ValueError):
    """A setting whose value cannot be used (out of range, not an address): `setting` names it."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(message)
        self.setting = setting


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
    # concurrent queries; one whose client reads nothing of it for this long is given up (connection closed),
    # and so is a download or page, and one taken at under send_min_bytes_per_s on average over a longer wait; a
    # client reading slowly but steadily gets all of it. (On Ctrl-C or SIGTERM, requests in flight get
    # query_timeout_s; one still arriving gets 503.)
    send_timeout_s: float = 60.0
    # The slowest a client may take an answer, on average over a wait longer than send_timeout_s (a 64 kbit/s line):
    # one taking a few bytes at a time would hold its connection and (a /sparql answer) the whole answer in memory.
    send_min_bytes_per_s: int = 8_192
    # A request must arrive whole (headers and body) within this long of its first byte, and a new
    # connection must begin one within it: else 408 and the connection is closed (slow clients, slowloris).
    # 0: no limit (a reverse proxy in front sets its own).
    receive_timeout_s: float = 60.0
    # uvicorn's access log (a line on stdout for every request, its URL with the query): off, as it slows every
    # answer; a request refused at a limit is logged either way (server/refusals.py).
    access_log: bool = False
    # `plan-kg serve` serves a build swapped into dist_dir while it runs once that build's store is loaded and its
    # workers have started (server/reload.py); false: it serves the build it loaded until restarted.
    reload_builds: bool = True
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
    # worker and a slower start (2.4 s at 385,000 quads), and half as much again for a copy of the default
    # graph alone, where queries that read nothing else run (server/memory.py). The server process then keeps
    # copies too, for the lookups it answers itself (server/lookup.py). 0: everything reads the on-disk store.
    worker_memory_store_quads: int = 1_000_000
    # A query of one triple pattern with at most this many rows is answered in the server process,
    # without the hop to a worker (server/lookup.py: it cannot run away); 0: every query in a worker.
    in_process_rows: int = 100
    # A named query (queries_dir) that a query worker has answered within this many seconds is, from then on, run
    # in the server process when a request sends it (its comments aside): without the hop to a worker, which costs
    # about as much as such a query (server/named.py). 0: named queries go to a worker as every query does.
    in_process_named_s: float = 0.001
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
            raise UnusableSetting("base_iri", f"base_iri must end with '/' or '#': {self.base_iri!r}")
        for name in ("base_iri", "public_base_iri"):
            iri = getattr(self, name)
            if iri and not _is_absolute_iri(iri):  # public_base_iri "" (or None): not set, the base IRI is served here
                raise UnusableSetting(name, f"{name} must be an absolute http(s) IRI with a host, such as "
                                            f"'https://example.org/plans/': {iri!r}")
        if self.public_base_iri and not self.public_base_iri.endswith("/"):  # paths are appended to it
            raise UnusableSetting("public_base_iri", f"public_base_iri must end with '/': {self.public_base_iri!r}")
        # Data IRIs are minted under base_iri, which may be a hash namespace ('#' at its end); the site's paths
        # are appended to public_base_iri, past a '#' or '?' they would all name one page.
        _check_base("base_iri", self.base_iri, hash_at_end=True)
        if self.public_base_iri:
            _check_base("public_base_iri", self.public_base_iri, hash_at_end=False)
        if self.reasoning_engine not in ("owlrl", "reasonable"):
            raise UnusableSetting("reasoning_engine",
                                  f"reasoning_engine must be 'owlrl' or 'reasonable', not {self.reasoning_engine!r}")
        for setting in fields(self):
            if setting.type in ("int", "float"):
                _check_number(setting.name, getattr(self, setting.name), setting.type, setting.default)
            elif setting.type == "bool" and not isinstance(value := getattr(self, setting.name), bool):
                raise UnusableSetting(setting.name, f"setting '{setting.name}' is {value!r}; it must be true or false")
        for proxy in _entries(self, "trusted_proxies"):
            _check_proxy(proxy)
        for endpoint in _entries(self, "service_allow_list"):
            absolute = _is_absolute_iri(endpoint)
            port = _bad_port(endpoint) if absolute else None
            if not absolute or port is not None:
                raise UnusableSetting("service_allow_list", f"setting 'service_allow_list' has {endpoint!r}; each "
                                      "entry must be an endpoint's absolute http(s) IRI, such as "
                                      "'https://other-city.example/sparql'"
                                      + (f", with a port from 1 to 65535 or none, not {port!r}" if port else ""))

    @functools.cached_property  # read for every query's job: worked out once
    def public_path(self) -> str:
        """The path the site is served under: `public_base_iri`'s without its last slash (`/nishitokyo`), or ""
        (unset, or at a host's root). Every path the server sends starts with it; a URI path (non-ASCII
        percent-encoded), as a Location header must be."""
        if not self.public_base_iri:
            return ""
        return quote(urlsplit(self.public_base_iri).path, safe="/%!$&'()*+,;=:@~").rstrip("/")

    @property
    def workers_per_client(self) -> int:
        """How many query workers one client's queries may hold at once (`max_workers_per_client`, 0: all but one)."""
        return workers_per_client(self.query_workers, self.max_workers_per_client)

    @classmethod
    def load(cls, path: Path | None = None, **overrides: object) -> "Settings":
        """Settings from `path` (default: plan-kg.toml at the root, if any), the environment, then overrides."""
        values: dict[str, object] = {}
        raw: dict[str, object] = {}  # the file's settings as written
        from_file: set[str] = set()
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
                    if "\x00" in str(value):  # no file system takes one (Path.resolve raised a bare ValueError)
                        raise SourceError(path, f"setting '{key}' holds a NUL character (\\u0000); write the folder's path")
                    # Relative to the file's folder; ~ is the user's home, as in a shell
                    value = (path.parent / Path(str(value)).expanduser()).resolve()
                elif isinstance(value, list):
                    value = tuple(value)
                values[key] = value
            from_file = set(raw)
        if env_base := os.environ.get("PLAN_KG_BASE_IRI"):
            values["base_iri"] = env_base
            from_file.discard("base_iri")
        given = {k: v for k, v in overrides.items() if v is not None}
        values.update(given)
        from_file -= set(given)
        for key in sorted(from_file & _FOLDERS.keys()):  # before anything is built or served from there
            _check_folder(path, key, raw[key], values[key])  # type: ignore[arg-type]
        try:
            return replace(cls(), **values)  # type: ignore[arg-type]
        except ValueError as exc:  # __post_init__: a value of the right type that cannot be used
            if getattr(exc, "setting", None) in from_file:  # the file's own value: the file is where to fix it
                raise SourceError(path, str(exc)) from exc
            if path.exists():
                raise SourceError(path, f"{exc} (from this file, PLAN_KG_BASE_IRI or the command line)") from exc
            raise SourceError("settings", f"{exc} (from PLAN_KG_BASE_IRI or the command line)") from exc


#: What a setting of each declared type may be in TOML, and how to say so.
_TOML_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "bool": ((bool,), "true or false"),
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


def _bad_port(iri: str) -> str | None:
    """The port of `iri` as written if no server can have it (not from 1 to 65535), else None."""
    try:
        if urlsplit(iri).port != 0:  # None (no port) or one a server can have
            return None
    except ValueError:  # urllib: out of range, or not a number
        pass
    return urlsplit(iri).netloc.rpartition(":")[2]


#: What to write for each base IRI setting (for a message saying what is wrong with it).
_BASE_EXAMPLES = {
    "base_iri": "write the namespace the data's IRIs start with, such as 'https://example.org/plans/'",
    "public_base_iri": "write the IRI the site is served at, such as 'https://data.example.jp/nishitokyo/'",
}


def _check_base(name: str, iri: str, *, hash_at_end: bool) -> None:
    """UnusableSetting if the absolute IRI `iri`, setting `name`, cannot be a base: it has a query, a fragment
    (but a '#' at its end if `hash_at_end`), a port no server has, or a '.' or '..' path segment."""
    write = _BASE_EXAMPLES[name]
    if "?" in iri:
        raise UnusableSetting(name, f"{name} must have no query ('?'); {write}: {iri!r}")
    if "#" in (iri[:-1] if hash_at_end else iri):
        where = "a '#' only at its end" if hash_at_end else "no fragment ('#')"
        raise UnusableSetting(name, f"{name} must have {where}; {write}: {iri!r}")
    if (port := _bad_port(iri)) is not None:
        raise UnusableSetting(name, f"{name} has port {port!r}; write a port from 1 to 65535, or none: {iri!r}")
    path = urlsplit(iri).path.replace("%2e", ".").replace("%2E", ".")  # RFC 3986 6.2.2.2: the same segments
    if {".", ".."} & set(path.split("/")):  # a client resolves them away: the IRI would not be the one written
        resolved = urljoin(iri, path) + ("#" if iri.endswith("#") else "")
        raise UnusableSetting(name, f"{name} must have no '.' or '..' segment in its path; write the path they "
                                    f"stand for, here {resolved!r}: {iri!r}")


#: What 0 means for the numeric settings that may be 0 (each as documented beside its field). Every
#: other number must be above 0; none may be negative, and a time must be finite.
_ZERO_MEANS: dict[str, str] = {
    "max_response_bytes": "no limit",
    "max_workers_per_client": "all workers but one",
    "preempt_after_s": "a query waits for a worker up to the time limit",
    "worker_memory_store_quads": "every query reads the on-disk store",
    "in_process_rows": "every query goes to a worker",
    "in_process_named_s": "named queries go to a worker as every query does",
    "query_memory_bytes": "no limit",
    "response_cache_bytes": "no cache",
    "response_max_age_s": "clients must ask again every time",
    "receive_timeout_s": "no limit (a reverse proxy in front sets its own)",
    "send_min_bytes_per_s": "no least rate (a client taking a byte within every send_timeout_s is served)",
}


#: The most a numeric setting may be, by type, and how to say so. A whole number is at most 2**53 (the
#: largest every JSON reader takes exactly), far below sys.maxsize, past which itertools.islice over a
#: lookup's rows (max_result_rows + 1) and resource.setrlimit of a worker's heap (query_memory_bytes plus
#: what it holds) fail. A float is a time in seconds, at most 1e6 (about 11.6 days): asyncio's wait_for and
#: call_at take it, and so would threading's waits (TIMEOUT_MAX, about 292 years) and epoll (2**31 ms).
_MOST: dict[str, tuple[int | float, str]] = {
    "int": (2**53, "9,007,199,254,740,992"),
    "float": (1e6, "1,000,000 (seconds, about 11.6 days)"),
}
#: Settings with a smaller most than their type's.
_MOST_OF: dict[str, tuple[int | float, str]] = {
    # RFC 9111 1.2.2: a cache takes a larger delta-seconds for 2**31.
    "response_max_age_s": (2**31, "2,147,483,648 (seconds; a cache reads a larger max-age as this)"),
}


def _check_number(name: str, value: object, declared: str, default: object) -> None:
    """UnusableSetting unless `value` is a number of the setting's type (true is none) in its range."""
    allowed, described = _TOML_TYPES[declared]
    if isinstance(value, bool) or not isinstance(value, allowed):
        raise UnusableSetting(name, f"setting '{name}' is {value!r}; it must be {described}")
    zero = _ZERO_MEANS.get(name)
    if (isinstance(value, float) and not math.isfinite(value)) or value < 0 or (value == 0 and zero is None):
        least = f"of at least 0 (0: {zero})" if zero else "above 0"
        raise UnusableSetting(name, f"setting '{name}' is {value!r}; it must be {described} {least}, "
                                    f"such as {default!r} (the default)")
    most, said = _MOST_OF.get(name) or _MOST[declared]
    if value > most:
        raise UnusableSetting(name, f"setting '{name}' is {value!r}; it must be {described} of at most {said}, "
                                    f"such as {default!r} (the default)")


def _entries(settings: Settings, name: str) -> tuple[str, ...]:
    """The entries of a list setting, each a string (UnusableSetting if not)."""
    entries = getattr(settings, name)
    if isinstance(entries, str) or not all(isinstance(entry, str) for entry in entries):
        raise UnusableSetting(name, f"setting '{name}' is {entries!r}; it must be a list of strings")
    return tuple(entries)


def _check_proxy(proxy: str) -> None:
    """UnusableSetting unless uvicorn's ProxyHeadersMiddleware reads `proxy` as an address or a network: it
    takes anything else for the name of a socket, which no client from the network ever has."""
    try:
        ipaddress.ip_network(proxy) if "/" in proxy else ipaddress.ip_address(proxy)
        return
    except ValueError:
        pass
    try:  # a range with host bits set ("10.0.0.1/8"): say how its range is written
        hint = f"; this one would be '{ipaddress.ip_network(proxy, strict=False)}' (a range ends in zero bits)"
    except ValueError:
        hint = ""
    raise UnusableSetting("trusted_proxies", f"setting 'trusted_proxies' has {proxy!r}; each entry must be an IP "
                                             "address or a CIDR range, such as '127.0.0.1', '::1' or '10.0.0.0/8'"
                                             + hint)


def workers_per_client(workers: int, setting: int = 0) -> int:
    """How many of `workers` query workers one client may hold at once: `setting`, or all but one if it is 0."""
    return setting if setting > 0 else max(1, workers - 1)


#: What each folder setting is, to say what to set it to. The output (dist_dir) is made by the build and
#: only needs its parent; the others are read, and a typo would build or serve from an empty place.
_FOLDERS: dict[str, str] = {
    "root": "the project's folder (the one with data/ and queries/)",
    "data_dir": "the folder of plans (each a folder with plan.toml and items.csv)",
    "queries_dir": "the folder of named queries (*.rq)",
    "ontology_dir": "the folder of the ontology (*.ttl)",
    "shapes_dir": "the folder of the SHACL shapes (plan-kg.ttl)",
    "shared_dir": "the folder of shared reference material",
    "dist_dir": "a folder for the build's output (made if need be, inside a folder that exists)",
}


def _check_folder(path: Path, key: str, written: str, folder: Path) -> None:
    """SourceError unless folder setting `key`, written as `written` in `path` and resolved to `folder`, can
    be used: an existing folder (or, for the output, a folder or nothing, inside an existing folder)."""
    shown = repr(written) if Path(written).is_absolute() else f"{written!r} ({folder})"  # what it was taken as
    if folder.exists() and not folder.is_dir():
        problem = "which is a file, not a folder"
    elif key == "dist_dir" and not folder.exists() and not folder.parent.is_dir():
        problem = f"whose parent {folder.parent} does not exist"
    elif key != "dist_dir" and not folder.exists():
        problem = "which does not exist"
    else:
        return
    raise SourceError(path, f"setting '{key}' is {shown}, {problem}; set {key} to {_FOLDERS[key]} or remove it")


def _check_type(path: Path, key: str, value: object, declared: str) -> None:
    """SourceError unless `value` read from TOML suits a setting declared as `declared`."""
    allowed, described = _TOML_TYPES[declared]
    # TOML's true is no number: only a switch takes it
    wrong = not isinstance(value, allowed) or (isinstance(value, bool) and declared != "bool")
    if isinstance(value, list):
        wrong = wrong or not all(isinstance(item, str) for item in value)
    if wrong:
        raise SourceError(path, f"setting '{key}' is {value!r}; it must be {described}")
