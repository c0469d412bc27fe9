"""Instance prices for cost estimates: a small table kept in the repo, refreshable from the AWS Price List API.

The table (``emr_platform/data/prices.json``) holds On-Demand Linux EC2 prices per region and instance type, the
EMR charge when known, and each type's vCPUs and memory; its ``about`` section names the sources and dates.
Estimates read it offline at every ``make synth``; ``python -m emr_platform.tools.summary --refresh-prices`` (AWS
credentials needed) rewrites it from the Price List API through boto3.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PRICES_FILE = Path(__file__).resolve().parent.parent / "data" / "prices.json"

EMR_CHARGE_ESTIMATE = 0.25
"""EMR's charge as a share of the EC2 On-Demand price, used when the table has no EMR price for a type: the ratio
of EMR's list prices for the families this package uses by default."""

PRICE_LIST_REGION = "us-east-1"
"""The Price List API answers in us-east-1 (and a few others) for every region."""


@dataclass(frozen=True)
class InstancePrice:
    """What one instance of a type costs per hour in a region, in USD."""

    instance_type: str
    vcpus: int
    memory_gib: float
    ec2: float
    emr: float
    emr_estimated: bool

    @property
    def on_demand(self) -> float:
        """EC2 On-Demand plus the EMR charge."""
        return self.ec2 + self.emr

    def spot(self, fraction_of_on_demand: float) -> float:
        """A Spot hour at ``fraction_of_on_demand`` of the EC2 price, plus the full EMR charge (EMR charges the same
        for Spot and On-Demand instances)."""
        return self.ec2 * fraction_of_on_demand + self.emr


class PriceTable:
    """The price table: ``get(region, instance_type)``; ``about`` says where the numbers come from."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.about: dict[str, Any] = dict(data.get("about", {}))
        self._instances: dict[str, dict[str, Any]] = dict(data.get("instances", {}))
        self._prices: dict[str, dict[str, dict[str, float | None]]] = dict(data.get("prices", {}))

    @classmethod
    def load(cls, path: Path = PRICES_FILE) -> PriceTable:
        """Read the table from ``path`` (default the package's own)."""
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def to_json(self) -> dict[str, Any]:
        """The table as stored."""
        return {"about": self.about, "instances": self._instances, "prices": self._prices}

    @property
    def regions(self) -> list[str]:
        """Regions the table has prices for."""
        return sorted(self._prices)

    @property
    def instance_types(self) -> list[str]:
        """Instance types the table knows."""
        return sorted(self._instances)

    def get(self, region: str, instance_type: str) -> InstancePrice | None:
        """The price of ``instance_type`` in ``region``; None when the table lacks it."""
        spec = self._instances.get(instance_type)
        entry = self._prices.get(region, {}).get(instance_type)
        if spec is None or entry is None or entry.get("ec2") is None:
            return None
        ec2 = float(entry["ec2"] or 0.0)
        emr = entry.get("emr")
        return InstancePrice(
            instance_type=instance_type,
            vcpus=int(spec["vcpus"]),
            memory_gib=float(spec["memory_gib"]),
            ec2=ec2,
            emr=float(emr) if emr is not None else round(ec2 * EMR_CHARGE_ESTIMATE, 4),
            emr_estimated=emr is None,
        )

    def x86_equivalent(self, instance_type: str) -> str | None:
        """The x86 (Intel) type of the same family letter, generation and size as a Graviton type (m7g.xlarge ->
        m7i.xlarge, r6gd.2xlarge -> r6i.2xlarge), if the table knows it; x86 types map to themselves."""
        match = re.match(r"^([a-z]+)([0-9]+)g[a-z]*\.(.+)$", instance_type)
        if match is None:
            return instance_type if instance_type in self._instances else None
        family, generation, size = match.groups()
        for candidate in (
            f"{family}{generation}i.{size}",
            f"{family}{min(int(generation), 7)}i.{size}",
            f"{family}5.{size}",
        ):
            if candidate in self._instances:
                return candidate
        return None


# --- refresh from the AWS Price List API --------------------------------------------------------------------------


def refresh(
    table: PriceTable,
    pricing_client: Any,
    *,
    regions: Iterable[str] | None = None,
    instance_types: Iterable[str] | None = None,
) -> PriceTable:
    """A new table with EC2 On-Demand and EMR prices from the Price List API (``boto3.client("pricing")``).

    Types and regions default to those already in ``table``; a type the API does not price keeps its old value.
    """
    regions = list(regions or table.regions)
    types = list(instance_types or table.instance_types)
    data = table.to_json()
    prices: dict[str, dict[str, dict[str, float | None]]] = data["prices"]
    for region in regions:
        region_prices = prices.setdefault(region, {})
        for instance_type in types:
            entry = region_prices.setdefault(instance_type, {"ec2": None, "emr": None})
            ec2 = _price(pricing_client, "AmazonEC2", region, instance_type, _EC2_FILTERS)
            emr = _price(pricing_client, "ElasticMapReduce", region, instance_type, _EMR_FILTERS)
            if ec2 is not None:
                entry["ec2"] = ec2
            if emr is not None:
                entry["emr"] = emr
    today = datetime.now(UTC).date().isoformat()
    data["about"] = {
        **data["about"],
        "ec2_source": {r: f"AWS Price List API (pricing:GetProducts, AmazonEC2), {today}" for r in regions},
        "emr_source": f"AWS Price List API (pricing:GetProducts, ElasticMapReduce), {today}",
        "as_of": {r: today for r in regions},
    }
    return PriceTable(data)


_EC2_FILTERS = {
    "operatingSystem": "Linux",
    "tenancy": "Shared",
    "preInstalledSw": "NA",
    "capacitystatus": "Used",
    "licenseModel": "No License required",
}
_EMR_FILTERS = {"softwareType": "EMR"}


def _price(client: Any, service: str, region: str, instance_type: str, filters: dict[str, str]) -> float | None:
    """The On-Demand hourly USD price of the one product matching the filters; None when there is none."""
    terms = [
        {"Type": "TERM_MATCH", "Field": field, "Value": value}
        for field, value in {"regionCode": region, "instanceType": instance_type, **filters}.items()
    ]
    response = client.get_products(ServiceCode=service, Filters=terms, FormatVersion="aws_v1", MaxResults=10)
    for item in response.get("PriceList", []):
        product = json.loads(item) if isinstance(item, str) else item
        for term in product.get("terms", {}).get("OnDemand", {}).values():
            for dimension in term.get("priceDimensions", {}).values():
                usd = dimension.get("pricePerUnit", {}).get("USD")
                if usd is not None and float(usd) > 0:
                    return float(usd)
    return None
