"""The sample Spark job: its parsing rules (without Spark) and how the stack ships it."""

from __future__ import annotations

import importlib.util
import re
from types import ModuleType
from typing import Any

import pytest

from .conftest import PROJECT, Synthesized

JOB = PROJECT / "emr_platform" / "assets" / "jobs" / "web_logs.py"


@pytest.fixture(scope="module")
def job() -> ModuleType:
    spec = importlib.util.spec_from_file_location("web_logs", JOB)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


COMBINED = (
    '203.0.113.7 - alice [10/Oct/2026:13:55:36 +0000] "GET /index.html HTTP/1.1" 200 2326 '
    '"https://example.com/start" "Mozilla/5.0 (X11; Linux x86_64)"'
)
COMMON = '198.51.100.2 - - [10/Oct/2026:13:55:37 +0000] "POST /api/v1/orders HTTP/2.0" 201 -'
HTTP09 = '192.0.2.1 - - [10/Oct/2026:13:55:38 +0000] "GET /" 404 0'


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            COMBINED,
            {
                "client_ip": "203.0.113.7",
                "user": "alice",
                "time_local": "10/Oct/2026:13:55:36 +0000",
                "method": "GET",
                "path": "/index.html",
                "protocol": "HTTP/1.1",
                "status": "200",
                "bytes": "2326",
                "referer": "https://example.com/start",
                "user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
            },
        ),
        (COMMON, {"method": "POST", "status": "201", "bytes": "-", "referer": None, "user_agent": None}),
        (HTTP09, {"path": "/", "protocol": None, "status": "404"}),
    ],
)
def test_the_log_pattern_parses_combined_and_common_lines(
    job: ModuleType, line: str, expected: dict[str, str | None]
) -> None:
    match = re.match(job.LOG_PATTERN, line)
    assert match is not None
    fields = dict(zip(job.FIELDS, match.groups(), strict=True))
    assert {k: fields[k] for k in expected} == expected


@pytest.mark.parametrize("line", ["", "not a log line", '203.0.113.7 - - [10/Oct/2026] "GET /" abc 1'])
def test_malformed_lines_do_not_match(job: ModuleType, line: str) -> None:
    # Spark's regexp_extract returns "" for every group of a line that does not match: the job counts those.
    assert re.match(job.LOG_PATTERN, line) is None


def test_the_pattern_is_also_a_java_pattern(job: ModuleType) -> None:
    # No Python-only syntax: named groups (?P<..>), lookbehind or inline flags would break regexp_extract.
    assert not re.search(r"\(\?P|\(\?<|\(\?[aiLmsux]", job.LOG_PATTERN)
    assert re.compile(job.LOG_PATTERN).groups == len(job.FIELDS)


def test_arguments_are_checked_before_spark_starts(job: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    args = job.parse_args(["--input", "s3://raw/weblogs/", "--output", "s3://curated/weblogs/", "--database", "db"])
    assert (args.table, args.max_malformed) == ("web_logs", 0.01)
    with pytest.raises(SystemExit):
        job.parse_args(["--input", "logs/2026/", "--output", "s3://curated/", "--database", "db"])
    assert "--input must be an s3:// URI, got 'logs/2026/'" in capsys.readouterr().err


def test_every_stack_ships_the_job_and_only_that_object_is_readable(synthesized: Synthesized) -> None:
    for env, template in synthesized.templates.items():
        outputs = template.find_outputs("SampleJobScript")
        assert outputs, env
        value: Any = outputs["SampleJobScript"]["Value"]
        assert "s3://" in str(value) and ".py" in str(value), env
        policies = template.find_resources("AWS::IAM::ManagedPolicy")
        statements = [
            s
            for p in policies.values()
            for s in p["Properties"]["PolicyDocument"]["Statement"]
            if s["Action"] == "s3:GetObject" and ".py" in str(s["Resource"])
        ]
        assert statements, f"{env}: no cluster may read the sample job"
        assert all("*" not in str(s["Resource"]).replace("arn:", "") for s in statements), statements
