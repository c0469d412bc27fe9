"""The documentation cannot go stale: its samples are what the code prints now, its code runs, its names exist.

README.md, docs/*.md and the example's README are read as Markdown. Samples are marked in the page with
``<!-- sample: <what> -->`` before a fenced block and ``<!-- /sample -->`` after it; each kind is regenerated here
(the ``make synth`` summary from the session's synthesis, a settings error, the guard's messages, a construct's
error). The README's construct code runs as an app through every gate, and so does the code of docs/reuse.md.
"""

from __future__ import annotations

import ast
import copy
import importlib
import importlib.util
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from aws_cdk import App, Environment, Stack

import emr_platform.constructs
from emr_platform.constructs import ClusterPlacement, DataLakeStorage, EmrCluster, EmrNetwork
from emr_platform.constructs.compliance import add_compliance_checks
from emr_platform.spec.errors import PropError, SettingsError
from emr_platform.spec.settings import load_settings
from emr_platform.spec.transient import TransientClusterSpec
from emr_platform.tools.guard import compare, replacing_properties
from emr_platform.tools.replacement import fleet_in_place, group_in_place
from emr_platform.tools.summary import summarize

from .conftest import PROJECT, Synthesized

README = PROJECT / "README.md"
EXAMPLE = PROJECT / "examples" / "platform-team"
GENERATED = {PROJECT / "docs" / name for name in ("settings.md", "compliance.md", "releases.md")}
PAGES = [README, EXAMPLE / "README.md", *sorted((PROJECT / "docs").glob("*.md"))]
WRITTEN = [page for page in PAGES if page not in GENERATED]
"""The pages people write (the generated ones are checked by tests/test_reference.py, tests/test_findings.py and
tests/test_catalog.py)."""

EXAMPLE_CONTEXT: dict[str, Any] = json.loads((EXAMPLE / "cdk.json").read_text(encoding="utf-8"))["context"]
"""The context a platform team's app needs: the two flags the README names."""

_SAMPLE = re.compile(r"<!-- sample: (?P<what>[^>]+?) -->\n```[a-z]*\n(?P<text>.*?)```\n<!-- /sample -->", re.DOTALL)
_FENCE = re.compile(r"^```(?P<lang>[a-z]*)\n(?P<body>.*?)^```$", re.DOTALL | re.MULTILINE)
_CODE_SPAN = re.compile(r"`([^`\n]+)`")


def _text(page: Path) -> str:
    return page.read_text(encoding="utf-8")


def _rel(page: Path) -> str:
    return str(page.relative_to(PROJECT))


def _samples(what: str) -> list[tuple[Path, str]]:
    """Every sample of kind ``what`` on any page: (page, the block's text without its last newline)."""
    return [
        (page, match["text"].removesuffix("\n"))
        for page in WRITTEN
        for match in _SAMPLE.finditer(_text(page))
        if match["what"] == what
    ]


def _blocks(page: Path, lang: str) -> list[str]:
    return [m["body"] for m in _FENCE.finditer(_text(page)) if m["lang"] == lang]


def _prose(page: Path) -> str:
    """The page without its fenced blocks (their ``#`` lines are not headings, their brackets not links)."""
    return _FENCE.sub("", _text(page))


# --- samples -----------------------------------------------------------------------------------------------------


def _summary_blocks(synthesized: Synthesized, tmp_path: Path) -> dict[str, str]:
    """The summary ``make synth`` prints, split per stack.

    ``cdk synth`` turns on version reporting, which adds one ``AWS::CDK::Metadata`` resource to each stack; the
    session's App (like any App outside the CLI) does not. A copy of its assembly gets that resource, so that the
    resource counts are the CLI's.
    """
    assembly = tmp_path / "cdk.out"
    assembly.mkdir()
    for path in synthesized.outdir.glob("*.json"):  # the manifest and the templates: what the summary reads
        shutil.copy(path, assembly / path.name)
    for path in assembly.glob("*.template.json"):
        template = json.loads(path.read_text(encoding="utf-8"))
        if not any(r["Type"] == "AWS::CDK::Metadata" for r in template["Resources"].values()):
            template["Resources"]["CDKMetadata"] = {"Type": "AWS::CDK::Metadata", "Properties": {}}
            path.write_text(json.dumps(template), encoding="utf-8")
    blocks: dict[str, list[str]] = {}
    for line in summarize(assembly).splitlines():
        if not line.startswith(" "):
            blocks[line.split()[0]] = []
        blocks[next(reversed(blocks))].append(line)
    return {stack: "\n".join(lines) for stack, lines in blocks.items()}


