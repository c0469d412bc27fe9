"""The settings loader treats a settings file as hostile input: every way it can be wrong is one short line.

Each failing case asserts the message's shape: it starts with the file, names the line (and the field where there
is one), says "Fix:", and stays under 400 characters whatever the input.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from emr_platform.spec import loader
from emr_platform.spec.errors import EmrPlatformError, SettingsError
from emr_platform.spec.loader import MAX_DEPTH, MAX_FILE_BYTES, MAX_VALUES, load_yaml
from emr_platform.spec.model import Spec
from emr_platform.spec.settings import CONFIG_DIR, load_pipeline_settings, load_settings
from emr_platform.spec.validation import MAX_PROBLEMS

DEV = (CONFIG_DIR / "dev.yaml").read_text(encoding="utf-8")


def _dev(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "dev.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return tmp_path


def _edited(old: str, new: str) -> str:
    assert old in DEV, old
    return DEV.replace(old, new, 1)


def _line_of(text: str, fragment: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


def _fails(config: Path, *expected: str, name: str = "dev") -> str:
    """The one-line message of loading ``config/<name>.yaml``, checked for the project's shape."""
    with pytest.raises(SettingsError) as raised:
        load_settings(name, config)
    message = str(raised.value)
    _assert_shape(message, str(config / f"{name}.yaml"), *expected)
    return message


def _assert_shape(message: str, file: str, *expected: str) -> None:
    assert message.startswith(file), message
    assert "\n" not in message, message
    assert ". Fix: " in message, message
    assert len(message) < 400, (len(message), message)
    for part in expected:
        assert part in message, (part, message)


# --- the file itself ----------------------------------------------------------------------------------------------


def test_fails_on_a_file_over_the_size_limit(tmp_path: Path) -> None:
    padding = "# " + "x" * 1000 + "\n"
    config = _dev(tmp_path, DEV + padding * (MAX_FILE_BYTES // len(padding) + 1))
    _fails(config, "dev.yaml: the file has", "more than the 1 MiB a settings file may have")


def test_fails_on_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    text = _edited("web-logs raw to curated", "café raw to curated")
    config = _dev(tmp_path, text.encode("latin-1"))
    _fails(config, f"dev.yaml:{_line_of(text, 'café')}: the file is not UTF-8 text (byte 0xe9", "Fix: save it as UTF-8")


def test_fails_on_a_utf16_file(tmp_path: Path) -> None:
    config = _dev(tmp_path, DEV.encode("utf-16"))
    _fails(config, "dev.yaml:1: the file is UTF-16 text, not UTF-8", "Fix: save it as UTF-8")


def test_fails_on_a_nul_byte(tmp_path: Path) -> None:
    config = _dev(tmp_path, _edited("region: eu-west-1", "region: eu-west-1\0"))
    _fails(config, f"dev.yaml:{_line_of(DEV, 'region:')}: the file holds a NUL byte")


def test_fails_on_a_control_character(tmp_path: Path) -> None:
    config = _dev(tmp_path, _edited("region: eu-west-1", "region: eu-west-1\x07"))
    _fails(config, f"dev.yaml:{_line_of(DEV, 'region:')}: the control character U+0007 is not allowed")


def test_a_utf8_byte_order_mark_is_fine(tmp_path: Path) -> None:
    config = _dev(tmp_path, "\ufeff" + DEV)
    assert load_settings("dev", config).environment == "dev"


def test_fails_on_an_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _dev(tmp_path, DEV)

    def denied(*_: Any, **__: Any) -> Any:
        raise PermissionError(13, "Permission denied")

    # chmod 000 does not stop root (which runs this suite in containers), so the loader's open is refused instead.
    monkeypatch.setattr(loader, "open", denied, raising=False)
    _fails(config, "dev.yaml: cannot be read (permission denied). Fix: make it readable")


def test_fails_on_a_directory_named_like_a_settings_file(tmp_path: Path) -> None:
    (tmp_path / "dev.yaml").mkdir()
    _fails(tmp_path, "dev.yaml: is a directory, not a settings file")


def test_fails_on_a_symbolic_link_loop(tmp_path: Path) -> None:
    (tmp_path / "dev.yaml").symlink_to("dev.yaml")
    _fails(tmp_path, "dev.yaml: is a symbolic link that leads back to itself", "Fix: point the link at")


def test_fails_on_a_dangling_symbolic_link(tmp_path: Path) -> None:
    (tmp_path / "dev.yaml").symlink_to("gone.yaml")
    _fails(tmp_path, "dev.yaml: is a symbolic link to gone.yaml, which does not exist")


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"], ids=["empty", "blank", "comments"])
def test_fails_on_an_empty_file(tmp_path: Path, text: str) -> None:
    _fails(_dev(tmp_path, text), "dev.yaml: the file is empty", "Fix: start with 'environment: <name>'")


# --- limits on the document ---------------------------------------------------------------------------------------


def test_fails_on_nesting_deeper_than_the_limit(tmp_path: Path) -> None:
    deep = "[" * 10_000 + "]" * 10_000  # beyond Python's recursion limit, were it composed recursively
    config = _dev(tmp_path, DEV + f"deep: {deep}\n")
    message = _fails(config, f"nested more than {MAX_DEPTH} levels deep", "Fix: flatten")
    assert re.match(rf"{re.escape(str(config))}/dev\.yaml:\d+: ", message)


def test_fails_on_aliases_that_expand_beyond_the_limit(tmp_path: Path) -> None:
    # "Billion laughs": nine aliases of nine aliases ... 9**9 values once expanded, from a few hundred bytes.
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 9)]
    config = _dev(tmp_path, DEV + "\n".join(lines) + "\n")
    first_over = next(i for i in range(9) if 9 ** (i + 1) > MAX_VALUES)
    line = DEV.count("\n") + first_over + 1
    _fails(config, f"dev.yaml:{line}: the document expands to more than {MAX_VALUES} values", "Fix: use fewer")


