"""plan_kg.config: plan-kg.toml read with a clear error for a setting that cannot be used."""

from __future__ import annotations

from pathlib import Path

import pytest

from plan_kg.config import Settings
from plan_kg.errors import SourceError


def _load(tmp_path: Path, text: str) -> Settings:
    config = tmp_path / "plan-kg.toml"
    config.write_text(text, encoding="utf-8")
    return Settings.load(config)


def test_settings_of_the_right_type_are_taken(tmp_path: Path) -> None:
    settings = _load(tmp_path, 'query_timeout_s = 5\nworker_memory_store_quads = 0\n'
                               'trusted_proxies = ["127.0.0.1"]\npublic_base_iri = "https://example.org/"\n')
    assert (settings.query_timeout_s, settings.worker_memory_store_quads) == (5, 0)
    assert settings.trusted_proxies == ("127.0.0.1",)


@pytest.mark.parametrize("line, said", [
    ('worker_memory_store_quads = "many"', "setting 'worker_memory_store_quads' is 'many'; it must be a whole number"),
    ("query_workers = true", "setting 'query_workers' is True; it must be a whole number"),
    ("query_timeout_s = \"30\"", "setting 'query_timeout_s' is '30'; it must be a number"),
    ("trusted_proxies = [1]", "setting 'trusted_proxies' is [1]; it must be a list of strings"),
    ("service_allow_list = \"http://x.example/sparql\"", "it must be a list of strings"),
    ('base_iri = "https://example.org/x"', "base_iri must end with '/' or '#'"),
    ('reasoning_engine = "hermit"', "reasoning_engine must be 'owlrl' or 'reasonable'"),
])
def test_a_setting_that_cannot_be_used_names_the_file_and_the_setting(tmp_path: Path, line: str, said: str) -> None:
    with pytest.raises(SourceError) as failed:
        _load(tmp_path, line + "\n")
    assert str(failed.value).startswith(str(tmp_path / "plan-kg.toml") + ": ")
    assert said in str(failed.value)