def test_readme_is_under_250_lines() -> None:
    assert len(_text(README).splitlines()) < 250


def test_the_readmes_make_synth_sample_is_what_a_fresh_synthesis_prints(
    synthesized: Synthesized, tmp_path: Path
) -> None:
    summaries = _summary_blocks(synthesized, tmp_path)
    readme = [text for page, text in _samples("make synth emr-platform-dev") if page == README]
    assert len(readme) == 1, "README.md shows the dev summary once, marked <!-- sample: make synth emr-platform-dev -->"
    assert readme[0] == summaries["emr-platform-dev"], (
        "README.md's make synth sample differs from what the summary prints now. Fix: replace the sample with the "
        "emr-platform-dev block of `make synth`"
    )


def test_summary_excerpts_in_the_docs_are_what_a_fresh_synthesis_prints(
    synthesized: Synthesized, tmp_path: Path
) -> None:
    summaries = _summary_blocks(synthesized, tmp_path)
    found = 0
    for stack, summary in summaries.items():
        for page, excerpt in _samples(f"make synth {stack}"):
            found += 1
            assert f"\n{excerpt}\n" in f"\n{summary}\n", f"{_rel(page)}: the {stack} excerpt is not in the summary"
    assert found >= 2


def test_the_settings_error_sample_is_what_the_loader_prints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config"
    shutil.copytree(PROJECT / "config", config)
    dev = (config / "dev.yaml").read_text(encoding="utf-8")
    core = "      core:\n"
    start = dev.index(core)
    at = dev.index("spot_capacity: 2", start)
    (config / "dev.yaml").write_text(dev[:at] + "spot_capacity: -1" + dev[at + len("spot_capacity: 2") :])
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SettingsError) as raised:
        load_settings("dev", Path("config"))
    printed = f"error: {raised.value}"  # as emr_platform.app.main prints it
    samples = _samples("settings error")
    assert {page for page, _ in samples} >= {README, PROJECT / "docs" / "configuration.md"}
    for page, sample in samples:
        assert sample == printed, f"{_rel(page)}: the settings error sample differs from:\n{printed}"


def _baseline(name: str) -> dict[str, Any]:
    return dict(json.loads((PROJECT / "baseline" / f"emr-platform-{name}.template.json").read_text(encoding="utf-8")))


def _first(template: dict[str, Any], kind: str) -> str:
    return str(next(i for i, r in template["Resources"].items() if r["Type"] == kind))


def test_the_guard_sample_is_what_the_guard_prints() -> None:
    prod = _baseline("prod")
    release = copy.deepcopy(prod)
    release["Resources"][_first(release, "AWS::EMR::Cluster")]["Properties"]["ReleaseLabel"] = "emr-7.14.0"
    staging = _baseline("staging")
    secured = copy.deepcopy(staging)
    config = secured["Resources"][_first(secured, "AWS::EMR::SecurityConfiguration")]["Properties"]
    config["SecurityConfiguration"]["InstanceMetadataServiceConfiguration"] = {}
    dev = _baseline("dev")
    renamed = copy.deepcopy(dev)
    bucket = _first(renamed, "AWS::S3::Bucket")
    renamed["Resources"][f"{bucket}Renamed"] = renamed["Resources"].pop(bucket)
    verdicts = [
        *compare("emr-platform-prod", prod, release),
        *compare("emr-platform-staging", staging, secured),
        *compare("emr-platform-dev", dev, renamed),
    ]
    printed = "\n".join(str(v) for v in verdicts)
    [(page, sample)] = _samples("guard")
    assert sample == printed, f"{_rel(page)}: the guard sample differs from:\n{printed}"


