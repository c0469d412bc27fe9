"""Write the AWS data that ``emr_platform.spec.aws_rules`` reads, from packages that ship it (development only).

- ``emr_platform/data/availability_zones.json``: the zone names and zone IDs of each region, from moto's
  ``moto/ec2/resources/instance_type_offerings/availability-zone{,-id}/<region>.json.gz`` (pulled by moto from EC2's
  DescribeInstanceTypeOfferings in each region).
- ``emr_platform/data/endpoint_services.json``: the short names of the AWS services with an interface VPC endpoint
  (``com.amazonaws.<region>.<name>``), from aws-cdk-lib's ``ec2.InterfaceVpcEndpointAwsService`` (the class the
  platform's network builds its endpoints with).

moto and jsii are not needed at synth: the package reads these compact files. tests/test_aws_rules.py checks that
they still match their sources. Run: ``python scripts/aws_rules_data.py``.
"""

from __future__ import annotations

import gzip
import json
from importlib.metadata import version
from pathlib import Path
from typing import Any

import moto
from aws_cdk import aws_ec2 as ec2

DATA = Path(__file__).resolve().parent.parent / "emr_platform" / "data"
ZONES_FILE = DATA / "availability_zones.json"
ENDPOINTS_FILE = DATA / "endpoint_services.json"
_OFFERINGS = Path(moto.__file__).parent / "ec2" / "resources" / "instance_type_offerings"


def _locations(kind: str) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for path in sorted((_OFFERINGS / kind).glob("*.json.gz")):
        offerings = json.loads(gzip.decompress(path.read_bytes()))
        result[path.name.removesuffix(".json.gz")] = sorted({o["Location"] for o in offerings})
    return result


def zone_data() -> dict[str, Any]:
    """``{"source": ..., "regions": {region: {"names": [...], "ids": [...]}}}``."""
    names, ids = _locations("availability-zone"), _locations("availability-zone-id")
    return {
        "source": f"moto {moto.__version__}: ec2/resources/instance_type_offerings (EC2 DescribeInstanceTypeOfferings)",
        "regions": {region: {"names": names[region], "ids": ids.get(region, [])} for region in sorted(names)},
    }


def endpoint_data() -> dict[str, Any]:
    """``{"source": ..., "services": [short names]}``."""
    services: set[str] = set()
    for attribute in dir(ec2.InterfaceVpcEndpointAwsService):
        if attribute.isupper():
            value = getattr(ec2.InterfaceVpcEndpointAwsService, attribute)
            if isinstance(value, ec2.InterfaceVpcEndpointAwsService):
                services.add(value.short_name)
    return {
        "source": f"aws-cdk-lib {version('aws-cdk-lib')}: aws_ec2.InterfaceVpcEndpointAwsService",
        "services": sorted(services),
    }


def _write(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    _write(ZONES_FILE, zone_data())
    _write(ENDPOINTS_FILE, endpoint_data())
