"""The benchmark's own logic (``make bench``): what it runs and how it reads the timings. No timing is asserted here."""

from __future__ import annotations

import ast
import copy
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from .conftest import PROJECT


def _load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench", PROJECT / "scripts" / "bench.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


bench = _load_bench()


def test_the_platform_is_timed_as_the_cdk_cli_runs_it_and_the_floor_with_the_same_interpreter() -> None:
    app = json.loads((PROJECT / "cdk.json").read_text(encoding="utf-8"))["app"]
    assert app.split() == bench.PLATFORM
    assert bench.PLATFORM[-1] == "app.py"
    assert bench.PLATFORM[:-1] == bench.PYTHON
    assert "-O" in bench.PYTHON  # the floor pays the same interpreter costs as the platform


def test_interpreter_keeps_the_flags_and_drops_the_script() -> None:
    assert bench.interpreter(["python3", "-O", "-X", "importtime", "app.py"]) == ["python3", "-O", "-X", "importtime"]


def test_fit_of_points_on_a_line() -> None:
    line = bench.fit([(1, 2.0), (5, 2.8), (12, 4.2)])
    assert line.slope == pytest.approx(0.2)
    assert line.intercept == pytest.approx(1.8)
    assert line.r_squared == pytest.approx(1.0)
    assert line.middle_deviation == pytest.approx(0.0, abs=1e-9)
    assert line.chord_rise == pytest.approx(2.2)


def test_fit_reports_how_far_the_middle_point_strays_from_the_chord() -> None:
    line = bench.fit([(1, 2.0), (5, 3.4), (12, 4.2)])  # the chord gives 2.8 s at 5 clusters
    assert line.middle_deviation == pytest.approx(0.6)
    assert line.r_squared < 1.0


def test_the_largest_count_is_predicted_from_the_resources_per_cluster() -> None:
    results = {1: bench.Synthesis(2.9, resources=133, outputs=10), 5: bench.Synthesis(3.5, resources=265, outputs=18)}
    # 33 resources per cluster: 133 + 11 * 33 = 496 fits in 500, one more does not.
    assert bench._predicted_limit(results) == 12
    assert bench._predicted_limit({1: results[1]}) is None


def test_scaled_settings_copy_the_first_cluster_and_keep_the_transient_ones() -> None:
    data = bench.scaled_settings(3)
    assert list(data["clusters"]) == ["c01", "c02", "c03"]
    assert data["clusters"]["c01"] == data["clusters"]["c03"]
    assert data["clusters"]["c01"] is not data["clusters"]["c03"]
    assert data["transient_clusters"]


# --- the reference: the same templates and gates in plain aws-cdk-lib ------------------------------------------

REFERENCE_IMPORTS = {"aws_cdk", "cdk_nag"}


def _imported_modules(source: str) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "a relative import"
            modules.add(str(node.module))
    return modules


