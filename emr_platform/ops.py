"""``emr-platform-ops``: operate a deployed environment's clusters with boto3.

Every command takes the environment's name; the stack name and region come from its settings file, the cluster
from the stack's outputs (``<cluster>ClusterId``), so nobody copies cluster IDs around::

    emr-platform-ops status dev
    emr-platform-ops submit dev jobs/etl.py --arg s3://raw/ --arg s3://curated/     # a script in the artifacts bucket
    emr-platform-ops submit dev s3://my-bucket/job.py
    emr-platform-ops wait dev s-1234567890ABC --timeout 3600
    emr-platform-ops logs dev s-1234567890ABC --stream stderr
    emr-platform-ops resize dev --task 10
    emr-platform-ops terminate dev --yes
    emr-platform-ops run dev weblogs                 # a run of a transient cluster (its state machine)

Every argument is checked against the EMR, S3 and Step Functions API rules (read from botocore's service models
where they are there) before any AWS call, and ``submit`` checks that the script is in S3 and readable first. A
problem (a bad argument, no or expired credentials, no network route, a denied action, a parameter AWS refuses,
throttling, an unknown environment, a stack that does not exist, a cluster that is gone) ends the command with one
line on stderr, ``error: <problem>. Fix: <fix>``, and a non-zero exit code: 1 for errors, 2 for wrong usage, 3 when
``wait`` times out or the step fails.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import math
import os
import re
import sys
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import boto3
import botocore.session
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    SSOError,
    TokenRetrievalError,
    WaiterError,
)
from botocore.exceptions import ConnectionError as EndpointError
from pydantic import TypeAdapter, ValidationError

from emr_platform.spec.errors import EmrPlatformError
from emr_platform.spec.settings import CONFIG_DIR, Name, load_settings

TERMINAL_STEP_STATES = {"COMPLETED", "CANCELLED", "FAILED", "INTERRUPTED"}


class OpsError(Exception):
    """A failure to report in one line, with its fix.

    :param problem: what is wrong, naming the argument or the AWS call and the value.
    :param fix: what to do about it.
    :param code: the exit code. Default 1 (an error); 2 is wrong usage, 3 a failed or timed-out step.
    """

    def __init__(self, problem: str, fix: str, code: int = 1) -> None:
        super().__init__(f"{problem}. Fix: {fix}")
        self.code = code


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


# --- AWS's errors, each to one line with its fix ------------------------------------------------------------------

# Error codes by the fix they need. Throttling: botocore's own list (retries/standard.py, _THROTTLED_ERROR_CODES).
CREDENTIAL_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "InvalidAccessKeyId",
        "InvalidToken",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "RequestExpired",
        "AuthFailure",
    }
)
PERMISSION_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess", "Forbidden", "403"}
)
PARAMETER_CODES = frozenset(
    {
        "ValidationException",
        "ValidationError",
        "InvalidRequestException",
        "InvalidParameterValue",
        "InvalidParameterException",
        "InvalidParameterCombination",
        "InvalidInput",
        "InvalidArn",
        "InvalidName",
        "InvalidArgument",
    }
)
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "RequestThrottled",
        "SlowDown",
        "EC2ThrottledException",
    }
)
_CREDENTIAL_ERRORS = (
    NoCredentialsError,
    PartialCredentialsError,
    CredentialRetrievalError,
    TokenRetrievalError,
    SSOError,
    ProfileNotFound,
)
_S3_ACTIONS = {
    # S3's IAM actions are not all named after the API calls (Service Authorization Reference, Amazon S3).
    "HeadObject": "s3:GetObject (and s3:ListBucket, without which S3 answers 403 for a missing object too)",
    "GetObject": "s3:GetObject (and s3:ListBucket, without which S3 answers 403 for a missing object too)",
    "ListObjectsV2": "s3:ListBucket",
}
_SERVICES = ("emr", "cloudformation", "stepfunctions")
CREDENTIALS_FIX = (
    "configure credentials for the environment's account (AWS_PROFILE, `aws sso login`, or fresh keys and session "
    "token in the environment)"
)


def one_line(text: str, limit: int = 200) -> str:
    """``text`` (an AWS message, possibly an HTML error page) on one line of at most ``limit`` characters."""
    if text.lstrip().startswith("<"):
        text = re.sub(r"<[^>]*>", " ", text)
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else f"{flat[: limit - 3]}..."


@functools.cache
def iam_action(operation: str) -> str:
    """The IAM action an API call needs: the service's prefix is its signing name in botocore's model
    (``elasticmapreduce``, ``states``, ``cloudformation``); S3's are in :data:`_S3_ACTIONS`."""
    if operation in _S3_ACTIONS:
        return _S3_ACTIONS[operation]
    session = botocore.session.get_session()
    for service in _SERVICES:
        model = session.get_service_model(service)
        if operation in model.operation_names:
            return f"{model.signing_name}:{operation}"
    return operation