def test_fails_on_a_recursive_alias(tmp_path: Path) -> None:
    config = _dev(tmp_path, DEV + "loop: &loop [*loop]\n")
    _fails(config, f"dev.yaml:{DEV.count(chr(10)) + 1}: an alias is used inside the value it names")


# --- YAML that is not plain data ----------------------------------------------------------------------------------


def test_fails_on_a_python_tag(tmp_path: Path) -> None:
    config = _dev(tmp_path, DEV + "evil: !!python/object/apply:os.system [echo pwned]\n")
    _fails(config, "evil: the YAML tag !!python/object/apply:os.system is not allowed", "Fix: remove the tag")


def test_fails_on_a_complex_key(tmp_path: Path) -> None:
    config = _dev(tmp_path, DEV + "? [a, b]\n: value\n")
    _fails(config, f"dev.yaml:{DEV.count(chr(10)) + 1}: a list or mapping is used as a key", "Fix: use a plain")


@pytest.mark.parametrize(
    ("key", "kind"),
    [("1", "a number"), ("null", "null"), ("true", "a boolean"), ("on", "a boolean"), ("~", "null")],
)
def test_fails_on_a_key_that_is_not_a_string(tmp_path: Path, key: str, kind: str) -> None:
    config = _dev(tmp_path, DEV + f"{key}: x\n")
    line = DEV.count("\n") + 1
    _fails(config, f"dev.yaml:{line}: the key {key} is {kind} in YAML, not a name", f"Fix: quote it ('{key}': ...)")


def test_fails_on_a_key_that_is_not_a_string_where_the_schema_wants_names(tmp_path: Path) -> None:
    config = _dev(tmp_path, _edited("  project: emr-platform\n", "  project: emr-platform\n  404: not-found\n"))
    _fails(config, f"dev.yaml:{_line_of(DEV, 'project:') + 1}: tags: the key 404 is a number in YAML")


def test_fails_on_a_bare_equals_sign(tmp_path: Path) -> None:
    config = _dev(tmp_path, _edited("region: eu-west-1", "region: ="))
    _fails(config, f"dev.yaml:{_line_of(DEV, 'region:')}: region: a bare = is YAML's 'value' indicator")


def test_an_impossible_date_is_a_string_not_a_traceback(tmp_path: Path) -> None:
    config = _dev(tmp_path, _edited("region: eu-west-1", "region: 2024-13-45"))
    _fails(config, "region: does not have the expected form (got '2024-13-45')")


