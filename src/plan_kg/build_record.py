"""What a build was made from, recorded in its output, so that a stale `dist/` can be told and built again.

`plan-kg build` writes `.plan-kg-build.json` into the output folder with everything else (so it is
swapped in with them, or not at all): a digest of each input that decides the output's bytes. Those
are the sources (the data folder), the ontology and the shapes, the settings the output mentions
(base IRI, public base IRI), plan-kg's own build code (the modules the build imports: `build_modules`)
and the versions of the libraries that write the files, taken before the build reads them (a source
edited meanwhile makes the build stale). `plan-kg serve` and `plan-kg query` compare it with what is there now
(`changed_inputs`) and build again when any differs: after a `git pull` or an edited source they
serve what the sources say, not an old build (one such build kept a broken JSON-LD reference).

The reasoning engine is not an input: both give byte-identical output (tests/test_build.py).
The record holds digests only, never a path, so a build is byte-identical wherever it is written.
It is not a download: its name starts with a dot, and no listing or copy of `dist/` takes those.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import json
from pathlib import Path

from . import __version__
from .config import Settings

RECORD_NAME = ".plan-kg-build.json"

#: The libraries whose writers and reasoners shape the output's bytes.
_LIBRARIES = ("rdflib", "owlrl", "pyshacl", "pyoxigraph", "pylode", "matplotlib")

_PACKAGE = Path(__file__).resolve().parent


def current_inputs(settings: Settings) -> dict[str, str]:
    """A digest of each input of a build with `settings`, by a name that says where it is."""
    versions = {name: _version(name) for name in _LIBRARIES}
    code = list(build_modules())
    return {
        f"the sources ({_shown(settings, settings.data_dir)})": _digest(settings.data_dir, _files(settings.data_dir)),
        f"the ontology ({_shown(settings, settings.ontology_dir)})":
            _digest(settings.ontology_dir, _files(settings.ontology_dir)),
        f"the shapes ({_shown(settings, settings.shapes_dir)})": _digest(settings.shapes_dir, _files(settings.shapes_dir)),
        "the base IRI (base_iri)": _text_digest(settings.base_iri),
        "the public base IRI (public_base_iri)": _text_digest(settings.public_base_iri or ""),
        f"plan-kg's build code (version {__version__})": _digest(_PACKAGE, code),
        "the RDF libraries' versions": _text_digest(json.dumps(versions, sort_keys=True)),
    }


def build_modules() -> tuple[Path, ...]:
    """The files of the package's modules `plan_kg.build` imports, directly or not, sorted: read from their
    import statements (those inside functions too), so that editing the server, the pages, the exports
    or the command line does not make a build stale."""
    found: dict[str, Path] = {}
    todo = ["plan_kg.build"]
    while todo:
        name = todo.pop()
        if name in found or (path := _module_file(name)) is None:
            continue
        found[name] = path
        todo += [name.rsplit(".", depth)[0] for depth in range(1, name.count(".") + 1)]  # its packages' __init__
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
            if isinstance(node, ast.Import):
                todo += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1]) if node.level else ""
                module = ".".join(part for part in (base, node.module or "") if part)
                todo += [module, *(f"{module}.{alias.name}" for alias in node.names)]  # `from . import x`: x may be one
    return tuple(sorted(found.values()))


def _module_file(name: str) -> Path | None:
    """The file of the package's module `name` (plan_kg.x.y), or None for another package's or a name in a module."""
    parts = name.split(".")
    if parts[0] != "plan_kg":
        return None
    folder = _PACKAGE.joinpath(*parts[1:])
    for path in (folder / "__init__.py", folder.with_suffix(".py")):
        if path.is_file():
            return path
    return None


def write_record(out_dir: Path, inputs: dict[str, str]) -> Path:
    """Write the record of a build from `inputs` (`current_inputs`, taken before the build read them) into
    `out_dir` (the folder being built); its path."""
    path = out_dir / RECORD_NAME
    record = {"plan_kg": __version__, "inputs": inputs}
    path.write_text(json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def changed_inputs(settings: Settings) -> tuple[str, ...] | None:
    """The inputs that differ from those `settings.dist_dir` was built from: () when none does;
    None when it has no readable record (built by hand, or by a plan-kg that kept none)."""
    try:
        recorded = json.loads((settings.dist_dir / RECORD_NAME).read_text(encoding="utf-8"))["inputs"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(recorded, dict):
        return None
    current = current_inputs(settings)
    # An input named differently then (another version of plan-kg, another folder) counts as changed.
    return tuple(name for name, digest in current.items() if recorded.get(name) != digest)


def _files(folder: Path) -> list[Path]:
    """The files under `folder` in a fixed order, without hidden ones and Python's byte code."""
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.rglob("*") if path.is_file()
                  and not any(part.startswith(".") or part == "__pycache__" for part in path.relative_to(folder).parts))


def _digest(folder: Path, files: list[Path]) -> str:
    """SHA-256 over each file's path under `folder` and its bytes (a renamed file changes it too)."""
    digest = hashlib.sha256()
    for path in files:
        content = path.read_bytes()
        name = path.relative_to(folder).as_posix().encode("utf-8")
        digest.update(b"%d:%s%d:" % (len(name), name, len(content)))
        digest.update(content)
    return digest.hexdigest()


def _text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _shown(settings: Settings, folder: Path) -> str:
    """`folder` as the user knows it: relative to the project root when inside it (never in the digest)."""
    try:
        return folder.resolve().relative_to(settings.root.resolve()).as_posix() + "/"
    except ValueError:
        return folder.name + "/"
