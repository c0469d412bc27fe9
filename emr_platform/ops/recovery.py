"""After a stack was deleted: what it kept, and how the next deployment takes it back instead of failing.

A deleted stack keeps its retained resources (buckets with their data, the key, log groups, Glue databases). A new
deployment of the same environment would create new, empty buckets beside the old ones and fail on the Glue
databases, whose names are fixed (``AlreadyExistsException``). ``preflight`` says so in one line before a
deployment (``make deploy`` runs it); ``adopt`` writes the resource mapping with which ``cdk import`` brings the
kept resources into a new stack, after which ``cdk deploy`` adds the rest.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emr_platform.ops.environment import Environment
from emr_platform.ops.errors import OpsError

IMPORT_IDENTIFIERS: dict[str, str] = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::KMS::Key": "KeyId",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::Glue::Database": "DatabaseName",
    "AWS::SecretsManager::Secret": "Id",
}
"""The property that identifies each type the stacks retain, for CloudFormation's resource import: its resource
schema's ``primaryIdentifier`` (tests/test_ops.py checks them against cfn-lint's copies of the schemas). The
physical ID CloudFormation records is that identifier's value for each of them."""


@dataclass(frozen=True)
class Kept:
    """The retained resources of an environment's most recently deleted stack."""

    stack_id: str
    deleted: str
    resources: list[dict[str, Any]]

    def summary(self) -> str:
        counts = Counter(r["ResourceType"].split("::")[-1] for r in self.resources)
        return ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))


def kept(env: Environment, stack_name: str | None = None) -> Kept | None:
    """What the last deleted stack of that name (default the environment's foundation) retained (CloudFormation
    lists them as DELETE_SKIPPED for 90 days); None when no stack of that name was deleted."""
    cloudformation = env.client("cloudformation")
    pages = cloudformation.get_paginator("list_stacks").paginate(StackStatusFilter=["DELETE_COMPLETE"])
    name = stack_name or env.stack_name
    deleted = [s for page in pages for s in page["StackSummaries"] if s["StackName"] == name]
    if not deleted:
        return None
    last = max(deleted, key=lambda s: s.get("DeletionTime") or s["CreationTime"])
    pages = cloudformation.get_paginator("list_stack_resources").paginate(StackName=last["StackId"])
    resources = [r for page in pages for r in page["StackResourceSummaries"] if r["ResourceStatus"] == "DELETE_SKIPPED"]
    when = last.get("DeletionTime") or last["CreationTime"]
    return Kept(last["StackId"], f"{when:%Y-%m-%d %H:%M} UTC", resources)


def preflight(env: Environment, _args: argparse.Namespace) -> int:
    """Refuse to deploy an environment whose deleted foundation left resources a new stack would collide with, or
    whose first deployment rolled back keeping some; name the cluster stacks whose deleted predecessors kept log
    groups (a new one starts beside them)."""
    for stack, status in sorted((env.statuses or {}).items()):
        if status == "ROLLBACK_COMPLETE":
            _rolled_back(env, stack)
    for stack in env.missing_stacks:
        found = kept(env, stack)
        if found is not None and found.resources:
            print(
                f"{stack}: deleted on {found.deleted}, kept {found.summary()}; a new deployment starts new ones "
                f"beside them (emr-platform-ops adopt {env.name} writes the cdk import mapping to take them back)"
            )
    if env.deployed and (env.statuses or {}).get(env.stack_name) != "ROLLBACK_COMPLETE":
        print(f"{env.stack_name}: deployed; the next deployment updates it")
        return 0
    if env.deployed:
        return 0  # rolled back, kept nothing: said above
    found = kept(env)
    if found is None or not found.resources:
        print(f"{env.stack_name}: not deployed and nothing kept of an earlier one; the deployment creates it")
        return 0
    raise OpsError(
        f"{env.stack_name} was deleted on {found.deleted} and kept {len(found.resources)} resources "
        f"({found.summary()}): a new deployment would fail on the Glue databases' names and start empty "
        "buckets beside the kept data",
        f"take them back: emr-platform-ops adopt {env.name}, then the cdk import it prints "
        f"(or delete them to start empty; docs/operate.md#after-a-deletion)",
    )


def _rolled_back(env: Environment, stack: str) -> None:
    """A stack whose creation failed and rolled back: the CDK CLI deletes it and creates it again, which fails
    again on what the rollback kept (retained resources survive a rollback: a Glue database's fixed name collides)."""
    pages = env.client("cloudformation").get_paginator("list_stack_resources").paginate(StackName=stack)
    kept_now = [r for page in pages for r in page["StackResourceSummaries"] if r["ResourceStatus"] == "DELETE_SKIPPED"]
    if not kept_now:
        print(
            f"{stack}: its first deployment rolled back and kept nothing; the CDK CLI deletes it and creates it again"
        )
        return
    counts = Counter(r["ResourceType"].split("::")[-1] for r in kept_now)
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
    raise OpsError(
        f"{stack} is in ROLLBACK_COMPLETE: its first deployment failed and rolled back, keeping {len(kept_now)} "
        f"resources ({kinds}); a new deployment would start beside them and fail on the Glue databases' names",
        f"delete the stack (aws cloudformation delete-stack --stack-name {stack}; what it kept stays), then "
        f"emr-platform-ops adopt {env.name} and the cdk import it prints",
    )