def explain(error: ClientError | BotoCoreError) -> OpsError:
    """The one line, with its fix, for a failure of boto3: the one place every command's AWS errors go through."""
    if isinstance(error, EndpointError | HTTPClientError):
        where = error.kwargs.get("endpoint_url") or error.kwargs.get("proxy_url") or "AWS"
        override = os.environ.get("AWS_ENDPOINT_URL")
        endpoint = f"AWS_ENDPOINT_URL (now {override!r}; unset it to reach AWS)" if override else "AWS_ENDPOINT_URL"
        return OpsError(
            f"cannot reach {where} ({type(error).__name__})",
            f"check the region in the environment's settings, this machine's route to AWS (network, VPC endpoint or "
            f"NAT), HTTPS_PROXY and NO_PROXY, and {endpoint}",
        )
    if isinstance(error, NoCredentialsError):
        return OpsError("no AWS credentials found", CREDENTIALS_FIX)
    if isinstance(error, _CREDENTIAL_ERRORS):
        return OpsError(f"the AWS credentials cannot be used: {one_line(str(error))}", CREDENTIALS_FIX)
    if isinstance(error, BotoCoreError):
        return OpsError(f"boto3 failed: {one_line(str(error))}", "check the command's arguments (see --help)")
    return _explain_response(error)


def _explain_response(error: ClientError) -> OpsError:
    """:func:`explain` for an error AWS answered with."""
    details = error.response.get("Error", {})
    code = str(details.get("Code", ""))
    message = one_line(str(details.get("Message") or code)).rstrip(".")
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    call = error.operation_name
    if code in CREDENTIAL_CODES:
        return OpsError(
            f"AWS refused the credentials on {call} ({code}: {message})", f"refresh them: {CREDENTIALS_FIX}"
        )
    if code in PERMISSION_CODES or status == 403:
        return OpsError(
            f"AWS denied {call} ({code}: {message})",
            f"grant {iam_action(call)} to the identity you run as (`aws sts get-caller-identity` shows it), "
            "or use a role that has it",
        )
    if code in THROTTLING_CODES or status == 429:
        return OpsError(
            f"AWS throttled {call} ({code})",
            "retry in a minute; botocore already retried (raise AWS_MAX_ATTEMPTS, or set AWS_RETRY_MODE=adaptive)",
        )
    if code in PARAMETER_CODES:
        return OpsError(f"AWS refused a parameter of {call}: {message}", "correct the value AWS names and run again")
    if status >= 500:
        return OpsError(
            f"AWS failed on {call} ({code}: {message})", "retry in a minute; if it persists, see AWS Health"
        )
    return OpsError(f"AWS refused {call} ({code}: {message})", "check the environment's account, region and arguments")


# --- the environment ----------------------------------------------------------------------------------------------


@dataclass
class Environment:
    """A deployed environment: its stack's outputs and the clients to reach it."""

    name: str
    stack_name: str
    region: str
    outputs: dict[str, str]
    session: boto3.Session

    def client(self, service: str) -> Any:
        """A boto3 client of ``service`` in the environment's region (untyped: one method serves every service)."""
        make: Any = self.session.client
        return make(service, region_name=self.region)

    def cluster_id(self, cluster: str | None) -> str:
        """The ID of ``cluster`` (a name from the settings, or an EMR cluster id as it is), or of the only cluster
        when there is one."""
        if cluster is not None and CLUSTER_ID.match(cluster):
            return cluster
        ids = {key.removesuffix("ClusterId"): value for key, value in self.outputs.items() if key.endswith("ClusterId")}
        if not ids:
            raise OpsError(f"stack {self.stack_name} has no <cluster>ClusterId output", "deploy the environment first")
        if cluster is None:
            if len(ids) > 1:
                raise OpsError(f"{self.name} has clusters {', '.join(sorted(ids))}", "name one with --cluster", code=2)
            cluster = next(iter(ids))
        if cluster not in ids:
            raise OpsError(f"no cluster {cluster!r} in {self.name}", f"use one of {', '.join(sorted(ids))}", code=2)
        if not CLUSTER_ID.match(ids[cluster]):
            raise OpsError(
                f"stack {self.stack_name}'s output {cluster}ClusterId is not an EMR cluster id (got {ids[cluster][:80]!r})",
                f"deploy the environment again (make deploy ENV={self.name})",
            )
        return ids[cluster]


