"""The protected environments on the emulator: staging and prod, each with termination protection, deployed by
the real CDK CLI into its own account (one emulator process per account) in its own region, and refused deletion
while protected, as CloudFormation does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from emr_platform.spec.settings import load_settings
from tests.conftest import running_emulator
from tests.e2e.test_deploy import _cdk

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module", params=["staging", "prod"])
def prod(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The environment bootstrapped and deployed into an emulator acting as its account, in its region."""
    settings = load_settings(request.param)
    stack_name = settings.stack_name
    work = tmp_path_factory.mktemp(f"e2e-{request.param}")
    with running_emulator(account=settings.account, log=work / "emulator.log", region=settings.region):
        bootstrap = _cdk("bootstrap", f"aws://{settings.account}/{settings.region}")
        assert bootstrap.returncode == 0, (bootstrap.stdout + bootstrap.stderr)[-3000:]
        context, out = ("-c", f"env={request.param}"), ("--output", str(work / "cdk.out"))
        deploy = _cdk("deploy", *context, stack_name, "--require-approval", "never", *out)
        assert deploy.returncode == 0, (deploy.stdout + deploy.stderr)[-3000:]
        cloudformation = boto3.client("cloudformation", region_name=settings.region)
        deployed = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
        destroy = _cdk("destroy", *context, stack_name, "--force", *out)
        yield {
            "settings": settings,
            "stack": deployed,
            "after_destroy": cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0],
            "destroy": destroy,
            "buckets": {b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]},
        }


def test_it_deploys_into_its_own_account_with_termination_protection(prod: dict[str, Any]) -> None:
    stack, settings = prod["stack"], prod["settings"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert stack["EnableTerminationProtection"] is True
    assert stack["StackId"].split(":")[4] == settings.account and stack["StackId"].split(":")[3] == settings.region


def test_cdk_destroy_is_refused_while_it_is_protected(prod: dict[str, Any]) -> None:
    destroy = prod["destroy"]
    assert destroy.returncode != 0
    assert "cannot be deleted while TerminationProtection is enabled" in destroy.stdout + destroy.stderr
    assert prod["after_destroy"]["StackStatus"] == "CREATE_COMPLETE"
    assert sum("storage" in name.lower() for name in prod["buckets"]) >= len(prod["settings"].storage.data_zones)