def test_the_prop_error_sample_is_what_the_construct_raises() -> None:
    stack = Stack(App(context=EXAMPLE_CONTEXT), "team-emr", env=Environment(account="444444444444", region="eu-west-1"))
    storage = DataLakeStorage(stack, "Storage", data_zones=["raw"])
    network = EmrNetwork(
        stack, "Network", encryption_key=storage.key, availability_zones=["eu-west-1a"], interface_endpoints=()
    )
    placement = ClusterPlacement(vpc=network.vpc, subnets=network.subnets, log_bucket=storage.logs_bucket)
    spot_core = {
        "release_label": "emr-7.13.0",
        "instance_fleets": {"primary": {"on_demand_capacity": 1}, "core": {"spot_capacity": 2}},
    }
    with pytest.raises(PropError) as raised:
        EmrCluster(stack, "Spark", spec=spot_core, placement=placement)
    [(page, sample)] = _samples("prop error")
    assert sample == f"PropError: {raised.value}", f"{_rel(page)}: the PropError sample differs"


def test_the_transient_example_is_a_valid_transient_cluster() -> None:
    text = _text(PROJECT / "docs" / "operate.md")
    block = text.split("<!-- settings: TransientClusterSpec -->\n```yaml\n")[1].split("```")[0]
    [(name, spec)] = yaml.safe_load(block)["transient_clusters"].items()
    TransientClusterSpec.parse(spec, where=f"docs/operate.md: transient_clusters.{name}")


# --- code --------------------------------------------------------------------------------------------------------


def _ruff_formatted(code: str) -> str:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ruff"), "format", "--line-length", "120", "--stdin-filename", "a.py", "-"],
        input=code,
        capture_output=True,
        text=True,
        check=True,
        cwd=PROJECT,
    )
    return result.stdout


def test_every_python_block_compiles_and_is_formatted() -> None:
    for page in WRITTEN:
        for code in _blocks(page, "python"):
            compile(code, str(page), "exec")
            assert _ruff_formatted(code) == code, f"{_rel(page)}: a python block is not as ruff formats it:\n{code}"


def test_the_readmes_construct_code_runs_as_an_app_through_the_gates(tmp_path: Path) -> None:
    [code] = _blocks(README, "python")
    (tmp_path / "app.py").write_text(code, encoding="utf-8")
    outdir = tmp_path / "cdk.out"
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT),
        "CDK_OUTDIR": str(outdir),
        "CDK_CONTEXT_JSON": json.dumps(EXAMPLE_CONTEXT),
    }
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    [template_path] = outdir.glob("*.template.json")
    resources = json.loads(template_path.read_text(encoding="utf-8"))["Resources"].values()
    [cluster] = [r["Properties"] for r in resources if r["Type"] == "AWS::EMR::Cluster"]
    assert "SecurityConfiguration" in cluster and "LogEncryptionKmsKeyId" in cluster
    assert "/emr-logs/" in json.dumps(cluster["LogUri"])


REUSE_PREAMBLE = """
import aws_cdk as cdk
from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from emr_platform.constructs import *

stack = cdk.Stack(app, "team-emr", env=cdk.Environment(account="444444444444", region="eu-west-1"))
storage = DataLakeStorage(stack, "Storage", data_zones=["raw", "curated"])
network = EmrNetwork(stack, "Network", encryption_key=storage.key, availability_zones=["eu-west-1a", "eu-west-1b"])
tls = {"in_transit_encryption": {"certificates_zip": "s3://team-pki/emr/certs.zip"}}
security = EmrSecurityConfiguration(stack, "Security", encryption_key=storage.key, spec=tls)
catalog = DataCatalog(stack, "Catalog", database_prefix="team", zone_locations=storage.zone_uris)
etl_spec = {
    "release_label": "emr-7.13.0",
    "applications": ["Hadoop", "Spark"],
    "instance_fleets": {"primary": {"on_demand_capacity": 1}, "core": {"on_demand_capacity": 2}},
}
adhoc_spec = etl_spec
table = dynamodb.Table.from_table_name(stack, "Table", "events")
database = ec2.SecurityGroup(stack, "Database", vpc=network.vpc, allow_all_outbound=False)
secret = secretsmanager.Secret.from_secret_complete_arn(
    stack, "Secret", "arn:aws:secretsmanager:eu-west-1:444444444444:secret:db-AbCdEf"
)
other_role = iam.Role.from_role_arn(stack, "Other", "arn:aws:iam::444444444444:role/other", mutable=False)
"""
"""What docs/reuse.md's snippets assume: a stack with storage, network, a security configuration, a catalog, two
cluster specs, a table, a database and its secret, and a role of someone else's."""


