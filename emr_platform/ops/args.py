"""The argument checks: every value against the EMR, S3 and Step Functions API rules before any AWS call."""

from __future__ import annotations

import argparse
import functools
import math
import re
from pathlib import Path
from typing import Any

import botocore.session
from pydantic import TypeAdapter, ValidationError

from emr_platform.spec.settings import Name

# --- argument checks ----------------------------------------------------------------------------------------------
# Each runs as an argparse ``type=`` before any AWS call and fails with "<problem> (got <value>). Fix: <fix>";
# argparse puts "argument <name>: " in front, and the parser below prints that as one line (exit code 2).

INT32_MAX = 2**31 - 1
"""EMR's ``Integer`` and ``WholeNumber`` shapes are ``"type": "integer"`` in botocore's model
(``data/emr/2009-03-31/service-2.json``), a 32-bit signed integer in AWS's JSON protocols."""

WAIT_TIMEOUT_SECONDS = (1, 7 * 24 * 3600)
"""``wait --timeout``: EMR sets no limit on a step's run time; a wait of over a week is a typo, and a step that long
is better followed by the step-completed alerts than by a terminal."""

POLL_SECONDS = (0.1, 3600.0)
"""``wait --poll``: faster polling only spends the account's EMR API request rate, which EMR throttles per account
and Region (``ThrottlingException``), shared with the console and every other tool."""

LIST_STEPS_PAGE = 50
"""``status --steps``: ListSteps returns at most 50 steps a call (its documentation in botocore's EMR model)."""

CLUSTER_ID = re.compile(r"^j-[0-9A-Z]{1,254}$")
"""An EMR cluster id as RunJobFlow returns it: ``j-`` and upper-case letters and digits; ClusterId is at most 256
characters (botocore's EMR model, shape ClusterId)."""

STEP_ID = re.compile(r"^s-[0-9A-Z]{1,254}$")
"""An EMR step id as AddJobFlowSteps returns it: ``s-`` and upper-case letters and digits."""

_XML_TEXT = re.compile(r"^[\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff\r\n\t]*$")
"""The character rule of EMR's XmlString shapes (botocore's EMR model, in Python's spelling of the astral planes)."""

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP_ADDRESS = re.compile(r"^[0-9]+(\.[0-9]+){3}$")
"""S3's general purpose bucket naming rules (Amazon S3 User Guide, "General purpose bucket naming rules"): 3 to 63
lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit, no two adjacent dots, not
an IP address. Object keys are at most 1024 bytes of UTF-8 ("Naming Amazon S3 objects")."""
S3_KEY_BYTES = 1024

_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]{1,576}$")
"""An IAM role ARN: a role name of up to 64 ASCII letters, digits and ``_+=,.@-`` after a path of up to 512
characters (IAM User Guide, "IAM object quotas")."""

_EXECUTION_NAME_FORBIDDEN = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f\ufffe\uffff]")
"""Characters an execution name must not contain (StartExecution's ``name`` in botocore's Step Functions model)."""

_NAME = TypeAdapter(Name)


@functools.cache
def _shape_limits(service: str, shape: str) -> dict[str, Any]:
    """The constraints (``min``, ``max``, ``pattern``) of ``shape`` in botocore's model of ``service``."""
    return dict(botocore.session.get_session().get_service_model(service).shape_for(shape).metadata)


def _rejected(problem: str, value: str, fix: str) -> argparse.ArgumentTypeError:
    """The argparse error for ``value``, shown short whatever its length (an argument can be pasted garbage)."""
    shown = repr(value) if len(value) <= 80 else f"{value[:60]!r}... ({len(value)} characters)"
    return argparse.ArgumentTypeError(f"{problem} (got {shown}). Fix: {fix}")


def _number(text: str, low: float, high: float, what: str, *, whole: bool) -> float:
    """``text`` as a finite number from ``low`` to ``high``; ``whole`` refuses fractions."""
    kind = "a whole number" if whole else "a number"
    bounds = f"from {low:,g} to {high:,g}" if low != int(low) else f"from {int(low):,} to {int(high):,}"
    fix = f"give {what}: {kind} {bounds}"
    pattern = r"[+-]?[0-9]{1,19}" if whole else r"[+-]?([0-9]{1,19}(\.[0-9]*)?|\.[0-9]+)"
    if not re.fullmatch(pattern, text.strip()):
        raise _rejected(f"not {kind}", text, fix)
    value = float(text)
    if not (math.isfinite(value) and low <= value <= high):
        raise _rejected(f"out of range: must be {bounds}", text, fix)
    return value


def task_capacity(text: str) -> int:
    """``resize --task``: ModifyInstanceFleet's TargetOnDemandCapacity and TargetSpotCapacity are ``WholeNumber``
    (min 0) and ModifyInstanceGroups' InstanceCount an ``Integer``, all 32-bit (botocore's EMR model)."""
    low = int(_shape_limits("emr", "WholeNumber").get("min", 0))
    return int(_number(text, low, INT32_MAX, "the task units (fleet) or instances (group)", whole=True))


def step_count(text: str) -> int:
    """``status --steps``: how many of the latest steps to show, 1 to one ListSteps page."""
    return int(_number(text, 1, LIST_STEPS_PAGE, "how many steps to show", whole=True))


def timeout_seconds(text: str) -> int:
    """``wait --timeout``: whole seconds within :data:`WAIT_TIMEOUT_SECONDS`."""
    return int(_number(text, *WAIT_TIMEOUT_SECONDS, "the seconds to wait", whole=True))


def poll_seconds(text: str) -> float:
    """``wait --poll``: seconds between checks, within :data:`POLL_SECONDS`."""
    return _number(text, *POLL_SECONDS, "the seconds between checks", whole=False)