def test_fails_on_a_number_python_cannot_read(tmp_path: Path) -> None:
    config = _dev(tmp_path, _edited("timeout_minutes: 120", "timeout_minutes: " + "9" * 5000))
    _fails(config, f"dev.yaml:{_line_of(DEV, 'timeout_minutes: 120')}: the value cannot be read")


def test_fails_on_a_second_document(tmp_path: Path) -> None:
    config = _dev(tmp_path, DEV + "---\nenvironment: prod\n")
    _fails(config, "expected a single document in the stream, but found another document")


def test_fails_on_a_tab_with_the_right_fix(tmp_path: Path) -> None:
    config = _dev(tmp_path, _edited("  vpc_cidr:", "\tvpc_cidr:"))
    _fails(config, f"dev.yaml:{_line_of(DEV, 'vpc_cidr:')}: not valid YAML", "Fix: indent with spaces")


# --- merge keys ---------------------------------------------------------------------------------------------------

_ANCHORED = _edited("clusters:\n  analytics:\n", "clusters:\n  analytics: &analytics\n")


def _second_cluster(text: str, *lines: str) -> str:
    """``text`` with a cluster ``batch`` that merges ``analytics`` (``<<: *analytics``) and has ``lines`` too."""
    body = "".join(f"    {line}\n" for line in ("<<: *analytics", *lines))
    marker = "\n# A transient cluster"
    assert marker in text
    return text.replace(marker, f"  batch:\n{body}{marker}", 1)


def test_merge_keys_work_and_a_later_key_overrides_a_merged_one(tmp_path: Path) -> None:
    text = _second_cluster(_ANCHORED, "idle_timeout_minutes: 10", "termination_protection: true")
    settings = load_settings("dev", _dev(tmp_path, text))
    batch, analytics = settings.clusters["batch"], settings.clusters["analytics"]
    assert batch.idle_timeout_minutes == 10 and batch.termination_protection is True
    assert analytics.idle_timeout_minutes == 30 and analytics.termination_protection is False
    assert batch.instance_fleets == analytics.instance_fleets and batch.applications == analytics.applications


def test_a_problem_in_a_merged_value_names_the_line_it_is_written_on(tmp_path: Path) -> None:
    text = _second_cluster(_ANCHORED.replace("spot_capacity: 2", "spot_capacity: -2", 1))
    with pytest.raises(SettingsError) as raised:
        load_settings("dev", _dev(tmp_path, text))
    lines = str(raised.value).splitlines()
    line = _line_of(text, "spot_capacity: -2")
    assert [re.sub(r"^.*dev\.yaml:(\d+): ([^:]+):.*$", r"\1 \2", m) for m in lines] == [
        f"{line} clusters.analytics.instance_fleets.core.spot_capacity",
        f"{line} clusters.batch.instance_fleets.core.spot_capacity",
    ]


def test_a_problem_in_a_key_that_overrides_a_merge_names_its_own_line(tmp_path: Path) -> None:
    text = _second_cluster(_ANCHORED, "idle_timeout_minutes: 0")
    _fails(_dev(tmp_path, text), f"dev.yaml:{_line_of(text, 'idle_timeout_minutes: 0')}: clusters.batch.idle_timeout")


def test_fails_on_a_duplicate_key_next_to_a_merge(tmp_path: Path) -> None:
    text = _second_cluster(_ANCHORED, "idle_timeout_minutes: 10", "idle_timeout_minutes: 20")
    line = _line_of(text, "idle_timeout_minutes: 20")
    _fails(_dev(tmp_path, text), f"dev.yaml:{line}: clusters.batch: duplicate key 'idle_timeout_minutes'")


# --- every problem, and short messages ----------------------------------------------------------------------------


def test_reports_every_problem_of_the_shape_in_one_run(tmp_path: Path) -> None:
    text = DEV + "1: one\n? [a]\n: two\nthree: !!binary aGk=\n"
    with pytest.raises(SettingsError) as raised:
        load_settings("dev", _dev(tmp_path, text))
    lines = str(raised.value).splitlines()
    assert len(lines) == 3, lines
    for line in lines:
        _assert_shape(line, str(tmp_path / "dev.yaml"))