def test_the_reuse_pages_code_synthesizes_through_the_gates(tmp_path: Path) -> None:
    app = App(context=EXAMPLE_CONTEXT, outdir=str(tmp_path))
    namespace: dict[str, Any] = {"app": app}
    exec(REUSE_PREAMBLE, namespace)  # noqa: S102 - the documentation's own code, run as the reader would
    blocks = _blocks(PROJECT / "docs" / "reuse.md", "python")
    assert len(blocks) >= 5
    for code in blocks:
        exec(code, namespace)  # noqa: S102
    add_compliance_checks(app)
    app.synth()  # raises on any finding nothing acknowledges
    assert (tmp_path / "team-emr.template.json").is_file()


@cache
def _public_classes() -> dict[str, Any]:
    return {
        name: value
        for name in emr_platform.constructs.__all__
        if inspect.isclass(value := getattr(emr_platform.constructs, name))
    }


def _parameters(function: Any) -> set[str]:
    return set(inspect.signature(function).parameters)


_METHOD = re.compile(r"^(grant_|use_|connect_|add_configuration)")


def _api_problems(code: str) -> list[str]:
    """Constructor keywords of the package's classes, and the grant / integration methods called, that the code
    does not have."""
    classes = _public_classes()
    problems = []
    for node in ast.walk(ast.parse(code)):
        if not isinstance(node, ast.Call):
            continue
        keywords = {k.arg for k in node.keywords if k.arg is not None}
        if isinstance(node.func, ast.Name) and node.func.id in classes:
            unknown = keywords - _parameters(classes[node.func.id].__init__)
            problems += [f"{node.func.id}({k}=...)" for k in sorted(unknown)]
        elif isinstance(node.func, ast.Attribute) and _METHOD.match(node.func.attr):
            methods = [
                getattr(c, node.func.attr) for c in classes.values() if callable(getattr(c, node.func.attr, None))
            ]
            if not methods:
                problems.append(f".{node.func.attr}()")
            elif not any(keywords <= _parameters(m) for m in methods):
                problems.append(f".{node.func.attr}({', '.join(sorted(keywords))})")
    return problems


def test_the_code_names_only_props_and_methods_the_constructs_have() -> None:
    for page in WRITTEN:
        for code in _blocks(page, "python"):
            assert _api_problems(code) == [], f"{_rel(page)}: not in the construct API"


def test_the_api_check_catches_a_stale_name() -> None:
    stale = 'EmrCluster(self, "C", spec=spec, log_uri=storage.emr_log_uri)\nsecurity.grant_use(cluster)\n'
    assert _api_problems(stale) == ["EmrCluster(log_uri=...)", ".grant_use()"]


# --- links and names -----------------------------------------------------------------------------------------------


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"<[^>]+>", "", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


@cache
def _anchors(page: Path) -> set[str]:
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    for match in re.finditer(r"^#{1,6} (.+?)\s*$", _prose(page), re.MULTILINE):
        slug = _slug(match[1])
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def _links(page: Path) -> list[str]:
    return [m[1] for m in re.finditer(r"\]\(([^)\s]+)\)", _prose(page))]


def test_every_relative_link_and_anchor_resolves() -> None:
    broken = []
    for page in PAGES:
        for link in _links(page):
            if re.match(r"^[a-z]+:", link):
                continue
            path, _, anchor = link.partition("#")
            target = (page.parent / path).resolve() if path else page
            if not target.exists():
                broken.append(f"{_rel(page)}: {link} (no such file)")
            elif anchor and target.suffix == ".md" and anchor not in _anchors(target):
                broken.append(f"{_rel(page)}: {link} (no such heading)")
    assert broken == []


def test_docs_pages_are_linked_from_the_readme_or_another_page() -> None:
    linked = {(page.parent / link.partition("#")[0]).resolve() for page in PAGES for link in _links(page)}
    unlinked = [_rel(page) for page in PAGES[2:] if page.resolve() not in linked]
    assert unlinked == []


def _code(page: Path) -> list[str]:
    """Inline code spans, and the lines of fenced blocks."""
    text = _text(page)
    lines = [line.strip() for m in _FENCE.finditer(text) for line in m["body"].splitlines()]
    return [*_CODE_SPAN.findall(_prose(page)), *lines]