def settings_name(text: str) -> str:
    """An environment's or transient cluster's name, by the settings' own rule for names."""
    try:
        return _NAME.validate_python(text)
    except ValidationError:
        raise _rejected(
            "not a name the settings allow", text, "use it as in config/ (2 to 32 lower-case letters, digits, hyphens)"
        ) from None


def cluster_ref(text: str) -> str:
    """``--cluster``: a cluster's name in the settings, or an EMR cluster id (``j-...``, see :data:`CLUSTER_ID`)."""
    if CLUSTER_ID.match(text):
        return text
    try:
        return _NAME.validate_python(text)
    except ValidationError:
        raise _rejected(
            "neither a cluster name from the settings nor an EMR cluster id",
            text,
            "give the name under clusters: in the settings, or an id as `aws emr list-clusters` shows it "
            "(j- then upper-case letters and digits)",
        ) from None


JOB_RUN_ID = re.compile(r"^[0-9a-z]{1,64}$")
"""An EMR Serverless job run ID: lower-case letters and digits, 1 to 64 (botocore's ``emr-serverless`` model,
shape JobRunId, ``^[0-9a-z]+$``)."""


def job_run_id(text: str) -> str:
    """An EMR Serverless job run ID (see :data:`JOB_RUN_ID`)."""
    if not JOB_RUN_ID.match(text):
        raise _rejected(
            "not an EMR Serverless job run id", text, "give the id job-run printed (lower-case letters and digits)"
        )
    return text


def step_id(text: str) -> str:
    """A step id (see :data:`STEP_ID`); it also becomes part of the log object's key, so nothing else is let in."""
    if not STEP_ID.match(text):
        raise _rejected(
            "not an EMR step id",
            text,
            "give it as submit printed it or status lists it (s- then upper-case letters and digits)",
        )
    return text


def _xml_text(text: str, shape: str, what: str, *, required: bool) -> str:
    """``text`` within the length and characters of the EMR XmlString ``shape``."""
    limit = int(_shape_limits("emr", shape)["max"])
    if (required and not text) or len(text) > limit or not _XML_TEXT.match(text):
        raise _rejected(f"not a valid {what}", text, f"use 1 to {limit} printable characters ({shape} in EMR's API)")
    return text


def step_name(text: str) -> str:
    """``submit --name``: StepConfig's Name is an ``XmlStringMaxLen256`` (botocore's EMR model)."""
    return _xml_text(text, "XmlStringMaxLen256", "step name", required=True)


def step_arg(text: str) -> str:
    """``submit --arg``: HadoopJarStepConfig's Args are ``XmlString`` values (botocore's EMR model)."""
    return _xml_text(text, "XmlString", "step argument", required=False)


def s3_uri(text: str) -> str:
    """An ``s3://bucket/key`` URI naming one object, by S3's naming rules (see :data:`_BUCKET`)."""
    bucket, _, key = text.removeprefix("s3://").partition("/")
    if not _BUCKET.match(bucket) or ".." in bucket or _IP_ADDRESS.match(bucket):
        raise _rejected(
            f"the bucket name {bucket[:70]!r} breaks S3's naming rules",
            text,
            "write s3://<bucket>/<key> with the bucket's name as S3 shows it (3 to 63 lower-case letters, digits, "
            "dots and hyphens)",
        )
    if not key or key.endswith("/"):
        raise _rejected(
            "names a bucket or folder, not an object", text, "write the script's full key: s3://b/jobs/x.py"
        )
    if len(key.encode("utf-8")) > S3_KEY_BYTES:
        raise _rejected(f"the key is longer than S3's {S3_KEY_BYTES} bytes", text, "shorten the object's key")
    return text


def script_location(text: str) -> str:
    """``submit``'s script: an ``s3://`` URI, or a key in the environment's artifacts bucket (never a local path:
    the cluster reads the script from S3)."""
    if text.startswith("s3://"):
        return s3_uri(text)
    name = Path(text).name or "job.py"
    upload = f"upload it first (aws s3 cp {text} s3://<ArtifactsBucket>/jobs/{name}) and submit jobs/{name}"
    if "://" in text:
        raise _rejected("not an s3:// URI: the step reads its script from S3", text, upload)
    if text.startswith(("/", "~")):
        raise _rejected("a path on this machine: the cluster reads the script from S3", text, upload)
    if any(part in ("", ".", "..") for part in text.split("/")):
        raise _rejected("not a key in the artifacts bucket ('.', '..' or empty parts)", text, upload)
    if len(text.encode("utf-8")) > S3_KEY_BYTES:
        raise _rejected(f"the key is longer than S3's {S3_KEY_BYTES} bytes", text, "shorten the object's key")
    return text


def role_arn(text: str) -> str:
    """``submit --execution-role``: AddJobFlowSteps' ExecutionRoleArn is an ``ArnType`` (botocore's EMR model), and
    a runtime role is an IAM role (see :data:`_ROLE_ARN`)."""
    limits = _shape_limits("emr", "ArnType")
    if not (limits["min"] <= len(text) <= limits["max"]) or not _ROLE_ARN.match(text):
        raise _rejected("not an IAM role ARN", text, "give the runtime role's ARN: arn:aws:iam::<account>:role/<name>")
    return text


def execution_name(text: str) -> str:
    """``run --run-name``: StartExecution's ``name`` (shape Name in botocore's Step Functions model: its length, and
    the characters its documentation forbids)."""
    limits = _shape_limits("stepfunctions", "Name")
    if not (limits["min"] <= len(text) <= limits["max"]) or _EXECUTION_NAME_FORBIDDEN.search(text):
        raise _rejected(
            "not a Step Functions execution name",
            text,
            f"use {limits['min']} to {limits['max']} letters, digits, '-' and '_' (no spaces, brackets or punctuation)",
        )
    return text
