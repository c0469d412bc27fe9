"""AWS's errors, each to one line with its fix, and the error every command ends with."""

from __future__ import annotations

import functools
import os
import re

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
)
from botocore.exceptions import ConnectionError as EndpointError

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