def test_reports_cross_section_problems_together(tmp_path: Path) -> None:
    text = _edited("[eu-west-1a, eu-west-1b]", "[eu-west-1a, us-east-1b]")
    text = text.replace("transient_clusters:\n  weblogs:", "transient_clusters:\n  analytics:", 1)
    with pytest.raises(SettingsError) as raised:
        load_settings("dev", _dev(tmp_path, text))
    lines = str(raised.value).splitlines()
    assert len(lines) == 2, lines
    assert f"dev.yaml:{_line_of(text, 'availability_zones')}: availability_zones[1]: " in lines[0]
    assert "transient_clusters.analytics: 'analytics' names both a cluster and a transient cluster" in lines[1]


def test_a_bad_step_script_is_one_problem_not_two(tmp_path: Path) -> None:
    # pydantic-core also reported "steps: Tuple should have at least 1 item" for a one-step list with a bad step.
    config = _dev(tmp_path, _edited('script: "{sample_job}"', 'script: "job.py"'))
    _fails(config, f"dev.yaml:{_line_of(DEV, 'script:')}: transient_clusters.weblogs.steps[0].script: ")


def test_a_huge_value_is_cut_in_the_message(tmp_path: Path) -> None:
    config = _dev(tmp_path, _edited("region: eu-west-1", "region: " + "x" * 100_000))
    message = _fails(config, "region: does not have the expected form (got 'xxx")
    assert "..." in message or "…" in message


def test_a_huge_unknown_key_is_cut_in_the_message(tmp_path: Path) -> None:
    # An explicit key ("? "): PyYAML refuses implicit keys over 1024 characters.
    config = _dev(tmp_path, DEV + "? " + "k" * 100_000 + "\n: v\n")
    _fails(config, f"dev.yaml:{DEV.count(chr(10)) + 1}: kkk", "unknown setting")


def test_lists_at_most_the_first_problems_then_counts_the_rest(tmp_path: Path) -> None:
    config = _dev(tmp_path, DEV + "".join(f"unknown_{i}: {i}\n" for i in range(MAX_PROBLEMS + 7)))
    with pytest.raises(SettingsError) as raised:
        load_settings("dev", config)
    lines = str(raised.value).splitlines()
    assert len(lines) == MAX_PROBLEMS + 1
    assert re.fullmatch(r".*dev\.yaml: \.\.\. and 7 more problems not shown\. Fix: correct the ones above.*", lines[-1])
    assert all(len(line) < 400 for line in lines)


def test_errors_cut_the_value_they_echo() -> None:
    error = EmrPlatformError(where="here", problem="p" * 5000, value="v" * 5000, fix="f")
    assert len(str(error)) < 400 and str(error).startswith("here: ppp") and str(error).endswith(". Fix: f")


class _Tiny(Spec):
    name: str


def test_construct_props_cut_the_value_they_echo() -> None:
    with pytest.raises(EmrPlatformError) as raised:
        _Tiny.parse({"name": ["x" * 10_000] * 10_000}, where="Stack/Thing: spec")
    assert len(str(raised.value)) < 400, str(raised.value)


# --- the pipeline settings go through the same loader ---------------------------------------------------------------


def test_pipeline_settings_are_loaded_as_safely(tmp_path: Path) -> None:
    (tmp_path / "pipeline.yaml").symlink_to("pipeline.yaml")
    with pytest.raises(SettingsError) as raised:
        load_pipeline_settings(tmp_path)
    _assert_shape(str(raised.value), str(tmp_path / "pipeline.yaml"), "symbolic link that leads back to itself")


def test_the_loader_keeps_the_document_for_line_numbers(tmp_path: Path) -> None:
    path = _dev(tmp_path, DEV) / "dev.yaml"
    document = load_yaml(path)
    assert document.data["environment"] == "dev" and document.text == DEV
    assert document.line(("clusters", "analytics")) == f":{_line_of(DEV, '  analytics:')}"
    assert document.line(("transient_clusters", "weblogs", "steps", 0)) == f":{_line_of(DEV, '- name: web-logs')}"
    assert os.path.samefile(path, document.shown)
