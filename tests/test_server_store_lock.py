"""plan_kg.server.store: servers that start at the same time share one load of the store."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from plan_kg.build import BuildResult
from plan_kg.server import load_store


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
