"""The on-disk query store: `dist/plan-kg.nq` loaded once into a pyoxigraph directory.

The store lives outside `dist/` (a cache directory or a temporary one) so the build output
stays a plain file tree. It is reused while the N-Quads file it came from is unchanged. For a
server, the store's directory also keeps the files of the build it was loaded from, as they were
then (`load_store(with_files=True)`): a build swaps a new `dist/` in beside a running server, which
goes on serving one build, its downloads and catalog with its SPARQL answers.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISREG

import pyoxigraph

from ..config import Settings
from ..errors import PlanKgError
from ..locks import exclusive, shared, sharing, unused

#: The file `plan-kg build` writes; the server reads nothing else.
DUMP_NAME = "plan-kg.nq"
_STAMP = "source.json"
# The default graph is the union of the named graphs, written out once at load time rather
# than asked for per query (use_default_graph_as_union): pyoxigraph lets that flag override
# a query's own FROM, which the SPARQL dataset rules forbid, and it returns a triple once per
# graph holding it (the SDG reference and the UN KOS graphs share some), where the union has
# it once. Each quad read goes into its graph and into the default graph in the same pass, so
# a blank node is the same node in both (a second parse would name it anew).
_DATA = "oxigraph"
# The build's files as a server found them beside the dump, one folder for each content of the build folder.
_FILES = "build-"
_KEEP = 3  # store versions kept, the newest included
_LOCK = ".lock"


class StoreError(PlanKgError):
    """The dump is missing or cannot be loaded into the query store."""


class LoadStopped(StoreError):
    """A load given up on request (`load_store`'s `stop`: the server is stopping); nothing of it was kept."""


#: How many quads a load reads between two looks at its `stop` (one look: ~50 ns).
_STOP_EVERY = 4096


@dataclass(frozen=True)
class LoadedStore:
    """Where the loaded store is, which named graphs it holds, and this process's read-only handle on it."""

    path: Path  # the pyoxigraph directory, to open with Store.read_only (each query worker opens its own)
    source: Path  # the N-Quads file it was loaded from
    graphs: tuple[str, ...]  # IRIs of the named graphs, sorted
    quads: int  # how many it holds, the default graph's union included (counted once, at load time)
    source_state: tuple[int, int]  # the dump's size and modification time (ns) when it was loaded
    # The files of the build folder the dump was in, kept as they were when it was loaded (`with_files`), or None.
    files: Path | None
    # For what this process reads itself: the web pages' look-ups and the one-pattern lookups.
    reader: pyoxigraph.Store = field(compare=False, repr=False)

    @property
    def version(self) -> str:
        """Which dump this is (a hash of its path, size and time): a new build gets a new version."""
        return self.path.parent.name

    def replaced_at(self) -> float | None:
        """When the dump at `source` was replaced by another (its modification time, seconds since the epoch): a new
        build; None while it is the one loaded, or while there is none there (a build between its two renames)."""
        found = self.current_state()
        return None if found is None or found == self.source_state else found[1] / 1e9

    def current_state(self) -> tuple[int, int] | None:
        """The size and modification time (ns) of the dump at `source` now; None while there is none there."""
        try:
            stat = self.source.stat()
        except OSError:
            return None
        return stat.st_size, stat.st_mtime_ns


def default_store_dir(settings: Settings) -> Path:
    """Where `plan-kg serve` and `plan-kg query` keep the store: `<root>/.cache/store`."""
    return settings.root / ".cache" / "store"


def load_store(dump: Path, store_dir: Path, *, with_files: bool = False,
               stop: threading.Event | None = None) -> LoadedStore:
    """Load `dump` into a directory under `store_dir`, or reuse the one that holds exactly that file.

    Each version of the dump gets its own directory (named by its path, size and time), so
    loading a new build never rewrites a store that a running server still reads; only
    versions beyond the `_KEEP` most recent are removed, and none that a process still holds: the
    one returned is held as long as the `LoadedStore` is (its query workers open it again when
    they are replaced).

    `stop`, once set, gives a load up within a few thousand quads (`LoadStopped`), its directory removed: a server
    stopped while it loads a new build (`reload.ReloadingApp`) does not wait for the whole load, which runs in a
    thread Python cannot stop and waits for at exit (minutes for a national corpus).

    `with_files`: the folder holding `dump` is a build (`dist/`), whose files a server serves beside the store's
    answers. They are kept in the version's directory as they are now (`LoadedStore.files`: hard links, or copies
    across file systems), taken under the lock `plan-kg build` swaps a new folder in under, so they and the dump
    loaded are of one build; they are removed with their version.
    """
    if not dump.is_file():
        raise StoreError(f"{dump}: no such file; run `plan-kg build` first")
    build_dir = dump.parent.resolve()  # as `plan-kg build` names it: the lock is on the folder holding it
    with exclusive(store_dir / _LOCK):  # two servers starting at once: one loads, the other waits and reuses it
        # Held while the dump is looked at and its folder's files linked: no build swaps that folder meanwhile.
        with sharing(build_dir.parent) if with_files else contextlib.nullcontext():
            try:
                stat = dump.stat()
            except FileNotFoundError:  # removed since (by hand: a build swaps a new one in at once)
                raise StoreError(f"{dump}: no such file; run `plan-kg build` first") from None
            stamp = {"source": str(dump.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
            version_dir = store_dir / hashlib.sha256(json.dumps(stamp, sort_keys=True).encode()).hexdigest()[:16]
            data_dir = version_dir / _DATA
            stamp_file = version_dir / _STAMP
            recorded = _read_stamp(stamp_file) if stamp_file.is_file() else None
            quads = recorded.get("quads") if isinstance(recorded, dict) else None
            reusable = (isinstance(quads, int) and {key: recorded.get(key) for key in stamp} == stamp
                        and data_dir.is_dir())
            if not reusable:
                shutil.rmtree(version_dir, ignore_errors=True)  # a load that did not finish
                version_dir.mkdir(parents=True)
            files = _keep_files(build_dir, version_dir) if with_files else None
        if not reusable:
            # The very file the kept files came with (not among them if it is a link out of its folder).
            source = dump if files is None or not (files / dump.name).is_file() else files / dump.name
            writer = pyoxigraph.Store(str(data_dir))
            try:
                writer.bulk_extend(_with_union(pyoxigraph.parse(path=str(source), format=pyoxigraph.RdfFormat.N_QUADS),
                                               stop))
                writer.flush()
                if stop is not None and stop.is_set():  # before the count, a scan of the whole store (seconds at scale)
                    raise LoadStopped("the load was given up after its last quad: the server is stopping")
                quads = len(writer)  # one scan, here rather than at every start
            except (SyntaxError, OSError, LoadStopped, KeyboardInterrupt) as exc:
                # Nothing of it kept: a server serving each new build tries every broken one, and only a load that
                # succeeds prunes versions. Nor of one stopped (a server's first load, in the main thread: Ctrl-C).
                del writer
                shutil.rmtree(version_dir, ignore_errors=True)
                if isinstance(exc, (LoadStopped, KeyboardInterrupt)):
                    raise
                if isinstance(exc, SyntaxError):
                    raise StoreError(f"{dump}: not valid N-Quads ({exc})") from exc
                # No space left on the store's file system: said, as any other store error.
                raise StoreError(f"{dump}: could not be loaded into the query store in {data_dir} ({exc})") from exc
            del writer  # release the write lock before any read-only opener
            stamp_file.write_text(json.dumps({**stamp, "quads": quads}), encoding="utf-8")
            _prune(store_dir, keep=version_dir)
        held = shared(version_dir)  # before the lock is let go: no other load prunes it meanwhile
    try:
        reader = pyoxigraph.Store.read_only(str(data_dir))
        graphs = tuple(sorted(g.value for g in reader.named_graphs() if isinstance(g, pyoxigraph.NamedNode)))
    except BaseException:
        os.close(held)
        raise
    loaded = LoadedStore(path=data_dir, source=dump, graphs=graphs, quads=quads,
                         source_state=(stat.st_size, stat.st_mtime_ns), files=files, reader=reader)
    weakref.finalize(loaded, os.close, held)
    return loaded


def _keep_files(build_dir: Path, version_dir: Path) -> Path:
    """The files of `build_dir` as they are now, in a folder of `version_dir`: hard links, or copies (with their
    times, which the downloads' validators are made of) where the two are on different file systems.

    Named by what `build_dir` holds (each file's path, size and time, each link's target): a later server over the
    same build shares them, and one over a folder changed by hand beside the same dump gets its own.
    """
    root = build_dir.resolve()
    files, links = _kept_entries(root)
    listing = [(name, *state) for name, state in files] + [(name, "->", target) for name, target in links]
    kept = version_dir / (_FILES + hashlib.sha256(json.dumps(listing).encode()).hexdigest()[:16])
    if not kept.is_dir():
        partial = version_dir / f".{kept.name}-partial"  # renamed once whole: a folder under that name is complete
        shutil.rmtree(partial, ignore_errors=True)
        try:
            for name, _ in files:
                (partial / name).parent.mkdir(parents=True, exist_ok=True)
                _link_or_copy(str(root / name), str(partial / name))
            for name, target in links:
                (partial / name).parent.mkdir(parents=True, exist_ok=True)
                os.symlink(target, partial / name)
            partial.mkdir(exist_ok=True)  # a build folder without files
            partial.rename(kept)
        except OSError as exc:  # no space left for copies: what was copied would hold the space it needs
            shutil.rmtree(partial, ignore_errors=True)
            raise StoreError(f"{build_dir}: its files could not be kept beside the query store in {version_dir} "
                             f"({exc.strerror or exc})") from exc
    return kept


def _kept_entries(root: Path) -> tuple[list[tuple[str, tuple[int, int]]], list[tuple[str, str]]]:
    """What a server keeps of the build folder `root` (resolved), by path relative to it: each regular file (its
    size and time), and each symbolic link leading to a file or folder inside it (where it leads, relative to the
    link's folder, so that it leads to the same one among the kept files). A link leading out of `root` or to
    nothing is left out, as the downloads never served what such a link leads to, and a link to a folder is not
    followed (`loop -> .` has no end)."""
    files, links = [], []
    for folder, folders, names in os.walk(root):  # links to folders are listed in `folders`, and not walked into
        here = Path(folder)
        for name in sorted(folders + names):
            path = here / name
            relative = path.relative_to(root).as_posix()
            if path.is_symlink():
                try:
                    aim = path.resolve(strict=True)
                except (OSError, RuntimeError):  # leads to nothing, or round in a loop (RuntimeError before 3.13)
                    continue
                if aim.is_relative_to(root):
                    links.append((relative, os.path.relpath(aim, here)))
            elif name in names and S_ISREG((info := path.lstat()).st_mode):
                files.append((relative, (info.st_size, info.st_mtime_ns)))
    return sorted(files), sorted(links)


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system (a temporary store directory), or one without hard links
        shutil.copy2(source, target)


def _with_union(quads: Iterator[pyoxigraph.Quad], stop: threading.Event | None = None) -> Iterator[pyoxigraph.Quad]:
    """Each quad, and the same triple in the default graph when the quad is in a named graph; `LoadStopped` once
    `stop` is set."""
    for count, quad in enumerate(quads):
        if stop is not None and not count % _STOP_EVERY and stop.is_set():
            raise LoadStopped(f"the load was given up after {count:,} quads: the server is stopping")
        yield quad
        if not isinstance(quad.graph_name, pyoxigraph.DefaultGraph):
            yield pyoxigraph.Quad(quad.subject, quad.predicate, quad.object)


def _prune(store_dir: Path, *, keep: Path) -> None:
    versions = sorted((d for d in store_dir.iterdir() if d.is_dir() and d != keep), key=lambda d: d.stat().st_mtime)
    for old in versions[: max(0, len(versions) - (_KEEP - 1))]:
        # A server still serving an older build reads it, and its replaced query workers open it again: they
        # failed to start once it was gone, and every query was answered 503.
        with unused(old) as free:
            if free:
                shutil.rmtree(old, ignore_errors=True)


def _read_stamp(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
