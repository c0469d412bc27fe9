"""The move from one stack to a foundation and a stack per cluster (docs/topology.md#migrating), on the emulator.

dev is deployed as today (layout single) and data written into its buckets; then the documented steps run with
the real CDK CLI and the operations CLI: ``emr-platform-ops migrate``, the foundation deployed alone, ``cdk
import`` of each cluster stack's mapping, and the deployment of everything. The foundation keeps every bucket
and the key (same physical IDs, same objects), the transient cluster's log groups are adopted by its stack
rather than recreated, and the clusters run from their own stacks, found there by the operations CLI.

The Glue databases stay in the foundation under the same logical IDs (tests/test_topology.py checks the plan on
the templates); moto does not model them, so their survival cannot be shown here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT
from tests.e2e.platform import cdk, deployed, succeeded

pytestmark = pytest.mark.e2e

RETAINED_DATA = {"AWS::S3::Bucket", "AWS::KMS::Key"}


def _ops(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "emr_platform.ops", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**__import__("os").environ, "PYTHONPATH": str(PROJECT)},
    )


def test_single_stack_migrates_to_per_cluster_keeping_every_bucket_key_and_object(tmp_path: Path) -> None:
    with deployed("dev", tmp_path) as dev:
        s3 = dev.client("s3")
        template = dev.template()["Resources"]
        before = dev.physical_ids()
        data = {i: before[i] for i, r in template.items() if r["Type"] in RETAINED_DATA}
        buckets = [before[i] for i, r in template.items() if r["Type"] == "AWS::S3::Bucket"]
        for bucket in buckets:
            s3.put_object(Bucket=bucket, Key="kept/object.txt", Body=b"data written before the migration")
        transient_logs = {
            i: before[i]
            for i, r in template.items()
            if r["Type"] == "AWS::Logs::LogGroup"
            and r["Metadata"]["aws:cdk:path"].startswith("emr-platform-dev/weblogs/")
        }
        assert len(transient_logs) == 2

        split = dev.synthesize("split", lambda text: text + "\nstacks:\n  layout: per_cluster\n")
        config = tmp_path / "config-split"
        # 2. the import mappings of the retained resources that move into the cluster stacks
        migrate = _ops("--config-dir", str(config), "migrate", "dev", "--assembly", str(split), cwd=tmp_path)
        assert migrate.returncode == 0, migrate.stderr
        mapping = json.loads((tmp_path / "import-emr-platform-dev-weblogs.json").read_text(encoding="utf-8"))
        assert {k: v["LogGroupName"] for k, v in mapping.items()} == transient_logs
        assert json.loads((tmp_path / "import-emr-platform-dev-analytics.json").read_text(encoding="utf-8")) == {}
        # 3. the foundation alone: the clusters leave it, its retained resources stay
        succeeded(cdk("deploy", "--app", str(split), dev.stack_name, "--exclusively", "--require-approval", "never"))
        foundation = dev.physical_ids()
        assert {i: foundation.get(i) for i in data} == data, "every bucket and the key kept, in place"
        # 4. the cluster stack with retained resources starts as an import of them
        succeeded(
            cdk(
                "import",
                "--app",
                str(split),
                "emr-platform-dev-weblogs",
                "--resource-mapping",
                str(tmp_path / "import-emr-platform-dev-weblogs.json"),
                cwd=tmp_path,
            )
        )
        # 5. everything
        succeeded(cdk("deploy", "--app", str(split), "--all", "--require-approval", "never", "--concurrency", "2"))

        cloudformation = dev.client("cloudformation")
        for bucket in buckets:
            body = s3.get_object(Bucket=bucket, Key="kept/object.txt")["Body"].read()
            assert body == b"data written before the migration", bucket
        key = dev.client("kms").describe_key(
            KeyId=data[next(i for i in data if template[i]["Type"] == "AWS::KMS::Key")]
        )
        assert key["KeyMetadata"]["KeyState"] == "Enabled"
        resources = cloudformation.describe_stack_resources(StackName="emr-platform-dev-weblogs")["StackResources"]
        # moto lists the custom resources' providers it records without a logical ID: not the stack's resources.
        weblogs = {r["LogicalResourceId"]: r.get("PhysicalResourceId") for r in resources if r.get("LogicalResourceId")}
        assert {i: weblogs.get(i) for i in transient_logs} == transient_logs, "the log groups adopted, not new"
        for stack in ("emr-platform-dev", "emr-platform-dev-analytics", "emr-platform-dev-weblogs"):
            status = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
            assert status in {"UPDATE_COMPLETE", "CREATE_COMPLETE", "IMPORT_COMPLETE"}, (stack, status)
        status = _ops("--config-dir", str(config), "status", "dev", "--cluster", "analytics", cwd=tmp_path)
        assert status.returncode == 0, status.stderr
        assert "WAITING" in status.stdout or "STARTING" in status.stdout, status.stdout