def open_environment(name: str, config_dir: Path = CONFIG_DIR, session: boto3.Session | None = None) -> Environment:
    """Read the environment's settings and its stack's outputs."""
    try:
        settings = load_settings(name, config_dir)
    except EmrPlatformError as error:
        raise OpsError(str(error).split(". Fix: ")[0], str(error).split(". Fix: ")[-1], code=2) from None
    session = session or boto3.Session()
    if session.get_credentials() is None:
        raise OpsError("no AWS credentials found", CREDENTIALS_FIX)
    cloudformation = session.client("cloudformation", region_name=settings.region)
    try:
        stacks = cloudformation.describe_stacks(StackName=settings.stack_name)["Stacks"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ValidationError" and "does not exist" in str(error):
            raise OpsError(
                f"stack {settings.stack_name} does not exist in {settings.region}",
                f"deploy it: make deploy ENV={name}",
            ) from None
        raise
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    return Environment(name, settings.stack_name, settings.region, outputs, session)


# --- commands ------------------------------------------------------------------------------------------------------


def status(env: Environment, args: argparse.Namespace) -> int:
    """The cluster's state, release, capacity and its latest steps."""
    emr = env.client("emr")
    cluster_id = env.cluster_id(args.cluster)
    cluster = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]
    print(f"{cluster['Name']} ({cluster_id}): {cluster['Status']['State']}, {cluster.get('ReleaseLabel', '?')}")
    for group in _instance_groups(emr, cluster_id, cluster):
        print(f"  {group}")
    for step in emr.list_steps(ClusterId=cluster_id).get("Steps", [])[: args.steps]:
        print(f"  step {step['Id']} {step['Status']['State']:<11} {step['Name']}")
    return 0


def _instance_groups(emr: Any, cluster_id: str, cluster: dict[str, Any]) -> list[str]:
    if cluster.get("InstanceCollectionType") == "INSTANCE_FLEET":
        fleets = emr.list_instance_fleets(ClusterId=cluster_id)["InstanceFleets"]
        return [
            f"{f['InstanceFleetType'].lower():<7} fleet {f.get('ProvisionedOnDemandCapacity', 0)} On-Demand + "
            f"{f.get('ProvisionedSpotCapacity', 0)} Spot units (target {f.get('TargetOnDemandCapacity', 0)} + "
            f"{f.get('TargetSpotCapacity', 0)})"
            for f in fleets
        ]
    groups = emr.list_instance_groups(ClusterId=cluster_id)["InstanceGroups"]
    return [
        f"{g['InstanceGroupType'].lower():<7} group {g.get('RunningInstanceCount', 0)}/{g.get('RequestedInstanceCount', 0)} "
        f"x {g['InstanceType']} {g.get('Market', 'ON_DEMAND')}"
        for g in groups
    ]


def submit(env: Environment, args: argparse.Namespace) -> int:
    """Add a Spark step: ``script`` is an ``s3://`` URI or a key in the environment's artifacts bucket; it must be
    there, and readable, before the step is added."""
    script = args.script
    if not script.startswith("s3://"):
        bucket = env.outputs.get("ArtifactsBucket")
        if bucket is None:
            raise OpsError(f"stack {env.stack_name} has no ArtifactsBucket output", "give the script as an s3:// URI")
        script = f"s3://{bucket}/{script}"
    name = args.name or Path(script).name
    if args.name is None:
        try:
            step_name(name)
        except argparse.ArgumentTypeError as error:
            problem = str(error).split(". Fix: ")[0]
            raise OpsError(f"the script's file name, the step's default name, is {problem}", "add --name") from None
    check_script(env, script, args.script)
    step: dict[str, Any] = {
        "Name": name,
        "ActionOnFailure": "CONTINUE",
        "HadoopJarStep": {
            "Jar": "command-runner.jar",
            "Args": ["spark-submit", "--deploy-mode", "cluster", script, *args.arg],
        },
    }
    request: dict[str, Any] = {"JobFlowId": env.cluster_id(args.cluster), "Steps": [step]}
    if args.execution_role:
        request["ExecutionRoleArn"] = args.execution_role
    [new_step] = env.client("emr").add_job_flow_steps(**request)["StepIds"]
    print(new_step)
    return 0


