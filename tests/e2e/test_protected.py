"""The protected environments on the emulator: prod, with termination protection, deployed by the real CDK CLI
into its own account (its own emulator process), and refused deletion while protected, as CloudFormation does.

Staging takes the same path (termination protection, its own account); it is not deployed here too, to keep the
suite within its time budget: the code path is the same, only the settings differ.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from emr_platform.spec.settings import load_settings
from tests.conftest import running_emulator
from tests.e2e.test_deploy import _cdk

pytestmark = pytest.mark.e2e

SETTINGS = load_settings("prod")
STACK = SETTINGS.stack_name


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """prod bootstrapped and deployed into an emulator acting as prod's account, in prod's region."""
    work = tmp_path_factory.mktemp("e2e-prod")
    with running_emulator(account=SETTINGS.account, log=work / "emulator.log", region=SETTINGS.region):
        bootstrap = _cdk("bootstrap", f"aws://{SETTINGS.account}/{SETTINGS.region}")
        assert bootstrap.returncode == 0, (bootstrap.stdout + bootstrap.stderr)[-3000:]
        deploy = _cdk(
            "deploy", "-c", "env=prod", STACK, "--require-approval", "never", "--output", str(work / "cdk.out"),
        )  # fmt: skip
        assert deploy.returncode == 0, (deploy.stdout + deploy.stderr)[-3000:]
        cloudformation = boto3.client("cloudformation", region_name=SETTINGS.region)
        deployed = cloudformation.describe_stacks(StackName=STACK)["Stacks"][0]
        destroy = _cdk("destroy", "-c", "env=prod", STACK, "--force", "--output", str(work / "cdk.out"))
        yield {
            "stack": deployed,
            "after_destroy": cloudformation.describe_stacks(StackName=STACK)["Stacks"][0],
            "destroy": destroy,
            "buckets": {b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]},
        }


def test_prod_deploys_into_its_own_account_with_termination_protection(prod: dict[str, Any]) -> None:
    stack = prod["stack"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert stack["EnableTerminationProtection"] is True
    assert stack["StackId"].split(":")[4] == SETTINGS.account and stack["StackId"].split(":")[3] == SETTINGS.region


def test_cdk_destroy_is_refused_while_prod_is_protected(prod: dict[str, Any]) -> None:
    destroy = prod["destroy"]
    assert destroy.returncode != 0
    assert "cannot be deleted while TerminationProtection is enabled" in destroy.stdout + destroy.stderr
    assert prod["after_destroy"]["StackStatus"] == "CREATE_COMPLETE"
    assert sum("storage" in name.lower() for name in prod["buckets"]) >= len(SETTINGS.storage.data_zones)
