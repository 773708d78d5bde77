"""plan_kg.config: plan-kg.toml read with a clear error for a setting that cannot be used."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import fields
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
                               'trusted_proxies = ["127.0.0.1"]\npublic_base_iri = "https://example.org/"\n'
                               'access_log = true\n')
    assert (settings.query_timeout_s, settings.worker_memory_store_quads) == (5, 0)
    assert settings.access_log is True and Settings().access_log is False
    assert settings.trusted_proxies == ("127.0.0.1",)


@pytest.mark.parametrize("line, said", [
    ('worker_memory_store_quads = "many"', "setting 'worker_memory_store_quads' is 'many'; it must be a whole number"),
    ("query_workers = true", "setting 'query_workers' is True; it must be a whole number"),
    ("query_timeout_s = \"30\"", "setting 'query_timeout_s' is '30'; it must be a number"),
    ('access_log = "yes"', "setting 'access_log' is 'yes'; it must be true or false"),
    ("access_log = 1", "setting 'access_log' is 1; it must be true or false"),
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
    assert Settings(base_iri="https://example.org/plans#").base_iri == "https://example.org/plans#"  # a hash namespace
    assert Settings(public_base_iri="https://data.example.jp:8443/.well/a..b/").public_path == "/.well/a..b"


@pytest.mark.parametrize("iri, said", [
    ("https://data.example.jp/a#/", "public_base_iri must have no fragment ('#')"),  # every path would name /a
    ("https://data.example.jp/nishitokyo/?x=/", "public_base_iri must have no query ('?')"),
    ("https://data.example.jp/?/", "public_base_iri must have no query ('?')"),
    ("https://data.example.jp:99999/a/", "public_base_iri has port '99999'; write a port from 1 to 65535, or none"),
    ("https://data.example.jp:0/a/", "public_base_iri has port '0'"),
    ("https://data.example.jp/a/../b/", "no '.' or '..' segment in its path; write the path they stand for, "
                                        "here 'https://data.example.jp/b/'"),
    ("https://data.example.jp/a/./", "here 'https://data.example.jp/a/'"),
    ("https://data.example.jp/%2E%2E/a/", "no '.' or '..' segment"),
])
def test_a_public_base_iri_that_would_not_be_where_the_site_is_is_refused(tmp_path: Path, iri: str, said: str) -> None:
    with pytest.raises(ValueError) as failed:
        Settings(public_base_iri=iri)
    assert said in str(failed.value) and str(failed.value).endswith(repr(iri))
    with pytest.raises(SourceError) as failed:  # the file's value: the file is named
        _load(tmp_path, f'public_base_iri = "{iri}"\n')
    assert str(failed.value).startswith(f"{tmp_path / 'plan-kg.toml'}: public_base_iri ") and said in str(failed.value)


@pytest.mark.parametrize("iri, said", [
    ("https://data.example.jp/a#/", "base_iri must have a '#' only at its end; write the namespace"),
    ("https://data.example.jp/a?x#", "base_iri must have no query ('?')"),
    ("https://data.example.jp/?x=/", "base_iri must have no query ('?')"),
    ("https://data.example.jp:99999/a/", "base_iri has port '99999'"),
    ("https://data.example.jp/a/../b#", "base_iri must have no '.' or '..' segment in its path; write the path "
                                        "they stand for, here 'https://data.example.jp/b#'"),
])
def test_a_base_iri_with_a_query_a_fragment_within_a_bad_port_or_dot_segments_is_refused(iri: str, said: str) -> None:
    with pytest.raises(ValueError) as failed:
        Settings(base_iri=iri)
    assert str(failed.value).startswith(said) and str(failed.value).endswith(repr(iri))


def test_the_site_is_served_under_the_path_of_the_public_base_iri() -> None:
    assert Settings(public_base_iri="https://data.example.jp/nishitokyo/").public_path == "/nishitokyo"
    assert Settings(public_base_iri="https://data.example.jp/a/b/").public_path == "/a/b"
    assert Settings(public_base_iri="https://data.example.jp/").public_path == ""
    assert Settings().public_path == ""
    # As links and Location headers need it: a URI path, percent-encoded.
    assert Settings(public_base_iri="https://data.example.jp/西東京/").public_path == "/%E8%A5%BF%E6%9D%B1%E4%BA%AC"


def test_the_command_line_says_what_is_wrong_with_a_base_iri_or_a_settings_file(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from plan_kg.cli import main

    out = tmp_path / "dist"
    bad_iri = CliRunner().invoke(main, ["--base-iri", "not a url/", "--out", str(out), "build"])
    assert bad_iri.exit_code == 2 and "base_iri must be an absolute http(s) IRI" in bad_iri.output
    assert "Traceback" not in bad_iri.output and not out.exists()  # before any building
    missing = CliRunner().invoke(main, ["--config", str(tmp_path / "nope.toml"), "--out", str(out), "build"])
    assert missing.exit_code == 2 and "no such settings file" in missing.output and not out.exists()


#: Every folder setting: each is read (must exist) but the build's output, which is made inside an existing folder.
FOLDERS = [f.name for f in fields(Settings) if f.type == "Path"]


@pytest.mark.parametrize("name", FOLDERS)
def test_a_folder_setting_that_is_not_there_names_the_file_the_setting_and_what_to_do(tmp_path: Path,
                                                                                    name: str) -> None:
    written = "missing/dist" if name == "dist_dir" else "plan-kgg"  # the output's own folder may be new
    with pytest.raises(SourceError) as failed:
        _load(tmp_path, f'{name} = "{written}"\n')
    said = str(failed.value)  # a relative path is taken from the file's folder: the message says where that is
    assert said.startswith(f"{tmp_path / 'plan-kg.toml'}: setting '{name}' is '{written}' "
                           f"({tmp_path.resolve() / written}), ")
    assert said.endswith(" or remove it") and f"; set {name} to " in said
    if name == "dist_dir":
        assert f"whose parent {tmp_path.resolve() / 'missing'} does not exist" in said
    else:
        assert ", which does not exist; " in said
    assert not (tmp_path / written).exists()


@pytest.mark.parametrize("name", FOLDERS)
def test_a_folder_setting_that_is_a_file_is_refused(tmp_path: Path, name: str) -> None:
    (tmp_path / "notes.txt").write_text("", encoding="utf-8")
    with pytest.raises(SourceError, match=f"setting '{name}' is 'notes.txt' .*, which is a file, not a folder; "
                                          f"set {name} to "):
        _load(tmp_path, f'{name} = "notes.txt"\n')


def test_folder_settings_that_are_there_are_taken_relative_to_the_file(tmp_path: Path) -> None:
    for name in FOLDERS:
        (tmp_path / name).mkdir()
    settings = _load(tmp_path, "".join(f'{name} = "{name}"\n' for name in FOLDERS if name != "dist_dir")
                     + 'dist_dir = "new-dist"\n')  # the output is made by the build
    here = tmp_path.resolve()
    assert settings.root == here / "root" and settings.dist_dir == here / "new-dist"
    assert all(getattr(settings, name) == here / name for name in FOLDERS if name != "dist_dir")
    # The file's output folder given again on the command line: the one given is used, the file's is not checked.
    config = tmp_path / "plan-kg.toml"
    config.write_text('dist_dir = "missing/dist"\n', encoding="utf-8")
    assert Settings.load(config, dist_dir=tmp_path / "out").dist_dir == tmp_path / "out"


def test_a_folder_setting_starting_with_a_tilde_is_in_the_users_home(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    (home / "plan-kg" / "data").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    settings = _load(tmp_path, 'data_dir = "~/plan-kg/data"\ndist_dir = "~/plan-kg/dist"\n')
    assert (settings.data_dir, settings.dist_dir) == (home.resolve() / "plan-kg" / "data", home.resolve() / "plan-kg" / "dist")
    with pytest.raises(SourceError, match=rf"setting 'queries_dir' is '~/nowhere' \({re.escape(str(home.resolve()))}/nowhere\), "
                                          "which does not exist"):
        _load(tmp_path, 'queries_dir = "~/nowhere"\n')


def test_a_folder_setting_holding_a_nul_is_refused_with_the_file_and_the_setting(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as failed:  # was a bare ValueError ("embedded null byte") with a traceback
        _load(tmp_path, 'root = "x\\u0000y"\n')
    assert str(failed.value) == (f"{tmp_path / 'plan-kg.toml'}: setting 'root' holds a NUL character (\\u0000); "
                                 "write the folder's path")


@pytest.mark.parametrize("command", [["query", "counts-per-level"], ["build"]])
def test_a_root_that_is_not_there_is_refused_before_anything_is_made_under_it(tmp_path: Path,
                                                                            command: list[str]) -> None:
    config = tmp_path / "plan-kg.toml"
    config.write_text(f'root = "{tmp_path / "plan-kgg"}"\ndist_dir = "dist"\n', encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "plan_kg", "--config", str(config), *command],
                          capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert done.returncode == 2, done.stderr
    assert (f"{config}: setting 'root' is '{tmp_path / 'plan-kgg'}', which does not exist; set root to the "
            "project's folder (the one with data/ and queries/) or remove it" in " ".join(done.stderr.split()))
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "plan-kgg").exists() and not (tmp_path / "dist").exists()  # no .cache/, no build


#: Values of the right type that no server could run with, each with what the error says to write.
OUT_OF_RANGE = [
    ("max_concurrent_per_client", "0", "it must be a whole number above 0, such as 4 (the default)"),
    ("max_body_bytes", "-1", "it must be a whole number above 0, such as 1000000"),
    ("max_result_rows", "-5", "it must be a whole number above 0"),
    ("query_workers", "0", "it must be a whole number above 0, such as 3"),
    ("response_cache_entry_bytes", "0", "it must be a whole number above 0"),
    ("query_timeout_s", "-1", "it must be a number above 0, such as 30.0 (the default)"),
    ("query_timeout_s", "0", "it must be a number above 0"),
    ("query_timeout_s", "nan", "it must be a number above 0"),
    ("query_timeout_s", "inf", "it must be a number above 0"),
    ("send_timeout_s", "0.0", "it must be a number above 0, such as 60.0"),
    ("preempt_after_s", "-0.5", "a number of at least 0 (0: a query waits for a worker up to the time limit)"),
    ("preempt_after_s", "inf", "it must be a number of at least 0"),
    ("max_response_bytes", "-1", "it must be a whole number of at least 0 (0: no limit), such as 64000000"),
    ("max_workers_per_client", "-1", "of at least 0 (0: all workers but one)"),
    ("worker_memory_store_quads", "-1", "of at least 0 (0: every query reads the on-disk store)"),
    ("in_process_rows", "-100", "of at least 0 (0: every query goes to a worker)"),
    ("in_process_named_s", "-0.001", "of at least 0 (0: named queries go to a worker as every query does)"),
    ("query_memory_bytes", "-2000000000", "of at least 0 (0: no limit)"),
    ("response_cache_bytes", "-1", "of at least 0 (0: no cache)"),
    ("response_max_age_s", "-300", "of at least 0"),
    ("trusted_proxies", '["127.0.0.1", "not-an-ip"]', "has 'not-an-ip'; each entry must be an IP address or a CIDR"),
    ("trusted_proxies", '["10.0.0.0/33"]', "has '10.0.0.0/33'; each entry must be an IP address or a CIDR range"),
    ("trusted_proxies", '["10.0.0.1/8"]', "this one would be '10.0.0.0/8'"),  # uvicorn would never match it
    ("trusted_proxies", '["*"]', "each entry must be an IP address or a CIDR range, such as '127.0.0.1'"),
    ("trusted_proxies", '[" 127.0.0.1"]', "has ' 127.0.0.1'"),
    ("service_allow_list", '["not an iri"]', "has 'not an iri'; each entry must be an endpoint's absolute http(s) IRI"),
    ("service_allow_list", '["urn:x:sparql"]', "has 'urn:x:sparql'"),
    ("service_allow_list", '["https://ok.example/sparql", "https:///sparql"]', "has 'https:///sparql'"),
    ("service_allow_list", '["https://other-city.example:99999/sparql"]', "with a port from 1 to 65535 or none, not "
                                                                          "'99999'"),
    # The largest TOML integer: the server took it and then failed (islice, setrlimit); no setting needs more.
    ("in_process_rows", "9223372036854775807", "it must be a whole number of at most 9,007,199,254,740,992, "
                                               "such as 100 (the default)"),
    ("max_result_rows", "9007199254740993", "it must be a whole number of at most 9,007,199,254,740,992"),
    ("query_memory_bytes", "9223372036854775807", "of at most 9,007,199,254,740,992, such as 2000000000"),
    ("max_body_bytes", "9223372036854775807", "of at most 9,007,199,254,740,992"),
    ("query_timeout_s", "1e300", "it must be a number of at most 1,000,000 (seconds, about 11.6 days), such as 30.0"),
    ("send_timeout_s", "9223372036854775807", "it must be a number of at most 1,000,000 (seconds"),
    ("preempt_after_s", "1_000_000.5", "it must be a number of at most 1,000,000"),
    ("response_max_age_s", "2147483649", "it must be a whole number of at most 2,147,483,648 (seconds; a cache reads "
                                         "a larger max-age as this), such as 300"),
]


def _python(text: str) -> object:
    """A TOML value as Python, for the same setting built in code."""
    import tomllib

    value = tomllib.loads(f"v = {text}")["v"]
    return tuple(value) if isinstance(value, list) else value


@pytest.mark.parametrize("name, value, said", OUT_OF_RANGE)
def test_a_setting_out_of_range_in_the_file_names_the_file_the_setting_and_what_to_write(
        tmp_path: Path, name: str, value: str, said: str) -> None:
    with pytest.raises(SourceError) as failed:
        _load(tmp_path, f"{name} = {value}\n")
    assert str(failed.value).startswith(f"{tmp_path / 'plan-kg.toml'}: setting '{name}' ")
    assert said in str(failed.value)
    assert "PLAN_KG_BASE_IRI" not in str(failed.value)  # the file's own value: the file is where to fix it


@pytest.mark.parametrize("name, value, said", OUT_OF_RANGE)
def test_a_setting_out_of_range_built_in_code_is_refused_the_same_way(name: str, value: str, said: str) -> None:
    with pytest.raises(ValueError) as failed:
        Settings(**{name: _python(value)})
    assert str(failed.value).startswith(f"setting '{name}' ") and said in str(failed.value)


def test_a_value_out_of_range_given_to_load_is_not_blamed_on_the_file(tmp_path: Path) -> None:
    config = tmp_path / "plan-kg.toml"
    config.write_text("max_body_bytes = 1000\n", encoding="utf-8")
    with pytest.raises(SourceError, match="setting 'max_body_bytes' is -1; .*or the command line"):
        Settings.load(config, max_body_bytes=-1)


@pytest.mark.parametrize("name, value", [("query_workers", True), ("max_result_rows", 5.0), ("query_timeout_s", "30"),
                                         ("trusted_proxies", "127.0.0.1"), ("service_allow_list", ("x", 1))])
def test_a_setting_of_the_wrong_type_built_in_code_is_refused(name: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"setting '{name}' is .*; it must be a"):
        Settings(**{name: value})


def test_a_switch_built_in_code_is_true_or_false_not_anything_truthy() -> None:
    with pytest.raises(ValueError, match="setting 'access_log' is 'yes'; it must be true or false"):
        Settings(access_log="yes")


def test_every_number_that_may_be_0_means_what_its_comment_says_and_the_rest_take_their_least(tmp_path: Path) -> None:
    zeros = ["max_response_bytes", "max_workers_per_client", "preempt_after_s", "worker_memory_store_quads",
             "in_process_rows", "in_process_named_s", "query_memory_bytes", "response_cache_bytes",
             "response_max_age_s", "receive_timeout_s", "send_min_bytes_per_s"]
    numbers = [f.name for f in fields(Settings) if f.type in ("int", "float")]
    least = {name: 0 if name in zeros else 1 for name in numbers}
    settings = _load(tmp_path, "".join(f"{name} = {value}\n" for name, value in least.items())
                     + 'trusted_proxies = ["127.0.0.1", "::1", "10.0.0.0/8", "fe80::/10", "192.168.1.7/32"]\n'
                     + 'service_allow_list = ["https://other-city.example/sparql", "http://[::1]:8000/sparql"]\n')
    assert {name: getattr(settings, name) for name in numbers} == least
    assert Settings(query_timeout_s=0.5, send_timeout_s=0.01, preempt_after_s=0.5).query_timeout_s == 0.5
    for name, value in least.items():  # every number has a least value, a new one too
        with pytest.raises(ValueError, match=f"setting '{name}' is {value - 1}; it must be"):
            Settings(**{name: value - 1})


def test_every_number_has_a_most_that_is_taken_and_nothing_above_it(tmp_path: Path) -> None:
    numbers = {f.name: f.type for f in fields(Settings) if f.type in ("int", "float")}
    most = {name: 10**6 if kind == "float" else 2**53 for name, kind in numbers.items()}
    most["response_max_age_s"] = 2**31  # RFC 9111 1.2.2
    settings = _load(tmp_path, "".join(f"{name} = {value}\n" for name, value in most.items()))
    assert {name: getattr(settings, name) for name in numbers} == most
    for name, value in most.items():  # every number has a most, a new one too
        over = value + 1 if numbers[name] == "int" else value * (1 + 1e-15)
        with pytest.raises(ValueError, match=f"setting '{name}' is {over!r}; it must be .* of at most"):
            Settings(**{name: over})


@pytest.mark.parametrize("command", [["serve", "--port", "0"], ["query", "counts-per-level"]])
def test_the_command_line_says_what_is_wrong_with_a_setting_and_exits_without_a_traceback(
        tmp_path: Path, command: list[str]) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('root = "."\ndist_dir = "dist"\nmax_concurrent_per_client = 0\n', encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "plan_kg", "--config", str(config), *command],
                          capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert done.returncode == 2, done.stderr
    assert (f"{config}: setting 'max_concurrent_per_client' is 0; it must be a whole number above 0, such as 4"
            in " ".join(done.stderr.split()))  # click may wrap the line
    assert "Traceback" not in done.stderr and not (tmp_path / "dist").exists()  # refused before any building


def test_a_value_out_of_range_without_a_settings_file_blames_no_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("plan_kg.config.PROJECT_ROOT", tmp_path)  # a project without plan-kg.toml
    with pytest.raises(SourceError) as failed:
        Settings.load(base_iri="https://example.org/kg")
    assert str(failed.value) == ("settings: base_iri must end with '/' or '#': 'https://example.org/kg' "
                                 "(from PLAN_KG_BASE_IRI or the command line)")