def check_script(env: Environment, uri: str, given: str) -> None:
    """Fail before AddJobFlowSteps when the step's script ``uri`` (``given`` on the command line) is not in S3, or
    the caller may not read it (HeadObject). The cluster reads it with its own role, which the stack grants on the
    artifacts bucket; a script elsewhere needs that grant too."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    try:
        env.client("s3").head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code in ("404", "NoSuchKey", "NotFound", "NoSuchBucket"):
            local = given if not given.startswith("s3://") and Path(given).is_file() else "<your script>"
            raise OpsError(
                f"the script {uri} does not exist",
                f"upload it first (aws s3 cp {local} {uri}), or correct the path",
            ) from None
        if code in ("403", "AccessDenied", "Forbidden"):
            raise OpsError(
                f"you may not read the script {uri} (HeadObject: {code})",
                f"grant s3:GetObject on arn:aws:s3:::{bucket}/{key} to the identity you run as, and s3:ListBucket on "
                f"arn:aws:s3:::{bucket} (without it S3 answers 403 for a missing object too)",
            ) from None
        raise


def wait(env: Environment, args: argparse.Namespace) -> int:
    """Wait for a step to finish, printing each state it passes through; exit 3 if it fails or time runs out."""
    emr = env.client("emr")
    cluster_id = env.cluster_id(args.cluster)
    waiter = emr.get_waiter("step_complete")
    deadline = time.monotonic() + args.timeout
    shown = None
    while True:
        try:
            # One attempt per call: the waiter's own acceptors decide success and terminal failure.
            waiter.wait(ClusterId=cluster_id, StepId=args.step_id, WaiterConfig={"Delay": 1, "MaxAttempts": 1})
            print(f"{args.step_id}: COMPLETED")
            return 0
        except WaiterError as error:
            response: dict[str, Any] = dict(error.last_response or {})
            if "Error" in response:
                # The waiter swallows the call's error (a denied or refused DescribeStep): report it as one.
                raise ClientError(response, "DescribeStep") from None  # type: ignore[arg-type]
            if "Step" not in response:
                raise OpsError(f"no step {args.step_id} on {cluster_id}", "check the id with status", code=2) from None
            step_status = response["Step"].get("Status", {})
            state = step_status.get("State", "UNKNOWN")
            if state in TERMINAL_STEP_STATES:
                reason = step_status.get("FailureDetails", {})
                detail = f": {one_line(reason['Message'], 400)}" if reason.get("Message") else ""
                print(f"{args.step_id}: {state}{detail}", file=sys.stderr)
                return 3
            if state != shown:
                print(f"{args.step_id}: {state}", flush=True)
                shown = state
        if time.monotonic() >= deadline:
            print(
                f"error: {args.step_id} still {shown} after {args.timeout} s. Fix: wait again, or raise --timeout",
                file=sys.stderr,
            )
            return 3
        time.sleep(args.poll)


def logs(env: Environment, args: argparse.Namespace) -> int:
    """Print a step's stderr or stdout from the cluster's S3 log location (EMR copies them every few minutes)."""
    cluster_id = env.cluster_id(args.cluster)
    log_uri = env.outputs.get("LogUri")
    if not log_uri:
        raise OpsError(f"stack {env.stack_name} has no LogUri output", "deploy the environment first")
    bucket, _, prefix = log_uri.removeprefix("s3://").partition("/")
    folder = f"{prefix.rstrip('/')}/{cluster_id}/steps/{args.step_id}/".lstrip("/")
    key = f"{folder}{args.stream}.gz"
    s3 = env.client("s3")
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("NoSuchKey", "404"):
            raise
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=folder, MaxKeys=100).get("Contents", [])
        streams = sorted(item["Key"].removeprefix(folder).removesuffix(".gz") for item in listed)
        if not streams:
            raise OpsError(
                f"no logs yet for {args.step_id} of {cluster_id} (nothing under s3://{bucket}/{folder})",
                "EMR uploads step logs about every five minutes: try again shortly, and check the step id with status",
            ) from None
        raise OpsError(
            f"no {args.stream} log for {args.step_id} at s3://{bucket}/{key} yet; there is {', '.join(streams)}",
            f"try again shortly, or choose one with --stream (e.g. --stream {streams[0]})",
        ) from None
    sys.stdout.write(log_text(body, f"s3://{bucket}/{key}"))
    return 0


GZIP_MAGIC = b"\x1f\x8b"


def log_text(body: bytes, where: str) -> str:
    """The text of the log object ``body`` (at ``where``): EMR gzips step logs; a plain text one is shown as it is,
    anything else is one error line."""
    if body.startswith(GZIP_MAGIC):
        try:
            return gzip.decompress(body).decode("utf-8", errors="replace")
        except (EOFError, gzip.BadGzipFile, zlib.error) as error:
            raise OpsError(
                f"{where} is truncated or corrupt gzip ({one_line(str(error), 100)})",
                f"EMR may still be uploading it: try again shortly; if it stays so, download it (aws s3 cp {where} .) "
                "and inspect it",
            ) from None
    if b"\x00" not in body:
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            pass
    raise OpsError(
        f"{where} is neither gzip nor text ({len(body)} bytes, starting {body[:8]!r})",
        f"download it (aws s3 cp {where} .) and inspect it: EMR writes step logs as gzip text",
    )


def resize(env: Environment, args: argparse.Namespace) -> int:
    """Set the task capacity: units of the task fleet, or instances of the first task group."""
    emr = env.client("emr")
    cluster_id = env.cluster_id(args.cluster)
    cluster = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]
    if cluster.get("InstanceCollectionType") == "INSTANCE_FLEET":
        fleets = [
            f
            for f in emr.list_instance_fleets(ClusterId=cluster_id)["InstanceFleets"]
            if f["InstanceFleetType"] == "TASK"
        ]
        if not fleets:
            raise OpsError(f"{cluster_id} has no task fleet", "add one in the settings and deploy")
        if len(fleets) > 1:
            # A cluster may have several task fleets (AWS::EMR::InstanceFleetConfig); which one to resize is the
            # operator's choice, not ours.
            raise OpsError(
                f"{cluster_id} has task fleets {', '.join(f['Id'] for f in fleets)}",
                f"resize one with aws emr modify-instance-fleet --cluster-id {cluster_id} "
                "--instance-fleet InstanceFleetId=<id>,TargetSpotCapacity=<units>",
            )
        [fleet] = fleets
        market = "TargetSpotCapacity" if args.market == "spot" else "TargetOnDemandCapacity"
        emr.modify_instance_fleet(
            ClusterId=cluster_id, InstanceFleet={"InstanceFleetId": fleet["Id"], market: args.task}
        )
        print(f"task fleet {fleet['Id']}: {market} -> {args.task}")
        return 0
    groups = [
        g for g in emr.list_instance_groups(ClusterId=cluster_id)["InstanceGroups"] if g["InstanceGroupType"] == "TASK"
    ]
    if not groups:
        raise OpsError(f"{cluster_id} has no task group", "add one in the settings and deploy")
    emr.modify_instance_groups(
        ClusterId=cluster_id, InstanceGroups=[{"InstanceGroupId": groups[0]["Id"], "InstanceCount": args.task}]
    )
    print(f"task group {groups[0]['Id']}: {args.task} instances")
    return 0


def terminate(env: Environment, args: argparse.Namespace) -> int:
    """Terminate the cluster (asks for --yes; refuses while termination protection is on)."""
    emr = env.client("emr")
    cluster_id = env.cluster_id(args.cluster)
    if not args.yes:
        raise OpsError(f"terminating {cluster_id} in {env.name} ends every running step", "add --yes", code=2)
    cluster = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]
    if cluster.get("TerminationProtected"):
        raise OpsError(
            f"{cluster_id} has termination protection on",
            "set termination_protection: false for the cluster in the settings and deploy, then terminate",
        )
    emr.terminate_job_flows(JobFlowIds=[cluster_id])
    print(f"{cluster_id}: terminating")
    return 0


def run(env: Environment, args: argparse.Namespace) -> int:
    """Start a run of a transient cluster: an execution of its state machine (``<name>StateMachineArn``)."""
    machines = {k.removesuffix("StateMachineArn"): v for k, v in env.outputs.items() if k.endswith("StateMachineArn")}
    if args.transient not in machines:
        raise OpsError(
            f"no transient cluster {args.transient!r} in {env.name}",
            f"use one of {', '.join(sorted(machines))}" if machines else "add one under transient_clusters and deploy",
            code=2,
        )
    request: dict[str, Any] = {"stateMachineArn": machines[args.transient], "input": "{}"}
    if args.run_name:
        request["name"] = args.run_name
    execution = env.client("stepfunctions").start_execution(**request)
    print(execution["executionArn"])
    return 0


# --- entry point ---------------------------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse, whose errors (a bad value, a missing or unknown argument) are one ``OpsError`` line with exit code
    2 instead of its usage text; ``--help`` is as usual."""

    def error(self, message: str) -> NoReturn:
        problem, _, fix = message.partition(". Fix: ")
        raise OpsError(one_line(problem, 300), fix or f"see {self.prog} --help", code=2)


