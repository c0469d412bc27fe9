"""The cost view: capacity and an hourly cost range per cluster, from the price table kept in the repo."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.stub import Stubber

from emr_platform.spec.capacity import DEFAULT_INSTANCE_TYPES
from emr_platform.tools.cost import estimate
from emr_platform.tools.pricing import PRICES_FILE, PriceTable, SpotRatio, refresh
from emr_platform.tools.summary import _cost_lines, _stack_lines, summarize, transient_clusters

from .conftest import PROJECT, Synthesized, no_credentials_env, running_emulator

TABLE = PriceTable(
    {
        "about": {"as_of": {"eu-west-1": "2026-01-01"}},
        "instances": {
            "m7g.xlarge": {"vcpus": 4, "memory_gib": 16},
            "m7g.2xlarge": {"vcpus": 8, "memory_gib": 32},
            "m7i.xlarge": {"vcpus": 4, "memory_gib": 16},
            "m7i.2xlarge": {"vcpus": 8, "memory_gib": 32},
        },
        "prices": {
            "eu-west-1": {
                "m7g.xlarge": {"ec2": 0.16, "emr": 0.04},
                "m7g.2xlarge": {"ec2": 0.34, "emr": 0.08},
                "m7i.xlarge": {"ec2": 0.20, "emr": 0.05},
                "m7i.2xlarge": {"ec2": 0.40, "emr": 0.10},
            }
        },
        "spot": {
            "eu-west-1": {
                "default": 0.5,
                "families": {"m7g": 0.4},
                "types": {"m7g.2xlarge": 0.3},
                "source": "test",
                "as_of": "2026-01-01",
            }
        },
    }
)


def _fleet(od: int, spot: int, *types: tuple[str, int]) -> dict[str, Any]:
    return {
        "TargetOnDemandCapacity": od,
        "TargetSpotCapacity": spot,
        "InstanceTypeConfigs": [{"InstanceType": t, "WeightedCapacity": w} for t, w in types],
    }


PROPS: dict[str, Any] = {
    "Instances": {
        "MasterInstanceFleet": _fleet(1, 0, ("m7g.xlarge", 1)),
        "CoreInstanceFleet": _fleet(2, 0, ("m7g.xlarge", 1), ("m7g.2xlarge", 2)),
        "TaskInstanceFleets": [_fleet(0, 4, ("m7g.xlarge", 1), ("m7g.2xlarge", 2))],
    },
    "ManagedScalingPolicy": {
        "ComputeLimits": {
            "UnitType": "InstanceFleetUnits",
            "MinimumCapacityUnits": 2,
            "MaximumCapacityUnits": 10,
            "MaximumCoreCapacityUnits": 2,
            "MaximumOnDemandCapacityUnits": 2,
        }
    },
}


XL_OD, XL2_OD = 0.16 + 0.04, (0.34 + 0.08) / 2  # On-Demand per unit: the xlarge is the cheaper unit
XL_SPOT, XL2_SPOT = 0.16 * 0.4 + 0.04, (0.34 * 0.3 + 0.08) / 2  # Spot per unit: family ratio, type ratio; full EMR
X86_XL, X86_XL2 = 0.20 + 0.05, (0.40 + 0.10) / 2  # the x86 twins, On-Demand per unit


def test_capacity_runs_from_launch_to_managed_scalings_limits() -> None:
    cost = estimate("c", "eu-west-1", PROPS, TABLE)
    primary, core, task = cost.nodes
    assert (primary.min_units, primary.max_units) == (1, 1)
    assert (core.min_units, core.max_units) == (2, 2), "core stays within MaximumCoreCapacityUnits"
    assert (task.min_units, task.max_units) == (0, 8), "the rest of the maximum goes to task nodes"
    assert task.instances(8) == (4, 8), "8 units are 4 2xlarge or 8 xlarge"
    assert task.vcpus(8) == (32, 32)
    assert cost.spot_share["launch"] == pytest.approx(4 / 7)
    assert cost.spot_share["max"] == pytest.approx(1 - 3 / 11), "On-Demand stops at the cap (2) plus the primary"


def test_each_size_prices_on_demand_on_the_cheapest_unit_and_spot_on_the_average_with_emr_in_full() -> None:
    cost = estimate("c", "eu-west-1", PROPS, TABLE)
    floor, launch, most = cost.points["floor"], cost.points["launch"], cost.points["max"]
    assert (floor.units, launch.units, most.units) == (2, 6, 10), "core and task units, what managed scaling counts"
    spot = (XL_SPOT + XL2_SPOT) / 2
    assert floor.hourly == pytest.approx(3 * XL_OD), "the floor (2) is the core: task nodes scale to zero"
    assert launch.hourly == pytest.approx(3 * XL_OD + 4 * spot)
    assert most.hourly == pytest.approx(3 * XL_OD + 8 * spot)
    assert launch.baseline == pytest.approx(3 * X86_XL + 4 * (X86_XL + X86_XL2) / 2)
    assert launch.saving == pytest.approx(1 - launch.hourly / launch.baseline)
    assert most.monthly == pytest.approx(most.hourly * 730)
    assert cost.worst == pytest.approx(XL_OD + 2 * XL2_OD + 8 * XL2_OD), "dearest types, Spot at its bid cap (100 %)"
    assert [r.scope for r in cost.spot_ratios] == ["m7g family", "m7g.2xlarge"], "the ratios priced, named"
    assert not cost.unpriced and not cost.emr_estimated


def test_a_launch_below_the_floor_is_priced_at_the_floor() -> None:
    props = json.loads(json.dumps(PROPS))
    props["ManagedScalingPolicy"]["ComputeLimits"]["MinimumCapacityUnits"] = 8
    cost = estimate("c", "eu-west-1", props, TABLE)
    assert cost.points["floor"].units == 8 and cost.points["launch"].units == 6
    assert cost.points["floor"].hourly > cost.points["launch"].hourly


def test_a_bid_cap_lowers_the_worst_case_and_caps_the_spot_ratio() -> None:
    props = json.loads(json.dumps(PROPS))
    for config in props["Instances"]["TaskInstanceFleets"][0]["InstanceTypeConfigs"]:
        config["BidPriceAsPercentageOfOnDemandPrice"] = 35
    capped = estimate("c", "eu-west-1", props, TABLE)
    assert capped.worst == pytest.approx(XL_OD + 2 * XL2_OD + 8 * (0.34 * 0.35 + 0.08) / 2), "the 2xlarge at its bid"
    spot = ((0.16 * 0.35 + 0.04) + XL2_SPOT) / 2  # the xlarge's 40 % ratio is above its 35 % bid: priced at the bid
    assert capped.points["launch"].hourly == pytest.approx(3 * XL_OD + 4 * spot)


def test_a_fleet_that_switches_to_on_demand_is_priced_on_demand_when_spot_is_short() -> None:
    props = json.loads(json.dumps(PROPS))
    task = props["Instances"]["TaskInstanceFleets"][0]
    for config in task["InstanceTypeConfigs"]:
        config["BidPriceAsPercentageOfOnDemandPrice"] = 35
    assert estimate("c", "eu-west-1", props, TABLE).spot_short is None, "no fallback: nothing to price"
    task["LaunchSpecifications"] = {"SpotSpecification": {"TimeoutAction": "SWITCH_TO_ON_DEMAND"}}
    cost = estimate("c", "eu-west-1", props, TABLE)
    assert cost.spot_short == pytest.approx(3 * XL_OD + 4 * XL_OD), "its Spot units On-Demand, the cheapest type"
    assert cost.worst == pytest.approx(XL_OD + 10 * XL2_OD), "the fallback pays On-Demand, whatever the bid"


COMMITMENT = {"name": "sp", "kind": "compute_savings_plan", "discount_percent": 30, "roles": ["primary", "core"]}


def test_a_commitment_discounts_ec2_only_on_the_on_demand_nodes_it_covers_up_to_the_floor() -> None:
    props = json.loads(json.dumps(PROPS))
    props["ManagedScalingPolicy"]["ComputeLimits"].update(MaximumCoreCapacityUnits=4, MaximumOnDemandCapacityUnits=4)
    plain = estimate("c", "eu-west-1", props, TABLE)
    cost = estimate("c", "eu-west-1", props, TABLE, metadata={"commitments": [COMMITMENT]})
    covered = 0.16 * 0.3  # EC2 of an xlarge unit, 30 % off; EMR's charge is never discounted
    assert plain.points["floor"].hourly - cost.points["floor"].hourly == pytest.approx(3 * covered)
    assert plain.points["max"].hourly - cost.points["max"].hourly == pytest.approx(3 * covered), (
        "core growth above the floor (2 more units) is not covered: the commitment is sized to the floor"
    )
    assert cost.points["floor"].baseline == plain.points["floor"].baseline, "the baseline stays at list price"
    assert [c.name for c in cost.commitments] == ["sp"]


def test_a_commitment_for_other_types_or_roles_changes_nothing() -> None:
    plain = estimate("c", "eu-west-1", PROPS, TABLE)
    for commitment in (
        {**COMMITMENT, "kind": "reserved_instances", "instance_types": ["r7g"]},
        {**COMMITMENT, "roles": ["task"]},
    ):
        cost = estimate("c", "eu-west-1", PROPS, TABLE, metadata={"commitments": [commitment]})
        assert cost.points == plain.points and cost.commitments == []
    family = {**COMMITMENT, "kind": "ec2_instance_savings_plan", "instance_types": ["m7g"]}
    assert estimate("c", "eu-west-1", PROPS, TABLE, metadata={"commitments": [family]}).commitments


def test_spot_ratios_come_by_type_then_family_then_region_and_elsewhere_the_highest_known() -> None:
    assert TABLE.spot_ratio("eu-west-1", "m7g.2xlarge") == SpotRatio(0.3, "m7g.2xlarge", "test", "2026-01-01", "test")
    assert TABLE.spot_ratio("eu-west-1", "m7g.4xlarge").scope == "m7g family"  # type: ignore[union-attr]
    assert TABLE.spot_ratio("eu-west-1", "c7g.xlarge").scope == "eu-west-1 default"  # type: ignore[union-attr]
    elsewhere = TABLE.spot_ratio("ap-south-2", "m7g.xlarge")
    assert elsewhere is not None and elsewhere.value == 0.5 and "no ap-south-2 Spot data" in elsewhere.scope


def test_the_shipped_spot_ratios_are_aws_s_for_every_priced_type_and_region() -> None:
    table = PriceTable.load()
    assert "Spot Instance Advisor" in table.spot_ratio("eu-west-1", "m7g.xlarge").source  # type: ignore[union-attr]
    for region in table.regions:
        for instance_type in table.instance_types:
            ratio = table.spot_ratio(region, instance_type)
            assert ratio is not None and ratio.scope == instance_type, (region, instance_type)
            assert 0.1 < ratio.value < 1, (region, instance_type, ratio)
    eu, us = table.spot_ratio("eu-west-1", "m7g.2xlarge"), table.spot_ratio("us-east-1", "m7g.2xlarge")
    assert eu is not None and us is not None and eu.value > us.value, "Spot is dearer in eu-west-1 than us-east-1"


def test_the_emr_rule_reproduces_every_price_list_entry_it_was_checked_against() -> None:
    table = PriceTable.load()
    checks = table.about["emr_checks"]["prices"]
    assert len(checks) >= 5
    for instance_type, (ec2, emr) in checks.items():
        rule = PriceTable({"prices": {"us-east-1": {instance_type: {"ec2": ec2}}}}).emr_rule(instance_type, ec2)
        assert rule == pytest.approx(emr, abs=0.0001), instance_type
    m7g = table.get("eu-west-1", "m7g.xlarge")
    assert m7g is not None and m7g.emr == pytest.approx(0.1632 * 0.25), "from us-east-1's EC2 price, in every region"


def test_unpriced_types_are_named_not_guessed() -> None:
    props = {"Instances": {"MasterInstanceFleet": _fleet(1, 0, ("x2iedn.xlarge", 1))}}
    cost = estimate("c", "eu-west-1", props, TABLE)
    assert not cost.priced and cost.unpriced == ["x2iedn.xlarge"]
    (line,) = [line for line in _cost_lines(cost) if "cost:" in line]
    assert "no eu-west-1 price for x2iedn.xlarge. Fix: add them with --refresh-prices --regions eu-west-1" in line


def test_the_price_table_names_its_sources_and_prices_every_default_type() -> None:
    table = PriceTable.load()
    assert set(table.about["ec2_source"]) == {"eu-west-1", "us-east-1"}
    assert set(table.about["as_of"]) == {"eu-west-1", "us-east-1"}
    defaults = {name for roles in DEFAULT_INSTANCE_TYPES.values() for types in roles.values() for name, _ in types}
    for region in ("eu-west-1", "us-east-1"):
        missing = sorted(t for t in defaults if table.get(region, t) is None)
        assert missing == [], f"default types without a {region} price: {missing}"
        for name in defaults:
            x86 = table.x86_equivalent(name)
            assert x86 is not None and table.get(region, x86) is not None, name


def _blocks(text: str) -> dict[str, str]:
    return {b.split()[0]: b for b in text.split("\nemr-platform-")}


def test_summary_shows_floor_launch_and_maximum_costs_with_their_sources(synthesized: Synthesized) -> None:
    blocks = _blocks(summarize(synthesized.outdir))
    for environment in ("dev", "staging", "prod"):
        block = next(b for name, b in blocks.items() if name.endswith(environment))
        assert "instance(s)" in block and "vCPUs" in block and "Spot share of capacity:" in block
        for size in ("floor", "launch", "maximum"):
            assert re.search(rf"\n      {size} +\d+ +\$[\d,.]+ +\$[\d,]+ +\d+% less \(\$[\d,.]+/h\)", block), (
                size,
                block,
            )
        assert "prices (eu-west-1): EC2 On-Demand: skypilot-catalog snapshot of the AWS Price List" in block
        assert "EMR: AWS's per-type rule (25% of us-east-1 EC2)" in block
        assert "Spot: AWS Spot Instance Advisor (2025-06-28), over a year old: --refresh-prices." in block
        assert block.endswith("Sources: emr_platform/data/prices.json")
        assert re.search(
            r"transient cluster weblogs .*\n(.*\n)*    cost per run: .*\$[\d.]+ for a typical 20-min run; "
            r"at most \$[\d.]+ \(its 120-min timeout, worst-case prices\)",
            block,
        ), block


def test_prods_default_is_at_least_45_percent_below_all_on_demand_x86_at_its_floor(synthesized: Synthesized) -> None:
    prod = next(b for name, b in _blocks(summarize(synthesized.outdir)).items() if name.endswith("prod"))
    floor = re.search(r"\n      floor +\d+ +\$[\d,.]+ +\$[\d,]+ +(\d+)% less", prod)
    assert floor is not None and int(floor.group(1)) >= 45, prod
    assert re.search(r"priced: Spot at 4\d-4\d% of On-Demand EC2", prod), (
        "priced with eu-west-1's Spot ratios (43-47 %)"
    )
    assert "primary 3 unit(s) = 3 instance(s)" in prod, "high availability kept: three primaries"
    assert re.search(r"core +4 unit\(s\) = 4 instance\(s\), \d+ vCPUs, On-Demand\n", prod), "no Spot on core"
    assert "launch-below-floor" not in prod and "core-without-redundancy" not in prod
    template = json.loads((synthesized.outdir / "emr-platform-prod.template.json").read_text())
    (props,) = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::EMR::Cluster"]
    exact = estimate("prod", "eu-west-1", props, PriceTable.load()).points["floor"].saving
    assert exact >= 0.45, f"{exact:.2%}: the summary rounds"


def test_a_transient_clusters_run_request_is_read_from_its_state_machine(synthesized: Synthesized) -> None:
    template = json.loads((synthesized.outdir / "emr-platform-prod.template.json").read_text())
    machines = [r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
    (props,) = [c for m in machines for c in transient_clusters(m["Properties"])]
    assert props["Instances"]["MasterInstanceFleet"]["TargetOnDemandCapacity"] == 1
    assert props["Instances"]["CoreInstanceFleet"]["InstanceFleetType"] == "CORE"
    (machine,) = [m for m in machines if transient_clusters(m["Properties"])]
    assert machine["Metadata"]["emr-platform:cost"] == {"timeout_minutes": 120, "typical_run_minutes": 20}
    cost = estimate(
        "w", "eu-west-1", props, PriceTable.load(), metadata=machine["Metadata"]["emr-platform:cost"], transient=True
    )
    assert cost.per_run(20) == pytest.approx(cost.points["launch"].hourly / 3)


# --- refreshing the table from the AWS Price List API -----------------------------------------------------------
# moto does not emulate the Price List API, so the real boto3 client runs against botocore's Stubber.


def _product(usd: str) -> str:
    return json.dumps({"terms": {"OnDemand": {"t": {"priceDimensions": {"d": {"pricePerUnit": {"USD": usd}}}}}}})


def test_refresh_takes_ec2_and_emr_prices_from_the_price_list_api() -> None:
    client = boto3.client("pricing", region_name="us-east-1", aws_access_key_id="stub", aws_secret_access_key="stub")  # noqa: S106 - Stubber never sends it
    table = PriceTable(
        {
            "about": {},
            "instances": {"m7g.xlarge": {"vcpus": 4, "memory_gib": 16}},
            "prices": {"eu-west-1": {"m7g.xlarge": {"ec2": 0.1, "emr": None}}},
        }
    )
    with Stubber(client) as stub:
        for service, usd in (("AmazonEC2", "0.1819000000"), ("ElasticMapReduce", "0.0455000000")):
            stub.add_response(
                "get_products",
                {"PriceList": [_product(usd)], "FormatVersion": "aws_v1"},
                {
                    "ServiceCode": service,
                    "Filters": [
                        {"Type": "TERM_MATCH", "Field": "regionCode", "Value": "eu-west-1"},
                        {"Type": "TERM_MATCH", "Field": "instanceType", "Value": "m7g.xlarge"},
                        *(
                            [
                                {"Type": "TERM_MATCH", "Field": f, "Value": v}
                                for f, v in (
                                    ("operatingSystem", "Linux"),
                                    ("tenancy", "Shared"),
                                    ("preInstalledSw", "NA"),
                                    ("capacitystatus", "Used"),
                                    ("licenseModel", "No License required"),
                                )
                            ]
                            if service == "AmazonEC2"
                            else [{"Type": "TERM_MATCH", "Field": "softwareType", "Value": "EMR"}]
                        ),
                    ],
                    "FormatVersion": "aws_v1",
                    "MaxResults": 10,
                },
            )
        refreshed = refresh(table, client)
        stub.assert_no_pending_responses()
    price = refreshed.get("eu-west-1", "m7g.xlarge")
    assert price is not None
    assert (price.ec2, price.emr, price.emr_estimated) == (0.1819, 0.0455, False)
    assert "Price List API" in refreshed.about["emr_source"]


def test_refresh_prices_without_credentials_fails_in_one_line(tmp_path: Path) -> None:
    env = no_credentials_env(tmp_path)
    before = PRICES_FILE.read_bytes()
    result = subprocess.run(
        [sys.executable, "-m", "emr_platform.tools.summary", "--refresh-prices", str(tmp_path)],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: --refresh-prices: RuntimeError: no AWS credentials found. Fix: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert PRICES_FILE.read_bytes() == before, "a failed refresh leaves the table alone"


def test_a_fixed_size_cluster_has_the_same_spot_share_at_launch_and_maximum() -> None:
    props = {"Instances": {**PROPS["Instances"], "TaskInstanceFleets": [_fleet(1, 3, ("m7g.xlarge", 1))]}}
    cost = estimate("c", "eu-west-1", props, TABLE)
    assert cost.spot_share["launch"] == cost.spot_share["max"] == pytest.approx(3 / 7)


def test_bids_above_on_demand_price_as_on_demand() -> None:
    props = json.loads(json.dumps(PROPS))
    for config in props["Instances"]["TaskInstanceFleets"][0]["InstanceTypeConfigs"]:
        config["BidPriceAsPercentageOfOnDemandPrice"] = 300
    assert estimate("c", "eu-west-1", props, TABLE).worst == estimate("c", "eu-west-1", PROPS, TABLE).worst


def test_vcpu_limits_and_deploy_time_values_are_said_not_guessed() -> None:
    props = json.loads(json.dumps(PROPS))
    props["ManagedScalingPolicy"]["ComputeLimits"]["UnitType"] = "VCPU"
    assert "vCPUs are not split" in estimate("c", "eu-west-1", props, TABLE).note
    props["Instances"]["CoreInstanceFleet"]["TargetOnDemandCapacity"] = {"Ref": "CoreSize"}
    cost = estimate("c", "eu-west-1", props, TABLE)
    assert not cost.priced and "known only at deploy time" in cost.note


def test_instance_groups_with_autoscaling_are_estimated() -> None:
    props = {
        "Instances": {
            "MasterInstanceGroup": {"InstanceType": "m7g.xlarge", "InstanceCount": 1},
            "CoreInstanceGroup": {"InstanceType": "m7g.2xlarge", "InstanceCount": 2},
            "TaskInstanceGroups": [
                {
                    "InstanceType": "m7g.xlarge",
                    "InstanceCount": 1,
                    "Market": "SPOT",
                    "AutoScalingPolicy": {"Constraints": {"MinCapacity": 0, "MaxCapacity": 6}},
                }
            ],
        }
    }
    cost = estimate("g", "eu-west-1", props, TABLE)
    task = cost.nodes[2]
    assert (task.min_units, task.max_units) == (0, 6)
    assert cost.spot_share["launch"] == pytest.approx(1 / 4)
    assert cost.points["max"].hourly == pytest.approx(XL_OD + 2 * 0.42 + 6 * XL_SPOT)


def test_refresh_takes_spot_ratios_from_aws_s_spot_instance_advisor_data() -> None:
    """The real S3 client reads the advisor's file (here from the emulator, anonymous as on AWS)."""
    advisor = {
        "spot_advisor": {
            "eu-west-1": {"Linux": {"m7g.xlarge": {"s": 55, "r": 0}, "m7g.2xlarge": {"s": 60, "r": 1}}},
            "us-east-1": {"Linux": {"m7g.xlarge": {"s": 66, "r": 0}}, "Windows": {}},
        }
    }
    table = PriceTable({"about": {}, "instances": {"m7g.xlarge": {"vcpus": 4, "memory_gib": 16}}, "prices": {}})
    with running_emulator() as endpoint:
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        s3.create_bucket(Bucket="spot-bid-advisor")
        s3.put_object(Bucket="spot-bid-advisor", Key="spot-advisor-data.json", Body=json.dumps(advisor).encode())
        public = {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::spot-bid-advisor/*",
        }
        s3.put_bucket_policy(
            Bucket="spot-bid-advisor", Policy=json.dumps({"Version": "2012-10-17", "Statement": [public]})
        )
        anonymous = boto3.client(
            "s3", endpoint_url=endpoint, region_name="us-east-1", config=Config(signature_version=UNSIGNED)
        )
        refreshed = refresh(table, None, s3_client=anonymous, regions=[])
    eu = refreshed.spot_ratio("eu-west-1", "m7g.xlarge")
    assert eu is not None and eu.value == pytest.approx(0.45) and "Spot Instance Advisor" in eu.source
    assert refreshed.spot_ratio("eu-west-1", "m7g.4xlarge").value == pytest.approx(0.425)  # type: ignore[union-attr]
    assert refreshed.spot_ratio("us-east-1", "m7g.xlarge").value == pytest.approx(0.34)  # type: ignore[union-attr]


# --- managed scaling's node allocation, bids, metadata and definitions nobody here wrote ---------------------------


def _limits(
    minimum: int, maximum: int, core_cap: int | None = None, on_demand_cap: int | None = None
) -> dict[str, Any]:
    limits: dict[str, Any] = {"UnitType": "InstanceFleetUnits", "MinimumCapacityUnits": minimum}
    limits["MaximumCapacityUnits"] = maximum
    if core_cap is not None:
        limits["MaximumCoreCapacityUnits"] = core_cap
    if on_demand_cap is not None:
        limits["MaximumOnDemandCapacityUnits"] = on_demand_cap
    return {"ComputeLimits": limits}


def _cluster(core: int, task: int | None, scaling: dict[str, Any]) -> dict[str, Any]:
    instances: dict[str, Any] = {
        "MasterInstanceFleet": _fleet(1, 0, ("m7g.xlarge", 1)),
        "CoreInstanceFleet": _fleet(core, 0, ("m7g.xlarge", 1)),
    }
    if task is not None:
        instances["TaskInstanceFleets"] = [_fleet(0, task, ("m7g.xlarge", 1))]
    return {"Instances": instances, "ManagedScalingPolicy": scaling}


def _units(cost: Any) -> dict[str, tuple[int, int, int]]:
    return {n.role: (n.min_units, n.launch_units, n.max_units) for n in cost.nodes}


def test_without_a_core_cap_core_grows_first_and_the_task_fleet_keeps_its_launch_size() -> None:
    cost = estimate("c", "eu-west-1", _cluster(2, 8, _limits(10, 20)), TABLE)
    assert _units(cost) == {"primary": (1, 1, 1), "core": (2, 2, 12), "task": (8, 8, 8)}
    assert cost.points["floor"].units == 10 and cost.points["max"].units == 20
    assert cost.spot_share["max"] == pytest.approx(8 / 21), "EMR's default: growth on core, On-Demand"


def test_a_floor_above_the_launch_size_fills_core_up_to_its_cap_then_task_nodes() -> None:
    cost = estimate("c", "eu-west-1", _cluster(2, 2, _limits(10, 20, core_cap=6)), TABLE)
    assert _units(cost) == {"primary": (1, 1, 1), "core": (6, 2, 6), "task": (4, 2, 14)}
    core, task = cost.nodes[1], cost.nodes[2]
    assert core.markets["floor"] == (6, 0), "core first, On-Demand"
    assert task.markets["floor"] == (2, 2), "its launch on Spot, growth On-Demand: no On-Demand cap (EMR's default)"
    for node in cost.nodes:
        assert node.markets["max"][0] >= node.markets["floor"][0], node.role
    no_tasks = estimate("c", "eu-west-1", _cluster(4, None, _limits(10, 20)), TABLE)
    assert _units(no_tasks)["core"] == (10, 4, 20), "without a task fleet the floor is all core"


def test_a_floor_below_the_launch_size_takes_task_units_first_and_keeps_a_core_node() -> None:
    cost = estimate("c", "eu-west-1", _cluster(4, 4, _limits(2, 20, core_cap=4)), TABLE)
    assert _units(cost)["task"][0] == 0 and _units(cost)["core"][0] == 2
    lowest = estimate("c", "eu-west-1", _cluster(3, 0, _limits(1, 20, core_cap=3)), TABLE)
    assert _units(lowest)["core"][0] == 1


def test_task_groups_share_growth_in_proportion_to_their_launch_and_a_spot_group_grows_on_spot() -> None:
    def group(count: int, market: str) -> dict[str, Any]:
        return {"InstanceType": "m7g.xlarge", "InstanceCount": count, "Market": market}

    props = {
        "Instances": {
            "MasterInstanceGroup": group(1, "ON_DEMAND"),
            "CoreInstanceGroup": group(2, "ON_DEMAND"),
            "TaskInstanceGroups": [group(10, "SPOT"), group(0, "ON_DEMAND")],
        },
        "ManagedScalingPolicy": _limits(12, 21, core_cap=2, on_demand_cap=2),
    }
    cost = estimate("g", "eu-west-1", props, TABLE)
    assert [n.max_units for n in cost.nodes if n.role == "task"] == [19, 0]
    assert cost.points["max"].units == 21, "no unit lost to rounding"
    assert cost.spot_share["floor"] == cost.spot_share["launch"]
    autoscaled = {
        "Instances": {
            "MasterInstanceGroup": group(1, "ON_DEMAND"),
            "CoreInstanceGroup": group(2, "ON_DEMAND"),
            "TaskInstanceGroups": [
                {**group(0, "SPOT"), "AutoScalingPolicy": {"Constraints": {"MinCapacity": 0, "MaxCapacity": 10}}}
            ],
        }
    }
    task = estimate("g", "eu-west-1", autoscaled, TABLE).nodes[2]
    assert task.markets["max"] == (0, 10), "a Spot group that starts empty grows on Spot"


def test_a_bid_below_the_spot_price_is_warned_about_and_not_priced_as_a_bargain() -> None:
    props = json.loads(json.dumps(PROPS))
    task = props["Instances"]["TaskInstanceFleets"][0]
    for config in task["InstanceTypeConfigs"]:
        config["BidPriceAsPercentageOfOnDemandPrice"] = 20  # below the 40 % and 30 % ratios
    task["LaunchSpecifications"] = {"SpotSpecification": {"TimeoutAction": "SWITCH_TO_ON_DEMAND"}}
    cost = estimate("c", "eu-west-1", props, TABLE)
    assert cost.points["launch"].hourly == pytest.approx(3 * XL_OD + 4 * (XL_OD + XL2_OD) / 2), "it falls back"
    assert len(cost.warnings) == 2 and "below its typical Spot price" in cost.warnings[0]
    assert "falls back to On-Demand" in cost.warnings[0]
    on_demand_bid = json.loads(json.dumps(PROPS))
    on_demand_bid["Instances"]["TaskInstanceFleets"][0]["InstanceTypeConfigs"][0]["BidPrice"] = "OnDemandPrice"
    assert estimate("c", "eu-west-1", on_demand_bid, TABLE).priced, "the EMR API's OnDemandPrice bid is a bid"


@pytest.mark.parametrize(
    ("metadata", "says"),
    [
        (["x"], "expected a mapping, got list"),
        ({"commitments": "sp"}, "commitments: expected a list"),
        ({"typical_run_minutes": "20"}, "typical_run_minutes: expected a whole number of minutes, got '20'"),
        ({"commitments": [{**COMMITMENT, "discount_percent": 150}]}, "discount_percent"),
        ({"commitments": [{**COMMITMENT, "roles": "core"}]}, "covers"),
        ({"commitments": [{"name": "sp"}]}, "kind"),
    ],
)
def test_metadata_nobody_here_wrote_is_ignored_with_a_warning_naming_the_field(metadata: object, says: str) -> None:
    cost = estimate("c", "eu-west-1", PROPS, TABLE, metadata=metadata)
    assert cost.priced and cost.points == estimate("c", "eu-west-1", PROPS, TABLE).points
    assert cost.warnings[0].startswith("emr-platform:cost metadata ignored: ") and says in cost.warnings[0], (
        cost.warnings
    )


def test_a_reservation_is_size_flexible_within_its_family() -> None:
    reservation = {**COMMITMENT, "kind": "reserved_instances", "instance_types": ["m7g.2xlarge"]}
    cost = estimate("c", "eu-west-1", PROPS, TABLE, metadata={"commitments": [reservation]})
    assert [c.name for c in cost.commitments] == ["sp"], "a m7g.2xlarge reservation covers the m7g.xlarge nodes"


def _machine(definition: Any) -> dict[str, Any]:
    return {"DefinitionString": definition}


CREATE = {
    "Type": "Task",
    "Resource": "arn:aws:states:::elasticmapreduce:createCluster.sync",
    "Parameters": {
        "Name": "run",
        "Instances": {
            "InstanceFleets": [
                {**_fleet(1, 0, ("m7g.xlarge", 1)), "InstanceFleetType": "MASTER"},
                {**_fleet(2, 0, ("m7g.xlarge", 1)), "InstanceFleetType": "CORE"},
            ]
        },
    },
    "End": True,
}


def test_transient_clusters_are_found_in_nested_states_and_under_any_partition() -> None:
    nested = {
        "StartAt": "P",
        "States": {"P": {"Type": "Parallel", "Branches": [{"StartAt": "C", "States": {"C": CREATE}}]}},
    }
    (found,) = transient_clusters(_machine(json.dumps(nested)))
    assert found["Instances"]["CoreInstanceFleet"]["TargetOnDemandCapacity"] == 2
    text = json.dumps({"StartAt": "C", "States": {"C": CREATE}})
    head, tail = text.split("aws:states", 1)
    joined = {"Fn::Join": ["", [head.removesuffix("arn:") + "arn:", {"Ref": "AWS::Partition"}, ":states" + tail]]}
    assert len(transient_clusters(_machine(joined))) == 1


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (
            lambda d: d.replace('"TargetOnDemandCapacity": 2', '"TargetOnDemandCapacity": '),
            "deploy-time values outside strings",
        ),
        (
            lambda d: d.replace('"TargetOnDemandCapacity": 2', '"TargetOnDemandCapacity.$": "$.size"'),
            "chosen at run time",
        ),
        (lambda d: d.replace('"Instances": {', '"Instances.$": "$.instances", "X": {'), "chosen at run time"),
    ],
)
def test_a_transient_cluster_that_cannot_be_read_is_said_not_dropped(change: Any, says: str) -> None:
    text = json.dumps({"StartAt": "C", "States": {"C": CREATE}})
    definition: Any = change(text)
    if "outside strings" in says:
        definition = {
            "Fn::Join": [
                "",
                [
                    definition,
                    {"Ref": "CoreSize"},
                    text[text.index("2", text.index('TargetOnDemandCapacity": 2')) + 1 :],
                ],
            ]
        }
    with pytest.raises(ValueError, match=says):
        transient_clusters(_machine(definition))


def test_a_stack_nobody_here_wrote_is_summarized_line_by_line_without_a_trace() -> None:
    """Task capacity declared beside the cluster is priced with it; what cannot be read is said, never a trace."""
    cluster = {
        "Type": "AWS::EMR::Cluster",
        "Properties": {**PROPS, "Name": "theirs"},
        "Metadata": {"emr-platform:cost": "x"},
    }
    fleet = {
        "Type": "AWS::EMR::InstanceFleetConfig",
        "Properties": {"ClusterId": {"Ref": "Theirs"}, "InstanceFleetType": "TASK", **_fleet(0, 6, ("m7g.xlarge", 1))},
    }
    machine = {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {
            "DefinitionString": '{"States": {"C": {"Resource": "arn:aws:states:::elasticmapreduce:createCluster", "Parameters": {"Instances.$": "$.i"}}}}'
        },
    }
    token = {
        "Type": "AWS::EMR::Cluster",
        "Properties": {**PROPS, "AutoTerminationPolicy": {"IdleTimeout": {"Ref": "Idle"}}},
    }
    lines, priced = _stack_lines(
        {"Theirs": cluster, "Fleet": fleet, "Machine": machine, "Token": token}, "eu-west-1", TABLE
    )
    text = "\n".join(lines)
    assert priced
    assert "task    fleet: 0 On-Demand + 6 Spot units" in text, "the attached task fleet is part of the cluster"
    assert "warning: emr-platform:cost metadata ignored: expected a mapping, got str" in text
    assert "transient cluster of Machine: not estimated (its Instances are chosen at run time (a JSONPath))" in text
    assert "idle timeout set at deploy time" in text


def test_refresh_adds_a_region_and_a_type_and_names_only_what_it_fetched() -> None:
    client = boto3.client("pricing", region_name="us-east-1", aws_access_key_id="stub", aws_secret_access_key="stub")  # noqa: S106 - Stubber never sends it
    table = PriceTable({"about": {"labels": {"emr": "AWS's per-type rule"}}, "instances": {}, "prices": {}})
    product = {
        "product": {"attributes": {"vcpu": "4", "memory": "16 GiB"}},
        "terms": {"OnDemand": {"t": {"priceDimensions": {"d": {"pricePerUnit": {"USD": "0.2"}}}}}},
    }
    with Stubber(client) as stub:
        stub.add_response("get_products", {"PriceList": [json.dumps(product)], "FormatVersion": "aws_v1"})
        stub.add_response("get_products", {"PriceList": [], "FormatVersion": "aws_v1"})  # no EMR price came back
        refreshed = refresh(table, client, regions=["eu-central-1"], instance_types=["m8g.xlarge"])
    price = refreshed.get("eu-central-1", "m8g.xlarge")
    assert price is not None and (price.ec2, price.vcpus, price.memory_gib) == (0.2, 4, 16.0)
    assert price.emr_estimated, "no EMR price: the rule, and the summary says so"
    labels = refreshed.about["labels"]
    assert labels["ec2"]["eu-central-1"].startswith("AWS Price List API")
    assert labels["emr"] == "AWS's per-type rule", "EMR's source is not claimed when nothing came back"
