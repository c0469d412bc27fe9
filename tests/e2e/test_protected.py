"""The protected environments on the emulator: staging and prod, each deployed by the real CDK CLI into its own
account (one emulator process per account) in its region, with termination protection; operated with the
operations CLI and a run of its transient cluster; refused deletion while protected, as CloudFormation does.

What the emulator cannot show is listed in ``test_deploy.py`` (the same emulator); the lifecycle of updates,
replacement, deletion and redeployment runs there, on dev, whose stack can be deleted.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emr_platform.ops import main
from tests.conftest import Synthesized
from tests.e2e.platform import Deployment, cdk, deployed

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module", params=["staging", "prod"])
def protected(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, synthesized: Synthesized
) -> Iterator[Deployment]:
    """The environment bootstrapped and deployed into an emulator acting as its account, in its region, from the
    assembly the tests synthesized (dev's deployment runs the app through the CLI)."""
    work = tmp_path_factory.mktemp(f"e2e-{request.param}")
    with deployed(request.param, work, assembly=synthesized.outdir) as deployment:
        yield deployment


def test_it_deploys_into_its_own_account_with_termination_protection(protected: Deployment) -> None:
    stack, settings = protected.stack(), protected.settings
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert stack["EnableTerminationProtection"] is True
    assert stack["StackId"].split(":")[4] == settings.account and stack["StackId"].split(":")[3] == settings.region


def test_operate_its_cluster(protected: Deployment, capsys: pytest.CaptureFixture[str]) -> None:
    env, outputs = protected.environment, protected.outputs()
    [name] = protected.settings.clusters
    cluster_id = outputs[f"{name}ClusterId"]
    assert main(["status", env]) == 0
    assert f"({cluster_id}): WAITING" in capsys.readouterr().out

    assert main(["submit", env, outputs["SampleJobScript"], "--name", "smoke"]) == 0
    step_id = capsys.readouterr().out.strip()
    assert main(["wait", env, step_id, "--timeout", "1", "--poll", "0.2"]) == 3  # the emulator runs no Spark
    assert f"{step_id}: RUNNING" in capsys.readouterr().out

    assert main(["resize", env, "--task", "6"]) == 0
    assert "TargetSpotCapacity -> 6" in capsys.readouterr().out
    fleets = protected.client("emr").list_instance_fleets(ClusterId=cluster_id)["InstanceFleets"]
    assert [f["TargetSpotCapacity"] for f in fleets if f["InstanceFleetType"] == "TASK"] == [6]

    # Its cluster has termination protection too: the CLI refuses, naming the setting to change.
    assert main(["terminate", env, "--yes"]) == 1
    assert "has termination protection on" in capsys.readouterr().err
    state = protected.client("emr").describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]["State"]
    assert state == "RUNNING"  # its step runs on; nothing was terminated


def test_start_a_run_of_its_transient_cluster(protected: Deployment, capsys: pytest.CaptureFixture[str]) -> None:
    machines = sorted(k.removesuffix("StateMachineArn") for k in protected.outputs() if k.endswith("StateMachineArn"))
    assert machines, "every environment has a transient cluster to exercise"
    assert main(["run", protected.environment, machines[0], "--run-name", "e2e-1"]) == 0
    execution_arn = capsys.readouterr().out.strip()
    execution = protected.client("stepfunctions").describe_execution(executionArn=execution_arn)
    assert execution["stateMachineArn"] == protected.outputs()[f"{machines[0]}StateMachineArn"]


def test_cdk_destroy_is_refused_while_it_is_protected(protected: Deployment) -> None:
    destroy = cdk("destroy", "--app", str(protected.assembly), protected.stack_name, "--force")
    assert destroy.returncode != 0
    assert "cannot be deleted while TerminationProtection is enabled" in destroy.stdout + destroy.stderr
    assert protected.stack()["StackStatus"] == "CREATE_COMPLETE"
    buckets = {b["Name"] for b in protected.client("s3").list_buckets()["Buckets"]}
    assert sum("storage" in name.lower() for name in buckets) >= len(protected.settings.storage.data_zones)
