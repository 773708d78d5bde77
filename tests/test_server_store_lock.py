"""plan_kg.server.store: servers that start at the same time share one load of the store."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph
import pytest

from plan_kg.build import BuildResult
from plan_kg.server import load_store
from plan_kg.server.store import LoadStopped


def _load(dump: str, store_dir: str) -> tuple[str, int, int]:
    store = load_store(Path(dump), Path(store_dir))
    return str(store.path), store.quads, len(store.reader)


def test_three_servers_starting_at_once_load_the_store_once(built: BuildResult, tmp_path: Path) -> None:
    """Without the lock the second loader removed and rewrote the first one's files ("Corruption")."""
    dump, store_dir = str(built.out_dir / "plan-kg.nq"), str(tmp_path / "store")
    with multiprocessing.get_context("spawn").Pool(3) as pool:
        loaded = pool.starmap(_load, [(dump, store_dir)] * 3)
    paths, quads, counted = zip(*loaded, strict=True)
    assert len(set(paths)) == 1
    assert quads[0] > 10_000 and set(quads) == set(counted) == {quads[0]}
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == [".lock", Path(paths[0]).parent.name]


def test_a_store_a_server_still_reads_is_not_pruned_by_later_loads(built: BuildResult, tmp_path: Path) -> None:
    """A server's replaced query worker opens its store again: once three newer builds had been loaded (by
    `plan-kg query`, another server) it was gone, the worker could not start, and every query got 503."""
    import os
    import shutil

    dump, store_dir = tmp_path / "plan-kg.nq", tmp_path / "store"
    shutil.copyfile(built.out_dir / "plan-kg.nq", dump)
    served = load_store(dump, store_dir)
    for later in range(1, 5):  # each a new build: the same file, another time
        os.utime(dump, ns=(served.source.stat().st_atime_ns, served.source.stat().st_mtime_ns + later * 10**9))
        load_store(dump, store_dir)  # not kept: the next load may prune it
    assert served.path.is_dir()
    assert len(pyoxigraph.Store.read_only(str(served.path))) == served.quads
    assert len([p for p in store_dir.iterdir() if p.is_dir()]) == 4  # the newest three, and the one held


@pytest.mark.parametrize("after", [3, None])  # a few quads in; once the last quad is read (before the store's count)
def test_a_load_stopped_keeps_nothing_and_the_next_load_is_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 after: int | None) -> None:
    dump = tmp_path / "plan-kg.nq"
    dump.write_text("".join(f"<urn:x:s{i}> <urn:x:p> <urn:x:o> <urn:x:g> .\n" for i in range(10)), encoding="utf-8")
    stop = threading.Event()
    parse = pyoxigraph.parse

    def stopping(*args: object, **kwargs: object) -> Iterator[pyoxigraph.Quad]:
        for number, quad in enumerate(parse(*args, **kwargs)):
            if number == after:
                stop.set()
            yield quad
        stop.set()

    monkeypatch.setattr(pyoxigraph, "parse", stopping)
    monkeypatch.setattr("plan_kg.server.store._STOP_EVERY", 1)
    with pytest.raises(LoadStopped):
        load_store(dump, tmp_path / "store", stop=stop)
    assert [p.name for p in (tmp_path / "store").iterdir()] == [".lock"]
    monkeypatch.setattr(pyoxigraph, "parse", parse)
    loaded = load_store(dump, tmp_path / "store", stop=threading.Event())
    assert loaded.quads == len(loaded.reader) == 20  # each triple in its graph and in the default graph