def _called_names(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            function = node.func
            names.add(function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", ""))
    return names


def test_the_reference_imports_only_aws_cdk_cdk_nag_and_the_standard_library(tmp_path: Path) -> None:
    script = bench.write_reference(tmp_path / "ref", [_stack()], tmp_path / "include", {}, {})
    source = script.read_text(encoding="utf-8")
    modules = _imported_modules(source)
    assert modules, "the parser found no import at all"
    for module in modules:
        top = module.split(".")[0]
        assert top in REFERENCE_IMPORTS or top in sys.stdlib_module_names, module
        assert top != "emr_platform"
    assert "__import__" not in _called_names(source) and "import_module" not in _called_names(source)


def test_the_reference_includes_each_template_and_registers_the_platforms_gates(tmp_path: Path) -> None:
    script = bench.write_reference(tmp_path / "ref", [_stack()], tmp_path / "include", {}, {})
    called = _called_names(script.read_text(encoding="utf-8"))
    assert {"CfnInclude", "acknowledge", "add_plugins", "synth"} <= called
    assert {"AwsSolutionsChecks", "HIPAASecurityChecks", "NIST80053R5Checks", "PCIDSS321Checks"} <= called
    assert {"CloudFormationValidatePlugin", "ValidationRuleSource"} <= called
    # The same gates as the platform's (wherever its sources register them), its Guard rules read as files.
    sources = "".join(p.read_text(encoding="utf-8") for p in (PROJECT / "emr_platform").rglob("*.py"))
    for gate in ("AwsSolutionsChecks", "HIPAASecurityChecks", "NIST80053R5Checks", "PCIDSS321Checks"):
        assert gate in sources
    assert "CloudFormationValidatePlugin(guard_rules=" in sources
    assert sorted((PROJECT / bench.GUARD_RULES_DIR).glob("*.guard"))


def test_the_reference_spec_names_each_stack_its_template_and_its_acknowledgements(tmp_path: Path) -> None:
    acks = {"s-dev": {"Bucket": {"Annotation::AwsSolutions-S1": "why"}}}
    context = {bench.FAIL_SYNTH_ON_VALIDATION_ERRORS: False}
    script = bench.write_reference(tmp_path / "ref", [_stack()], tmp_path / "include", acks, context)
    spec = json.loads((script.parent / "spec.json").read_text(encoding="utf-8"))
    assert str(script.parent / "spec.json") in script.read_text(encoding="utf-8")
    assert spec["context"] == {"@aws-cdk/core:failSynthOnValidationErrors": False}
    assert spec["rules_dir"] == "emr_platform/rules/control_tower"
    (entry,) = spec["stacks"]
    assert entry["id"] == entry["stack_name"] == "s-dev"
    assert (entry["account"], entry["region"], entry["termination_protection"]) == ("111111111111", "eu-west-1", False)
    assert entry["template"] == str(tmp_path / "include" / "s-dev.template.json")
    assert entry["acknowledgements"] == acks["s-dev"]


def _stack(**changes: Any) -> Any:
    fields: dict[str, Any] = {
        "artifact_id": "s-dev",
        "stack_name": "s-dev",
        "account": "111111111111",
        "region": "eu-west-1",
        "termination_protection": False,
        "template_file": "s-dev.template.json",
        "resources": {"Bucket": "AWS::S3::Bucket", "Role": "AWS::IAM::Role", "Vpc": "AWS::EC2::VPC"},
        "acknowledged": {"Bucket": {"Annotation::AwsSolutions-S1": "the logs bucket"}},
        "plain": frozenset({"Role"}),
    }
    return bench.PlatformStack(**{**fields, **changes})


def test_the_included_template_drops_only_what_the_references_synthesizer_adds_again() -> None:
    template = {
        "Description": "d",
        "Parameters": {"BootstrapVersion": {"Type": "AWS::SSM::Parameter::Value<String>"}},
        "Rules": {"CheckBootstrapVersion": {"Assertions": []}, "Mine": {"Assertions": []}},
        "Resources": {"Bucket": {"Type": "AWS::S3::Bucket"}},
        "Outputs": {"Name": {"Value": {"Ref": "Bucket"}}},
    }
    included = bench.included_template(template)
    assert included == {
        "Description": "d",
        "Rules": {"Mine": {"Assertions": []}},
        "Resources": {"Bucket": {"Type": "AWS::S3::Bucket"}},
        "Outputs": {"Name": {"Value": {"Ref": "Bucket"}}},
    }
    assert "BootstrapVersion" in template["Parameters"]  # the platform's template is not changed


def test_an_acknowledgement_covers_the_resources_under_its_construct_and_no_sibling() -> None:
    def logical_id(value: str) -> list[dict[str, Any]]:
        return [{"type": "aws:cdk:logicalId", "data": value}]

    ack = {"type": "aws:cdk:acknowledged-rules", "data": {"Annotation::AwsSolutions-IAM5": "reason"}}
    metadata = {
        "/s/Roles": [ack],
        "/s/Roles/Service/Resource": logical_id("ServiceRole"),
        "/s/Roles/Instance/Policy/Resource": logical_id("InstancePolicy"),
        "/s/RolesExtra/Resource": logical_id("RolesExtra"),  # shares the prefix, not the construct
        "/s/Bucket/Resource": [*logical_id("Bucket"), {**ack, "data": {"CloudFormation-Validate::W1": "own"}}],
    }
    assert bench.acknowledged_by_logical_id(metadata) == {
        "ServiceRole": {"Annotation::AwsSolutions-IAM5": "reason"},
        "InstancePolicy": {"Annotation::AwsSolutions-IAM5": "reason"},
        "Bucket": {"CloudFormation-Validate::W1": "own"},
    }


def test_a_tiny_cloud_assembly_is_read_with_its_stacks_acknowledgements_and_plain_resources(tmp_path: Path) -> None:
    template = {"Resources": {"Bucket": {"Type": "AWS::S3::Bucket"}, "Handler": {"Type": "AWS::Lambda::Function"}}}
    metadata = {
        "/s-dev/Bucket/Resource": [{"type": "aws:cdk:logicalId", "data": "Bucket"}],
        "/s-dev/Bucket": [{"type": "aws:cdk:acknowledged-rules", "data": {"Annotation::AwsSolutions-S1": "r"}}],
        "/s-dev/Provider/Handler": [{"type": "aws:cdk:logicalId", "data": "Handler"}],
    }
    stack_artifact = {
        "type": "aws:cloudformation:stack",
        "environment": "aws://111111111111/eu-west-1",
        "properties": {"templateFile": "s-dev.template.json", "terminationProtection": True},
        "additionalMetadataFile": "s-dev.metadata.json",
    }
    manifest = {"artifacts": {"s-dev": stack_artifact, "Tree": {"type": "cdk:tree", "properties": {"file": "t"}}}}
    handler = {"id": "Handler", "path": "s-dev/Provider/Handler", "constructInfo": {"fqn": "aws-cdk-lib.CfnResource"}}
    bucket = {
        "id": "Resource",
        "path": "s-dev/Bucket/Resource",
        "constructInfo": {"fqn": "aws-cdk-lib.aws_s3.CfnBucket"},
    }
    tree = {
        "tree": {
            "id": "App",
            "path": "",
            "children": {
                "s-dev": {
                    "id": "s-dev",
                    "path": "s-dev",
                    "children": {
                        "Bucket": {"id": "Bucket", "path": "s-dev/Bucket", "children": {"Resource": bucket}},
                        "Provider": {"id": "Provider", "path": "s-dev/Provider", "children": {"Handler": handler}},
                    },
                }
            },
        }
    }
    for name, content in [
        ("manifest.json", manifest),
        ("tree.json", tree),
        ("s-dev.template.json", template),
        ("s-dev.metadata.json", metadata),
    ]:
        (tmp_path / name).write_text(json.dumps(content), encoding="utf-8")
    (stack,) = bench.read_assembly(tmp_path)
    assert stack == _stack(
        termination_protection=True,
        resources={"Bucket": "AWS::S3::Bucket", "Handler": "AWS::Lambda::Function"},
        acknowledged={"Bucket": {"Annotation::AwsSolutions-S1": "r"}},
        plain=frozenset({"Handler"}),
    )


def _report(*plugins: tuple[str, str, list[str]]) -> dict[str, Any]:
    return {
        "pluginReports": [
            {
                "pluginName": gate,
                "violations": [{"ruleName": rule, "violatingConstructs": [{"constructPath": p} for p in paths]}],
            }
            for gate, rule, paths in plugins
        ]
    }


def test_findings_of_a_report_are_named_as_the_platform_acknowledges_them() -> None:
    report = _report(
        ("AwsSolutions", "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/x]", ["s-dev/Include/Role"]),
        ("CloudFormation Validate", "W3010", ["s-dev/Include/Subnet", "s-prod/Include/Subnet"]),
    )
    assert bench.raised_findings(report) == {
        bench.Finding(
            "s-dev",
            "Role",
            "Annotation::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/x]",
            "AwsSolutions",
        ),
        bench.Finding("s-dev", "Subnet", "CloudFormation-Validate::W3010", "CloudFormation Validate"),
        bench.Finding("s-prod", "Subnet", "CloudFormation-Validate::W3010", "CloudFormation Validate"),
    }
    with pytest.raises(SystemExit, match="not on an included resource"):
        bench.raised_findings(_report(("AwsSolutions", "AwsSolutions-S1", ["s-dev/Bucket/Resource"])))


def test_the_reference_acknowledges_what_its_gates_raise_and_explains_what_the_platform_cannot() -> None:
    stack = _stack()
    findings = [
        bench.Finding("s-dev", "Bucket", "Annotation::AwsSolutions-S1", "AwsSolutions"),  # the platform's
        bench.Finding("s-dev", "Role", "Annotation::AwsSolutions-IAM4[Policy::x]", "AwsSolutions"),  # plain
        bench.Finding("s-dev", "Vpc", "Annotation::HIPAA.Security-VPCDefaultSecurityGroupClosed", "HIPAA.Security"),
        bench.Finding("s-dev", "Vpc", "Annotation::HIPAA.Security-VPCFlowLogsEnabled", "HIPAA.Security"),  # neither
        bench.Finding("s-prod", "Bucket", "Annotation::AwsSolutions-S1", "AwsSolutions"),  # no such stack
    ]
    acks, explained, unexplained = bench.reference_acknowledgements(findings, [stack])
    assert acks["s-dev"]["Bucket"] == {"Annotation::AwsSolutions-S1": "the logs bucket"}
    assert set(acks["s-dev"]) == {"Bucket", "Role", "Vpc"}
    assert explained == sorted(findings[1:3])
    assert unexplained == sorted([findings[3], findings[4]])


def test_the_gates_the_platform_acknowledges_findings_of() -> None:
    stack = _stack(
        acknowledged={
            "A": {"Annotation::NIST.800.53.R5-IAMNoInlinePolicy": "r", "Annotation::emr-platform:destroy": "r"},
            "B": {"CloudFormation-Validate::W3010": "r", "Annotation::PCI.DSS.321-LambdaDLQ": "r"},
        }
    )
    assert bench.gates_acknowledged([stack]) == {"NIST.800.53.R5", "PCI.DSS.321", "CloudFormation Validate"}


def test_resources_must_match_by_logical_id_and_type() -> None:
    platform = {"s-dev": {"Bucket": "AWS::S3::Bucket", "Role": "AWS::IAM::Role"}, "s-prod": {"Key": "AWS::KMS::Key"}}
    assert bench.compare_resources(platform, copy.deepcopy(platform)) == []
    reference = {"s-dev": {"Bucket": "AWS::S3::Bucket", "Role": "AWS::IAM::Policy", "Extra": "AWS::SNS::Topic"}}
    assert bench.compare_resources(platform, reference) == [
        "s-prod: no such stack in the reference",
        "s-dev: Extra (AWS::SNS::Topic) is extra",
        "s-dev: Role is AWS::IAM::Policy, the platform's AWS::IAM::Role",
    ]
    assert bench.compare_resources({"s": {"A": "T"}}, {"s": {}}) == ["s: A (T) is missing"]


@pytest.mark.parametrize(("platform", "verdict"), [(2.6, "PASS"), (2.0, "PASS"), (2.62, "FAIL"), (4.15, "FAIL")])
def test_the_ratio_against_the_reference_is_the_target_and_the_floor_only_information(
    platform: float, verdict: str
) -> None:
    rows = bench.ratio_rows(platform, 2.0, 1.0)
    assert rows[0][0] == "synthesis, all envs / same templates"
    assert (rows[0][2], rows[0][3]) == ("<= 1.3", verdict)
    assert rows[1][1:] == (f"{platform:.2f}", "-", "info")
    lines = bench.summary_table(rows)
    assert lines[0].split() == ["measure", "value", "target", "result"]
    assert lines[1].endswith(verdict) and lines[2].endswith("info")
    column = lines[0].index("value")  # aligned columns
    assert lines[1].index(rows[0][1]) == lines[2].index(rows[1][1]) == column
