"""Settings files: every way one can be wrong gives one clear message (file, line, field, value, fix)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from emr_platform.constructs.platform import RETENTION_DAYS
from emr_platform.spec.errors import SettingsError
from emr_platform.spec.settings import CONFIG_DIR, RETENTION_PERIODS, available_environments, load_settings


def _write(tmp_path: Path, name: str, text: str) -> Path:
    (tmp_path / f"{name}.yaml").write_text(text)
    return tmp_path


def _dev_with(tmp_path: Path, edit: str, replacement: str) -> Path:
    text = (CONFIG_DIR / "dev.yaml").read_text()
    assert edit in text, edit
    return _write(tmp_path, "dev", text.replace(edit, replacement, 1))


def test_shipped_environments_load() -> None:
    assert available_environments() == ["dev", "prod", "staging"]
    for env in available_environments():
        settings = load_settings(env)
        assert settings.environment == env
        assert settings.clusters


@pytest.mark.parametrize(
    ("edit", "replacement", "expected"),
    [
        # wrong type
        (
            "spot_capacity: 2",
            'spot_capacity: "2"',
            ["config.yaml", "clusters.analytics.instance_fleets.core.spot_capacity", "'2'", "Fix:"],
        ),
        # negative count
        (
            "spot_capacity: 2",
            "spot_capacity: -1",
            ["clusters.analytics.instance_fleets.core.spot_capacity", "greater than or equal to 0", "-1", "Fix:"],
        ),
        # unknown instance type format
        (
            "instance_type: r7g.xlarge",
            "instance_type: r7g-xlarge",
            ["instance_types[0].instance_type", "not an EC2 instance type", "'r7g-xlarge'", "Fix: write it as EC2"],
        ),
        # unknown field (a typo is an error, not an ignored setting)
        ("idle_timeout_minutes: 30", "idle_timout_minutes: 30", ["idle_timout_minutes", "unknown setting"]),
        # out of EMR's range
        ("idle_timeout_minutes: 30", "idle_timeout_minutes: 0", ["idle_timeout_minutes", "(got 0)"]),
        # release the package does not know
        (
            "release_label: emr-7.13.0",
            "release_label: emr-9.9.9",
            ["release_label", "'emr-9.9.9'", "emr-7.14.0", "docs/releases.md"],
        ),
        # application the release does not ship
        ("[Hadoop, Spark, Hive, Livy]", "[Hadoop, Spark, Sqoop]", ["does not ship the application 'Sqoop'"]),
        # zones of another region
        ("[eu-west-1a, eu-west-1b]", "[us-east-1a]", ["availability zone 'us-east-1a' is not in region eu-west-1"]),
        # account ID shape
        ('account: "111111111111"', "account: 1111", ["account", "1111"]),
        # retention CloudWatch does not accept
        ("flow_logs_retention_days: 30", "flow_logs_retention_days: 31", ["flow_logs_retention_days", "use one of"]),
        # tags CloudFormation would refuse at deploy time: a reserved prefix, a value too long
        ("  environment: dev\n", "  aws:environment: dev\n", ["tags", "tag key 'aws:environment'", "reserved 'aws:'"]),
        ("  environment: dev\n", f"  environment: {'x' * 257}\n", ["tags", "value of tag 'environment'", "256"]),
    ],
)
def test_fails_with_a_clear_message(tmp_path: Path, edit: str, replacement: str, expected: list[str]) -> None:
    config = _dev_with(tmp_path, edit, replacement)
    with pytest.raises(SettingsError) as raised:
        load_settings("dev", config)
    message = str(raised.value).replace(f"{config}/dev.yaml", "config.yaml")
    assert "dev.yaml:" in str(raised.value)  # the file and its line
    for part in expected:
        assert part in message, message
    assert "Fix: " in message


def test_fails_naming_the_line_of_the_bad_field(tmp_path: Path) -> None:
    config = _dev_with(tmp_path, "spot_capacity: 2", "spot_capacity: -1")
    line = next(
        i for i, text in enumerate((config / "dev.yaml").read_text().splitlines(), 1) if "spot_capacity: -1" in text
    )
    with pytest.raises(SettingsError, match=rf"dev\.yaml:{line}: "):
        load_settings("dev", config)


def test_fails_on_an_unknown_environment() -> None:
    with pytest.raises(
        SettingsError, match=r"no settings file for environment 'qa'.*Fix: use one of dev, prod, staging"
    ):
        load_settings("qa")


def test_fails_when_the_name_does_not_match_the_file(tmp_path: Path) -> None:
    config = _dev_with(tmp_path, "environment: dev", "environment: prod")
    with pytest.raises(SettingsError, match=r"does not match the file name \(got 'prod'\)"):
        load_settings("dev", config)


def test_fails_on_duplicate_keys(tmp_path: Path) -> None:
    config = _dev_with(tmp_path, "region: eu-west-1", "region: eu-west-1\nregion: us-east-1")
    with pytest.raises(
        SettingsError,
        match=r"dev\.yaml:8: duplicate key 'region': the second one would silently win\. Fix: keep one of "
        r"them \(the first is on line 7\)$",
    ):
        load_settings("dev", config)


def test_fails_on_invalid_yaml(tmp_path: Path) -> None:
    config = _write(tmp_path, "dev", "environment: dev\nclusters: [\n")
    with pytest.raises(SettingsError, match=r"not valid YAML"):
        load_settings("dev", config)


def test_fails_on_a_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    config = _write(tmp_path, "dev", "- just\n- a list\n")
    with pytest.raises(SettingsError, match=r"must be a mapping"):
        load_settings("dev", config)


def test_reports_every_problem_at_once(tmp_path: Path) -> None:
    text = (CONFIG_DIR / "dev.yaml").read_text()
    text = text.replace("spot_capacity: 2", "spot_capacity: -1", 1).replace('"111111111111"', '"12"')
    config = _write(tmp_path, "dev", text)
    with pytest.raises(SettingsError) as raised:
        load_settings("dev", config)
    lines = str(raised.value).splitlines()
    assert len(lines) == 2
    assert all("Fix: " in line for line in lines)


def test_missing_required_settings_are_named(tmp_path: Path) -> None:
    data = yaml.safe_load((CONFIG_DIR / "dev.yaml").read_text())
    del data["account"]
    config = _write(tmp_path, "dev", yaml.safe_dump(data))
    with pytest.raises(SettingsError, match=r"account: required setting is missing"):
        load_settings("dev", config)


def test_every_retention_period_of_the_settings_has_its_cdk_spelling() -> None:
    # The settings accept RETENTION_PERIODS; the stack maps each to logs.RetentionDays. A period in one list only
    # would be a KeyError at synth (or a setting nobody can choose).
    assert set(RETENTION_DAYS) == set(RETENTION_PERIODS)
