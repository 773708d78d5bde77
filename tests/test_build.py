"""The whole pipeline on the bundled data, and what a failed build leaves behind."""

from __future__ import annotations

import hashlib
import multiprocessing
import re
import shutil
from pathlib import Path

import pytest
from rdflib import RDF, Graph, Literal
from rdflib.namespace import SKOS

from plan_kg.build import _swap_in, build
from plan_kg.config import Settings
from plan_kg.errors import BuildError, SourceError
from plan_kg.iris import PKG

from conftest import NISHITOKYO, SEED, nishitokyo


def seed_lines() -> list[str]:
    return [line.strip() for line in SEED.read_text(encoding="utf-8").splitlines() if line.strip()]


def plan_data(built) -> Graph:
    return Graph().parse(built.out_dir / "plans" / "132292-basic-plan-3.ttl")


def test_counts_per_level(built):
    counts = nishitokyo(built).counts
    assert {k: counts[k] for k in ("BasicGoal", "Policy", "Measure", "Initiative", "Plan", "Municipality")} == \
        {"BasicGoal": 6, "Policy": 15, "Measure": 37, "Initiative": 109, "Plan": 1, "Municipality": 1}
    assert built.report.conforms


def test_only_warning_is_the_planned_measure(built):
    warnings = [w.focus for w in built.report.warnings if "/132292/" in w.focus]
    assert [focus.rsplit("/", 1)[-1] for focus in warnings] == ["1-3-3"]
    text = built.report.text()  # the focus said once, not `… = …` with itself as the value
    assert f"- Warning: {warnings[0]}\n" in text and f"{warnings[0]} = {warnings[0]}" not in text
    g = plan_data(built)
    planned = next(g.subjects(PKG.code, Literal("1-3-3")))
    assert (planned, RDF.type, PKG.Measure) in g
    assert g.value(planned, SKOS.prefLabel) is None  # never invented
    assert (planned, PKG.status, PKG.Planned) in g


def test_initiatives_keep_seed_labels_and_order(built):
    """The 109 initiatives, in order, are the seed's initiative column (page 1 then page 2)."""
    g = plan_data(built)
    initiatives = sorted(g.subjects(RDF.type, PKG.Initiative), key=lambda s: int(g.value(s, PKG.sequence)))
    labels = [str(g.value(s, SKOS.prefLabel)) for s in initiatives]
    lines = seed_lines()
    column = lines[1:lines.index("基本目標 施策")] + lines[lines.index("基本施策 目標の実現に向けた取組内容基本目標 施策") + 1:]
    expected = [re.sub(r"^４-２-２ 循環型社会の構築 ", "", line) for line in column if "-" not in line[:3]
                or line.startswith("４-２-２")]
    expected = [line for line in expected if line != "１-３-３"][: len(labels)]
    assert len(labels) == 109
    assert labels == expected[:109]


def test_every_label_is_in_the_seed_exactly(built):
    g = plan_data(built)
    text = re.sub(r"\s", "", SEED.read_text(encoding="utf-8"))
    for element in g.subjects(RDF.type, PKG.PlanElement):
        for label in g.objects(element, SKOS.prefLabel):
            assert re.sub(r"\s", "", str(label)) in text, label


@pytest.mark.parametrize(("child", "parent"), [
    ("1-1-1-1", "1-1-1"), ("1-3-2-5", "1-3-2"), ("4-2-2-1", "4-2-2"), ("2-2-2", "2-2"),
    ("5-1-1", "5-1"), ("5-2-2", "5-2"), ("6-3", "6"), ("6-3-3-2", "6-3-3"),
])
def test_parents(built, child, parent):
    g = plan_data(built)
    element = next(g.subjects(PKG.code, Literal(child)))
    assert str(g.value(g.value(element, PKG.parent), PKG.code)) == parent


def test_fields_and_visions_of_basic_goals(built):
    g = plan_data(built)
    goals = {str(g.value(s, PKG.code)): (str(g.value(s, PKG.field)), str(g.value(s, SKOS.prefLabel)))
             for s in g.subjects(RDF.type, PKG.BasicGoal)}
    assert goals == {"1": ("協働・行財政", "みんなでつくるまち"), "2": ("子ども・教育", "子どもが健やかに育つまち"),
                     "3": ("健康・福祉", "笑顔で心豊かに暮らせるまち"), "4": ("みどり・環境", "環境にやさしい持続可能なまち"),
                     "5": ("都市基盤・安全", "安全・安心で快適に暮らせるまち"), "6": ("産業・学び・文化", "活気と魅力あふれるまち")}


