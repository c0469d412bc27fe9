"""The cost view: capacity and an hourly cost range per cluster, from the price table kept in the repo."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from emr_platform.spec.capacity import DEFAULT_INSTANCE_TYPES
from emr_platform.tools.cost import SPOT_TYPICAL, estimate
from emr_platform.tools.pricing import PRICES_FILE, PriceTable, refresh
from emr_platform.tools.summary import summarize

from .conftest import PROJECT, Synthesized, no_credentials_env

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
                "m7g.2xlarge": {"ec2": 0.32, "emr": 0.08},
                "m7i.xlarge": {"ec2": 0.20, "emr": None},
                "m7i.2xlarge": {"ec2": 0.40, "emr": None},
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


def test_capacity_runs_from_launch_to_managed_scalings_limits() -> None:
    cost = estimate("c", "eu-west-1", PROPS, TABLE)
    primary, core, task = cost.nodes
    assert (primary.min_units, primary.max_units) == (1, 1)
    assert (core.min_units, core.max_units) == (2, 2), "core stays within MaximumCoreCapacityUnits"
    assert (task.min_units, task.max_units) == (0, 8), "the rest of the maximum goes to task nodes"
    assert task.instances(8) == (4, 8), "8 units are 4 2xlarge or 8 xlarge"
    assert task.vcpus(8) == (32, 32)
    assert cost.spot_share_launch == pytest.approx(4 / 7)
    assert cost.spot_share_max == pytest.approx(1 - 3 / 11), "On-Demand stops at the cap (2) plus the primary"


def test_cost_range_prices_spot_and_the_emr_charge() -> None:
    cost = estimate("c", "eu-west-1", PROPS, TABLE)
    unit = 0.16 + 0.04  # an xlarge unit On-Demand (EC2 + EMR); 2xlarge costs the same per unit here
    spot_low = 0.16 * SPOT_TYPICAL + 0.04  # EMR charges Spot instances in full
    assert cost.low == pytest.approx(1 * unit + 2 * unit + 0 * spot_low)
    assert cost.high == pytest.approx(1 * unit + 2 * unit + 8 * unit), "at the bid cap (100 %) Spot costs as much"
    assert cost.launch == pytest.approx(3 * unit + 4 * spot_low)
    x86_unit = 0.20 * 1.25  # the table has no EMR price for m7i: 25 % of EC2
    assert cost.baseline == pytest.approx(7 * x86_unit)
    assert cost.launch is not None and cost.baseline is not None
    assert cost.saving == pytest.approx(1 - cost.launch / cost.baseline)
    assert not cost.unpriced


def test_a_bid_cap_lowers_the_high_end() -> None:
    props = json.loads(json.dumps(PROPS))
    for config in props["Instances"]["TaskInstanceFleets"][0]["InstanceTypeConfigs"]:
        config["BidPriceAsPercentageOfOnDemandPrice"] = 50
    capped = estimate("c", "eu-west-1", props, TABLE)
    full = estimate("c", "eu-west-1", PROPS, TABLE)
    assert capped.high is not None and full.high is not None
    assert full.high - capped.high == pytest.approx(8 * 0.16 * 0.5)


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
    assert cost.spot_share_launch == pytest.approx(1 / 4)


def test_unpriced_types_are_named_not_guessed() -> None:
    props = {"Instances": {"MasterInstanceFleet": _fleet(1, 0, ("x2iedn.xlarge", 1))}}
    cost = estimate("c", "eu-west-1", props, TABLE)
    assert cost.low is None and cost.unpriced == ["x2iedn.xlarge"]


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


def test_summary_shows_capacity_spot_share_cost_and_saving_per_environment(synthesized: Synthesized) -> None:
    blocks = {b.split()[0]: b for b in summarize(synthesized.outdir).split("\nemr-platform-")}
    for environment in ("dev", "staging", "prod"):
        block = next(b for name, b in blocks.items() if name.endswith(environment))
        assert "instance(s)" in block and "vCPUs" in block
        assert "Spot share of capacity:" in block
        assert "per hour" in block and "less than all-On-Demand x86" in block, block
    prod = next(b for name, b in blocks.items() if name.endswith("prod"))
    assert "primary 3 unit(s) = 3 instance(s)" in prod


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
    assert cost.spot_share_launch == cost.spot_share_max == pytest.approx(3 / 7)


def test_bids_above_on_demand_price_as_on_demand() -> None:
    props = json.loads(json.dumps(PROPS))
    for config in props["Instances"]["TaskInstanceFleets"][0]["InstanceTypeConfigs"]:
        config["BidPriceAsPercentageOfOnDemandPrice"] = 300
    assert estimate("c", "eu-west-1", props, TABLE).high == estimate("c", "eu-west-1", PROPS, TABLE).high


def test_vcpu_limits_and_deploy_time_values_are_said_not_guessed() -> None:
    props = json.loads(json.dumps(PROPS))
    props["ManagedScalingPolicy"]["ComputeLimits"]["UnitType"] = "VCPU"
    assert "vCPUs are not split" in estimate("c", "eu-west-1", props, TABLE).note
    props["Instances"]["CoreInstanceFleet"]["TargetOnDemandCapacity"] = {"Ref": "CoreSize"}
    cost = estimate("c", "eu-west-1", props, TABLE)
    assert cost.low is None and "known only at deploy time" in cost.note
