"""A deployed environment: its settings, its stack's outputs and the clients to reach it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import (
    ClientError,
)

from emr_platform.ops.args import CLUSTER_ID
from emr_platform.ops.errors import CREDENTIALS_FIX, OpsError
from emr_platform.spec.errors import EmrPlatformError
from emr_platform.spec.settings import CONFIG_DIR, load_settings

# --- the environment ----------------------------------------------------------------------------------------------


@dataclass
class Environment:
    """A deployed environment: its stack's outputs and the clients to reach it."""

    name: str
    stack_name: str
    region: str
    outputs: dict[str, str]
    session: boto3.Session
    deployed: bool = True
    """Whether the stack exists (only the recovery commands open an environment whose stack does not)."""
    cluster_stacks: dict[str, str] | None = None
    """Cluster name -> the stack that holds it (layout ``per_cluster``); None when the foundation holds them."""
    missing_stacks: tuple[str, ...] = ()
    """Cluster stacks of the settings that are not deployed."""
    statuses: dict[str, str] | None = None
    """Each existing stack's ``StackStatus`` (the foundation's and the cluster stacks'), by name."""

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
            stack = (self.cluster_stacks or {}).get(cluster)
            if stack in self.missing_stacks:
                raise OpsError(f"stack {stack} of cluster {cluster!r} is not deployed", f"make deploy ENV={self.name}")
            raise OpsError(f"no cluster {cluster!r} in {self.name}", f"use one of {', '.join(sorted(ids))}", code=2)
        if not CLUSTER_ID.match(ids[cluster]):
            raise OpsError(
                f"stack {self.stack_name}'s output {cluster}ClusterId is not an EMR cluster id (got {ids[cluster][:80]!r})",
                f"deploy the environment again (make deploy ENV={self.name})",
            )
        return ids[cluster]


def open_environment(
    name: str, config_dir: Path = CONFIG_DIR, session: boto3.Session | None = None, *, deployed: bool = True
) -> Environment:
    """Read the environment's settings and its stack's outputs; with ``deployed=False`` a stack that does not
    exist is no error (the environment then has no outputs)."""
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
            if not deployed:
                stacks = tuple(settings.cluster_stack_name(s) for s in settings.cluster_stacks())
                return Environment(
                    name, settings.stack_name, settings.region, {}, session, deployed=False, missing_stacks=stacks
                )
            raise OpsError(
                f"stack {settings.stack_name} does not exist in {settings.region}",
                f"deploy it: make deploy ENV={name}",
            ) from None
        raise
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    statuses = {settings.stack_name: str(stacks[0].get("StackStatus", ""))}
    # Layout per_cluster: the <cluster>ClusterId and <cluster>StateMachineArn outputs are in the cluster stacks.
    cluster_stacks = {
        cluster: settings.cluster_stack_name(suffix)
        for suffix, clusters in settings.cluster_stacks().items()
        for cluster in clusters
    }
    missing: list[str] = []
    for stack_name in sorted(set(cluster_stacks.values())):
        try:
            found = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
        except ClientError as error:
            if "does not exist" not in str(error):
                raise
            missing.append(stack_name)
            continue
        outputs.update({o["OutputKey"]: o["OutputValue"] for o in found[0].get("Outputs", [])})
        statuses[stack_name] = str(found[0].get("StackStatus", ""))
    return Environment(
        name,
        settings.stack_name,
        settings.region,
        outputs,
        session,
        cluster_stacks=cluster_stacks or None,
        missing_stacks=tuple(missing),
        statuses=statuses,
    )