def parser() -> argparse.ArgumentParser:
    """The command line; every value is checked by its ``type=`` (see the argument checks above)."""
    root = _Parser(prog="emr-platform-ops", description=__doc__.split("\n\n")[0])
    root.add_argument("--config-dir", type=Path, default=CONFIG_DIR, help="where the settings files are")
    commands = root.add_subparsers(dest="command", required=True)

    def command(name: str, handler: Any, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("environment", type=settings_name, help="the environment's name (config/<name>.yaml)")
        sub.add_argument(
            "--cluster", type=cluster_ref, help="the cluster's name in the settings, or its id (default: the only one)"
        )
        sub.set_defaults(handler=handler)
        return sub

    sub = command("status", status, "state, capacity and latest steps")
    sub.add_argument("--steps", type=step_count, default=5, help=f"how many (default 5, at most {LIST_STEPS_PAGE})")
    sub = command("submit", submit, "add a Spark step")
    sub.add_argument("script", type=script_location, help="s3:// URI, or a key in the artifacts bucket")
    sub.add_argument("--arg", type=step_arg, action="append", default=[], help="an argument of the script (repeatable)")
    sub.add_argument("--name", type=step_name, help="the step's name (default: the script's file name)")
    sub.add_argument("--execution-role", type=role_arn, help="runtime role ARN the step runs as")
    sub = command("wait", wait, "wait for a step, showing its progress")
    sub.add_argument("step_id", type=step_id)
    sub.add_argument("--timeout", type=timeout_seconds, default=3600, help="seconds (default 3600, at most a week)")
    sub.add_argument("--poll", type=poll_seconds, default=15, help="seconds between checks (default 15, 0.1 to 3600)")
    sub = command("logs", logs, "a step's stderr or stdout")
    sub.add_argument("step_id", type=step_id)
    sub.add_argument("--stream", choices=["stderr", "stdout", "controller", "syslog"], default="stderr")
    sub = command("resize", resize, "set the task capacity")
    sub.add_argument("--task", type=task_capacity, required=True, help="task units (fleet) or instances (group)")
    sub.add_argument("--market", choices=["spot", "on-demand"], default="spot", help="fleets only (default spot)")
    command("terminate", terminate, "terminate the cluster").add_argument("--yes", action="store_true")
    sub = commands.add_parser("run", help="start a run of a transient cluster")
    sub.add_argument("environment", type=settings_name, help="the environment's name (config/<name>.yaml)")
    sub.add_argument("transient", type=settings_name, help="the transient cluster's name in the settings")
    sub.add_argument(
        "--run-name", type=execution_name, help="the execution's name, part of the cluster's name (default: a UUID)"
    )
    sub.set_defaults(handler=run)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; one line on stderr and a non-zero exit on any failure of the arguments or of AWS (see
    :func:`explain`). Anything else is a bug of this program and keeps its traceback."""
    try:
        args = parser().parse_args(argv)
        env = open_environment(args.environment, args.config_dir)
        return int(args.handler(env, args))
    except OpsError as error:
        failure = error
    except (ClientError, BotoCoreError) as error:
        failure = explain(error)
    except BrokenPipeError:
        # The reader of stdout went away (``logs ... | head``): not an error of the command. Point stdout at
        # /dev/null so that Python's flush at exit raises nothing either (the recipe of Python's signal docs).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    print(f"error: {one_line(str(failure), 1000)}", file=sys.stderr)
    return failure.code


if __name__ == "__main__":
    sys.exit(main())