def adopt(env: Environment, args: argparse.Namespace) -> int:
    """Write the ``cdk import`` resource mapping of what each deleted stack of the environment kept: the
    foundation (when it is not deployed) and every cluster stack that is not."""
    targets = ([] if env.deployed else [env.stack_name]) + list(env.missing_stacks)
    found: dict[str, Kept] = {}
    for stack in targets:
        kept_by = kept(env, stack)
        if kept_by is not None and kept_by.resources:
            found[stack] = kept_by
    if not found:
        where = f"no deleted stack of {env.name} kept anything in {env.region}"
        raise OpsError(where, f"deploy: make deploy ENV={env.name}")
    for stack, kept_by in found.items():
        unknown = sorted({r["ResourceType"] for r in kept_by.resources} - set(IMPORT_IDENTIFIERS))
        if unknown:
            raise OpsError(
                f"{stack} kept resources of types adopt does not know: {', '.join(unknown)}",
                "import them by hand with cdk import (it asks for their identifiers)",
            )
        mapping = {
            r["LogicalResourceId"]: {IMPORT_IDENTIFIERS[r["ResourceType"]]: r["PhysicalResourceId"]}
            for r in kept_by.resources
        }
        default = Path(f"import-{env.name}.json") if stack == env.stack_name else Path(f"import-{stack}.json")
        path: Path = (args.output if stack == env.stack_name else None) or default
        path.write_text(json.dumps(mapping, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        print(
            f"{path}: {len(mapping)} resources that {stack} kept when it was deleted on {kept_by.deleted} "
            f"({kept_by.summary()}). Next: cdk import -c env={env.name} {stack} --resource-mapping {path}"
        )
    print(f"Then: make deploy ENV={env.name}")
    return 0


def migrate(env: Environment, args: argparse.Namespace) -> int:
    """Before the first deployment of the ``per_cluster`` layout over a deployed single stack: write, for each
    cluster stack not deployed yet, the ``cdk import`` mapping of the retained resources it takes over from the
    single stack (same logical ID; the foundation's deployment orphans them, the import adopts them)."""
    if not env.deployed:
        raise OpsError(f"{env.stack_name} is not deployed: there is nothing to migrate", f"make deploy ENV={env.name}")
    if not env.cluster_stacks:
        raise OpsError(f"{env.name} has layout single: there is nothing to migrate", "set stacks.layout: per_cluster")
    assembly: Path = args.assembly
    templates = _cluster_templates(assembly, set(env.missing_stacks))
    cloudformation = env.client("cloudformation")
    deployed = {
        r["LogicalResourceId"]: r
        for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=env.stack_name)
        for r in page["StackResourceSummaries"]
    }
    written = []
    for stack, template in sorted(templates.items()):
        mapping = {
            logical_id: {IMPORT_IDENTIFIERS[resource["Type"]]: deployed[logical_id]["PhysicalResourceId"]}
            for logical_id, resource in template.get("Resources", {}).items()
            if logical_id in deployed
            and resource.get("DeletionPolicy") in {"Retain", "RetainExceptOnCreate"}
            and resource["Type"] in IMPORT_IDENTIFIERS
        }
        path = Path(f"import-{stack}.json")
        path.write_text(json.dumps(mapping, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        written.append((stack, path, len(mapping)))
        print(f"{path}: {len(mapping)} retained resources that move from {env.stack_name} into {stack}")
    if not written:
        print(f"{env.name}: every cluster stack is deployed; nothing to migrate")
        return 0
    imports = "; ".join(f"cdk import -c env={env.name} {s} --resource-mapping {p}" for s, p, n in written if n)
    print(
        f"Next: cdk deploy -c env={env.name} {env.stack_name} --exclusively (the foundation: its clusters leave it, "
        f"retained resources stay orphaned){'; ' + imports if imports else ''}; then make deploy ENV={env.name} "
        "(docs/topology.md#migrating)"
    )
    return 0


def _cluster_templates(assembly: Path, stacks: set[str]) -> dict[str, dict[str, Any]]:
    """The synthesized templates of ``stacks`` in the cloud assembly ``assembly``."""
    manifest_path = assembly / "manifest.json"
    if not manifest_path.is_file():
        raise OpsError(f"no cloud assembly in {assembly}", "synthesize first: make synth (or cdk synth -c env=...)")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    found: dict[str, dict[str, Any]] = {}
    for artifact_id, artifact in manifest.get("artifacts", {}).items():
        properties = artifact.get("properties", {})
        name = properties.get("stackName", artifact_id)  # the CDK leaves it out when it is the artifact's id
        if artifact.get("type") == "aws:cloudformation:stack" and name in stacks:
            found[name] = json.loads((assembly / properties["templateFile"]).read_text("utf-8"))
    missing = sorted(stacks - set(found))
    if missing:
        raise OpsError(f"{assembly} has no template of {', '.join(missing)}", "synthesize the new layout first")
    return found