def test_judgement_calls_are_recorded_on_the_items(built):
    g = plan_data(built)
    notes = {str(g.value(s, PKG.code)) for s, _, o in g.triples((None, SKOS.editorialNote, None))
             if "Run boundary judged" in str(o)}
    assert len(notes) == 11
    assert all(code.count("-") == 3 for code in notes)


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_sources_give_byte_identical_output(built, tmp_path):
    again = build(Settings.load(dist_dir=tmp_path / "dist"), out_dir=tmp_path / "dist")
    assert digest(again.out_dir) == digest(built.out_dir)


CORRUPTIONS = {
    "shift_jis items": lambda d: (d / "items.csv").write_bytes((d / "items.csv").read_text("utf-8").encode("cp932")),
    "duplicate code": lambda d: _edit(d / "items.csv", "1-1-1-2,目標", "1-1-1-1,目標"),
    "unknown parent": lambda d: _edit(d / "items.csv", "地域コミュニティの強化,1-1-1,", "地域コミュニティの強化,1-1-9,"),
    "unknown level": lambda d: _edit(d / "items.csv", "1-1,施策", "1-1,政策"),
    "missing column": lambda d: _edit(d / "items.csv", "code,level,label,parent,field,status,notes", "code,level,label,field,status,notes"),
    "utf-16": lambda d: (d / "items.csv").write_bytes((d / "items.csv").read_text("utf-8").encode("utf-16")),
    "bad toml": lambda d: _edit(d / "plan.toml", 'plan_id = "basic-plan-3"', "plan_id = basic-plan-3"),
    "measure under a goal": lambda d: _edit(d / "items.csv", "1-1-1,基本施策,市民主体のまちづくりの推進,1-1",
                                            "1-1-1,基本施策,市民主体のまちづくりの推進,1"),
    "label removed": lambda d: _edit(d / "items.csv", "地域コミュニティの強化", ""),
    "control character in a label": lambda d: _edit(d / "items.csv", "地域コミュニティの強化", "地域コミュ\x01ニティの強化"),
}


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture(scope="module")
def nishitokyo_dist(tmp_path_factory) -> Path:
    """Nishitokyo alone, built once; each corruption test starts from a copy of this output."""
    root = tmp_path_factory.mktemp("nishitokyo")
    shutil.copytree(NISHITOKYO, root / "data" / "nishitokyo")
    shutil.copytree(NISHITOKYO.parent / "sdg", root / "data" / "sdg")
    return build(Settings.load(data_dir=root / "data", dist_dir=root / "dist")).out_dir


@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
def test_failed_build_leaves_previous_output_intact(plan_copy, nishitokyo_dist, corruption):
    shutil.copytree(nishitokyo_dist, plan_copy.dist_dir)
    before = digest(plan_copy.dist_dir)
    CORRUPTIONS[corruption](plan_copy.data_dir / "nishitokyo")
    if corruption == "shift_jis items":  # not a corruption: offices send it, and it builds the same
        again = digest(build(plan_copy).out_dir)
        # The same output; only the build record sees other source bytes.
        assert {k: v for k, v in again.items() if k != ".plan-kg-build.json"} == {
            k: v for k, v in before.items() if k != ".plan-kg-build.json"}
        assert again != before
        return
    with pytest.raises((SourceError, BuildError)) as info:
        build(plan_copy)
    message = str(info.value)
    assert "nishitokyo" in message or "violation" in message
    assert digest(plan_copy.dist_dir) == before
    assert not [p for p in plan_copy.dist_dir.parent.iterdir() if p.name.startswith(".dist-")]