def test_every_make_target_named_exists() -> None:
    makefile = (PROJECT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][a-z0-9-]*):", makefile, re.MULTILINE))
    named = {
        (_rel(page), m[1])
        for page in WRITTEN
        for code in _code(page)
        if (m := re.match(r"make ([a-z][a-z0-9-]*)", code))
    }
    assert {target for _, target in named} >= {"synth", "test", "guard", "guard-accept", "docs", "e2e", "bench"}
    assert sorted(n for n in named if n[1] not in targets) == []


def _resolve(dotted: str) -> bool:
    """Whether ``emr_platform.a.b.C.d`` is a module, or attributes of the longest module prefix."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        name = ".".join(parts[:cut])
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:  # a parent is a module, not a package
            found = False
        if found:
            value: ModuleType | object = importlib.import_module(name)
            for attribute in parts[cut:]:
                if not hasattr(value, attribute):
                    return False
                value = getattr(value, attribute)
            return True
    return False


def test_every_module_path_named_imports() -> None:
    named = {
        (_rel(page), m[0])
        for page in PAGES
        for m in re.finditer(r"\bemr_platform(?:\.[A-Za-z_][A-Za-z0-9_]*)+", _text(page))
    }
    assert len(named) > 20
    assert sorted(n for n in named if not _resolve(n[1])) == []


_REPO_PATH = re.compile(r"^(?:emr_platform|tests|config|docs|examples|scripts|baseline|\.github|\.ci)/[^\s<>*{}]*$")


@cache
def _test_functions() -> set[str]:
    return {
        m[1]
        for path in (PROJECT / "tests").rglob("test_*.py")
        for m in re.finditer(r"^def (test_\w+)\(", path.read_text(encoding="utf-8"), re.MULTILINE)
    }


def test_every_file_test_module_and_test_named_exists() -> None:
    missing = []
    for page in WRITTEN:
        for span in _CODE_SPAN.findall(_prose(page)):
            no_file = _REPO_PATH.match(span) and not (PROJECT / span.rstrip("/")).exists()
            no_module = re.match(r"^(?:e2e/)?test_\w+\.py$", span) and not (PROJECT / "tests" / span).is_file()
            no_test = re.match(r"^test_\w+$", span) and span not in _test_functions()
            if no_file or no_module or no_test:
                missing.append(f"{_rel(page)}: {span}")
    assert missing == []


# --- claims about the code ---------------------------------------------------------------------------------------


def test_the_replacement_lists_in_safe_changes_match_the_schemas() -> None:
    cluster = {p.removeprefix("/properties/") for p in replacing_properties("AWS::EMR::Cluster")}
    replaces = {
        *("ReleaseLabel", "Applications", "Configurations", "BootstrapActions", "SecurityConfiguration"),
        *("EbsRootVolumeSize", "EbsRootVolumeIops", "EbsRootVolumeThroughput", "CustomAmiId", "OSReleaseLabel"),
        *("PlacementGroupConfigs", "KerberosAttributes", "ServiceRole", "JobFlowRole", "LogUri"),
        *("LogEncryptionKmsKeyId", "Name", "Instances/Ec2SubnetId", "Instances/Ec2SubnetIds"),
        *("Instances/EmrManagedMasterSecurityGroup", "Instances/EmrManagedSlaveSecurityGroup"),
        *("Instances/ServiceAccessSecurityGroup",),
    }
    in_place = {
        *("ManagedScalingPolicy", "Instances/TaskInstanceFleets", "Instances/TaskInstanceGroups"),
        *("AutoTerminationPolicy", "StepConcurrencyLevel", "Instances/TerminationProtected", "Tags"),
        *("Instances/MasterInstanceFleet", "Instances/CoreInstanceFleet"),  # decided part by part (below)
    }
    assert replaces <= cluster
    assert not in_place & cluster
    assert {"TargetOnDemandCapacity", "TargetSpotCapacity", "ResizeSpecifications", "InstanceTypeConfigs"} <= (
        fleet_in_place()
    )
    assert not {"Name", "LaunchSpecifications"} & fleet_in_place()
    assert {"InstanceCount", "Configurations", "AutoScalingPolicy"} <= group_in_place()
    assert not {"InstanceType", "Market", "EbsConfiguration"} & group_in_place()
    assert "/properties/SecurityConfiguration" in replacing_properties("AWS::EMR::SecurityConfiguration")
