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


def test_a_settings_file_named_but_not_there_is_an_error_not_the_defaults(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such settings file; check the path given to --config"):
        Settings.load(tmp_path / "nonexistent.toml")


@pytest.mark.parametrize("iri", ["not a url/", "a b/", "urn:plan-kg/", "https://example.org/a b/", "https://ex.org/<x>/",
                                 "https://", "http:///"])
def test_a_base_iri_that_is_not_an_absolute_http_iri_is_refused_at_once(iri: str) -> None:
    with pytest.raises(ValueError, match="base_iri must be an absolute http"):
        Settings(base_iri=iri)
    with pytest.raises(ValueError, match="public_base_iri must be an absolute http"):
        Settings(public_base_iri=iri)


def test_a_public_base_iri_ends_with_a_slash_and_empty_means_not_set() -> None:
    with pytest.raises(ValueError, match="public_base_iri must end with '/'"):
        Settings(public_base_iri="https://example.org")  # it would serve https://example.orgsparql
    assert Settings(public_base_iri="").public_base_iri == ""  # TOML's way of leaving it unset
    assert Settings(base_iri="http://[::1]:8000/kg/").base_iri == "http://[::1]:8000/kg/"


def test_the_command_line_says_what_is_wrong_with_a_base_iri_or_a_settings_file(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from plan_kg.cli import main

    out = tmp_path / "dist"
    bad_iri = CliRunner().invoke(main, ["--base-iri", "not a url/", "--out", str(out), "build"])
    assert bad_iri.exit_code == 2 and "base_iri must be an absolute http(s) IRI" in bad_iri.output
    assert "Traceback" not in bad_iri.output and not out.exists()  # before any building
    missing = CliRunner().invoke(main, ["--config", str(tmp_path / "nope.toml"), "--out", str(out), "build"])
    assert missing.exit_code == 2 and "no such settings file" in missing.output and not out.exists()