@pytest.mark.parametrize(("table", "old", "new", "row", "column", "words"), [
    ("nishitokyo/items.csv", "地域コミュニティの強化", "地域コミュ\x01ニティの強化\x00", 5, "label",
     "'地域コミュ<U+0001>ニティの強化<U+0000>' holds the control character U+0001 (character 6)"),
    ("nishitokyo/plan.toml", 'title_ja = "', 'title_ja = "\\u001b', None, None,
     "title_ja = '<U+001B>西東京市第3次総合計画 基本計画（中間…' holds the control character U+001B (character 1)"),
    ("sdg/links.csv", "Community associations take part", "Community\x85associations take part", 2, "rationale",
     "holds the control character U+0085 (character 10)"),
])
def test_a_character_no_published_text_may_hold_is_refused_with_where(plan_copy, table, old, new, row, column, words):
    """XML cannot carry it: a literal holding one was built, and its RDF/XML served broken."""
    _edit(plan_copy.data_dir / table, old, new)
    with pytest.raises(SourceError) as info:
        build(plan_copy)
    error = info.value
    assert (Path(error.path).name, error.row, error.column) == (table.rsplit("/", 1)[1], row, column)
    assert words in str(error) and "delete it" in str(error)
    assert not plan_copy.dist_dir.exists()


def test_violations_are_reported_with_the_offending_item(plan_copy):
    CORRUPTIONS["measure under a goal"](plan_copy.data_dir / "nishitokyo")
    with pytest.raises(BuildError) as info:
        build(plan_copy)
    assert "basic-plan-3/1-1-1" in str(info.value)
    assert "A measure's parent is exactly one policy." in str(info.value)
    assert "基本施策の上位はちょうど1つの施策です。" in str(info.value)


def test_missing_data_folder(tmp_path):
    with pytest.raises(BuildError, match="no plan found"):
        build(Settings.load(data_dir=tmp_path, dist_dir=tmp_path / "dist"))
    shutil.rmtree(tmp_path)


def test_reasonable_engine_publishes_byte_identical_output(built, tmp_path):
    """The fast engine for national scale gives exactly what owlrl, the reference, gives."""
    fast = build(Settings.load(dist_dir=tmp_path / "dist", reasoning_engine="reasonable"), out_dir=tmp_path / "dist")
    assert digest(fast.out_dir) == digest(built.out_dir)


def _swap_again_and_again(out_dir: str, tag: str, times: int, errors: multiprocessing.Queue) -> None:
    """Put `times` new folders in place of `out_dir`, as builds do; a swap that fails is reported and ends it."""
    out = Path(out_dir)
    for number in range(times):
        staging = out.parent / f".{out.name}-building-{tag}-{number}"
        staging.mkdir()
        (staging / "plan-kg.nq").write_text(f"{tag} {number}\n", encoding="utf-8")
        try:
            _swap_in(staging, out)
        except OSError as exc:
            errors.put(f"{tag}: {exc}")
            return


def test_two_builds_finishing_together_both_put_theirs_in_place(tmp_path: Path) -> None:
    """Two servers finding dist/ out of date build at once, or `plan-kg build` runs beside one. Their swaps
    interleaved: one failed with "Directory not empty", leaving the folder it had moved aside behind."""
    out = tmp_path / "dist"
    out.mkdir()
    (out / "plan-kg.nq").write_text("first\n", encoding="utf-8")
    context = multiprocessing.get_context("spawn")
    errors = context.Queue()
    builders = [context.Process(target=_swap_again_and_again, args=(str(out), tag, 300, errors)) for tag in "ab"]
    for builder in builders:
        builder.start()
    for builder in builders:
        builder.join()
    failed = []
    while not errors.empty():
        failed.append(errors.get())
    assert failed == []
    assert (out / "plan-kg.nq").read_text(encoding="utf-8") in ("a 299\n", "b 299\n")  # the later one's
    assert [p.name for p in tmp_path.iterdir()] == ["dist"]  # nothing moved aside, nor a lock file, left behind


def test_an_interrupt_between_the_renames_puts_the_earlier_output_back(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C or SIGTERM after dist/ was moved aside and before the new one took its place left no dist/ at all."""
    out, staging = tmp_path / "dist", tmp_path / ".dist-building-x"
    for folder, text in ((out, "earlier\n"), (staging, "new\n")):
        folder.mkdir()
        (folder / "plan-kg.nq").write_text(text, encoding="utf-8")
    renamed = Path.rename

    def interrupted(self: Path, target: Path) -> Path:
        if self == staging:
            raise KeyboardInterrupt
        return renamed(self, target)

    monkeypatch.setattr(Path, "rename", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _swap_in(staging, out)
    monkeypatch.undo()
    assert (out / "plan-kg.nq").read_text(encoding="utf-8") == "earlier\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".dist-building-x", "dist"]  # build() removes its staging
