"""Instance prices for cost estimates: a small table kept in the repo, refreshable from AWS's own APIs.

The table (``emr_platform/data/prices.json``) holds, per region and instance type, the On-Demand Linux EC2 price and
EMR's charge (AWS prices EMR per instance type, not as a share of EC2); each type's vCPUs and memory; and per
region the Spot price as a share of On-Demand, with per-family ratios where the data has them. Its ``about`` and
``spot`` sections name every source and date. Estimates read it offline at every ``make synth``;
``python -m emr_platform.tools.summary --refresh-prices`` (AWS credentials needed) rewrites the On-Demand and EMR
prices from the Price List API and the Spot ratios from AWS's Spot Instance Advisor data, through boto3.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Any

PRICES_FILE = Path(__file__).resolve().parent.parent / "data" / "prices.json"

EMR_CHARGE_SHARE = 0.25
"""AWS's EMR charge for a type: 25 % of the type's us-east-1 EC2 On-Demand price. Every Price List entry the project
could check offline fits it (``about.emr_checks`` in the table lists them with their sources; a test replays them),
Graviton and 7th/8th generation included (r7g.8xlarge: $0.4284 of $1.7136). Used for a type the table has no EMR
price for; ``--refresh-prices`` replaces it with the price list's own value."""

EMR_CHARGE_CAP = 0.27
"""The EMR charge of the older families (``EMR_CAPPED_FAMILIES``: c5, m5, r5, their d variants, i3) stops at $0.27 per
hour (m5.12xlarge, m5.16xlarge, r5.12xlarge in ``about.emr_checks``; c5.18xlarge, r5d.4xlarge and i3.4xlarge in
public EMR price tables); newer families have no cap (r7g.8xlarge: $0.4284)."""

EMR_CAPPED_FAMILIES = re.compile(r"^(?:[cmr]5d?|i3)$")

SPOT_ADVISOR = ("spot-bid-advisor", "spot-advisor-data.json")
"""AWS's Spot Instance Advisor data (bucket, key: https://spot-bid-advisor.s3.amazonaws.com/spot-advisor-data.json,
public): per region and instance type, the Spot saving over On-Demand (``s``, percent, Linux)."""

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
    """True when the table has no EMR price for the type and ``emr`` comes from :meth:`PriceTable.emr_rule`."""

    @property
    def on_demand(self) -> float:
        """EC2 On-Demand plus the EMR charge."""
        return self.ec2 + self.emr

    def spot(self, fraction_of_on_demand: float) -> float:
        """A Spot hour at ``fraction_of_on_demand`` of the EC2 price, plus the full EMR charge (EMR charges the same
        for Spot and On-Demand instances)."""
        return self.ec2 * fraction_of_on_demand + self.emr

    def committed(self, discount: float) -> float:
        """An On-Demand hour covered by a Savings Plan or reservation ``discount`` off EC2: those discount the EC2
        price only, never EMR's charge."""
        return self.ec2 * (1 - discount) + self.emr


@dataclass(frozen=True)
class SpotRatio:
    """Spot's price as a share of the EC2 On-Demand price, for a type in a region, and where the number comes from."""

    value: float
    scope: str
    """What the number is the ratio of: ``m7g family``, ``eu-west-1 default`` or, for a region without data, the
    highest ratio known (a conservative stand-in)."""
    source: str
    as_of: str
    label: str = ""
    """A short name of the source, for the summary."""


class PriceTable:
    """The price table: ``get(region, instance_type)``; ``about`` says where the numbers come from."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.about: dict[str, Any] = dict(data.get("about", {}))
        self._instances: dict[str, dict[str, Any]] = dict(data.get("instances", {}))
        self._prices: dict[str, dict[str, dict[str, float | None]]] = dict(data.get("prices", {}))
        self._spot: dict[str, dict[str, Any]] = dict(data.get("spot", {}))

    @classmethod
    def load(cls, path: Path = PRICES_FILE) -> PriceTable:
        """Read the table from ``path`` (default the package's own)."""
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def to_json(self) -> dict[str, Any]:
        """The table as stored."""
        return {"about": self.about, "instances": self._instances, "prices": self._prices, "spot": self._spot}

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
        if spec is None or entry is None or not entry.get("ec2"):  # no price, or a zero: not a price
            return None
        ec2 = float(entry["ec2"] or 0.0)
        emr = entry.get("emr")
        return InstancePrice(
            instance_type=instance_type,
            vcpus=int(spec["vcpus"]),
            memory_gib=float(spec["memory_gib"]),
            ec2=ec2,
            emr=float(emr) if emr is not None else self.emr_rule(instance_type, ec2),
            emr_estimated=emr is None,
        )

    def emr_rule(self, instance_type: str, ec2_here: float) -> float:
        """EMR's charge for ``instance_type`` by AWS's rule (:data:`EMR_CHARGE_SHARE` of its us-east-1 EC2 price,
        capped for the older families), from this region's EC2 price when the table lacks us-east-1's."""
        us_east = (self._prices.get(PRICE_LIST_REGION, {}).get(instance_type) or {}).get("ec2")
        charge = round(float(us_east or ec2_here) * EMR_CHARGE_SHARE, 5)
        if EMR_CAPPED_FAMILIES.match(instance_type.split(".", 1)[0]):
            charge = min(charge, EMR_CHARGE_CAP)
        return charge

    def region_spot(self, region: str) -> SpotRatio | None:
        """The region's own Spot ratio (the median of its families); for a region without Spot data, the highest
        region ratio known (a conservative stand-in, named so); None without any data."""
        if region in self._spot:
            return self._ratio(self._spot[region], "default", f"{region} default")
        known = sorted((float(e["default"]), r) for r, e in self._spot.items())
        if not known:
            return None
        other = known[-1][1]
        return self._ratio(self._spot[other], "default", f"no {region} Spot data: {other}'s, the highest known")

    def spot_ratio(self, region: str, instance_type: str) -> SpotRatio | None:
        """Spot's share of On-Demand for ``instance_type`` in ``region``: the type's ratio if the table has one, else
        its family's, else the region's (:meth:`region_spot`)."""
        entry = self._spot.get(region)
        if entry is not None:
            family = instance_type.split(".", 1)[0]
            if instance_type in entry.get("types", {}):
                return self._ratio(entry, ("types", instance_type), instance_type)
            if family in entry.get("families", {}):
                return self._ratio(entry, ("families", family), f"{family} family")
        return self.region_spot(region)

    @staticmethod
    def _ratio(entry: dict[str, Any], key: str | tuple[str, str], scope: str) -> SpotRatio:
        value = entry[key] if isinstance(key, str) else entry[key[0]][key[1]]
        return SpotRatio(float(value), scope, entry["source"], entry["as_of"], entry.get("label", entry["source"]))

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
    s3_client: Any = None,
    regions: Iterable[str] | None = None,
    instance_types: Iterable[str] | None = None,
) -> PriceTable:
    """A new table with EC2 On-Demand and EMR prices from the Price List API (``boto3.client("pricing")``) and, with
    ``s3_client`` (anonymous access is enough), Spot ratios from AWS's Spot Instance Advisor data.

    Types and regions default to those already in ``table``; a price the API does not give keeps its old value.
    """
    regions = list(regions or table.regions)
    types = list(instance_types or table.instance_types)
    data = table.to_json()
    prices: dict[str, dict[str, dict[str, float | None]]] = data["prices"]
    fetched: dict[str, set[str]] = {"ec2": set(), "emr": set()}  # regions each kind of price came back for
    for region in regions:
        region_prices = prices.setdefault(region, {})
        for instance_type in types:
            entry = region_prices.setdefault(instance_type, {"ec2": None, "emr": None})
            ec2, attributes = _price(pricing_client, "AmazonEC2", region, instance_type, _EC2_FILTERS)
            emr, _ = _price(pricing_client, "ElasticMapReduce", region, instance_type, _EMR_FILTERS)
            size = _size(attributes)
            if size is not None:
                data["instances"].setdefault(instance_type, size)
            for kind, value in (("ec2", ec2), ("emr", emr)):
                if value is not None:
                    entry[kind] = value
                    fetched[kind].add(region)
    _label_refreshed(data, fetched)
    if s3_client is not None:
        today = datetime.now(UTC).date().isoformat()
        bucket, key = SPOT_ADVISOR
        advisor = json.loads(s3_client.get_object(Bucket=bucket, Key=key)["Body"].read())
        source = f"AWS Spot Instance Advisor data (s3://{bucket}/{key}: savings over On-Demand, Linux)"
        data["spot"] = spot_ratios(
            advisor, types, source=source, as_of=today, label=f"AWS Spot Instance Advisor ({today})"
        )
    return PriceTable(data)


def spot_ratios(
    advisor: dict[str, Any], types: Iterable[str], *, source: str, as_of: str, label: str = ""
) -> dict[str, Any]:
    """The table's ``spot`` section from the Spot Instance Advisor's data: per region, the ratio of Spot to
    On-Demand (1 - saving) of each of ``types``, the median of each of their families over every size the advisor
    lists, and the median of those families as the region's default."""
    types = sorted(set(types))
    families = sorted({t.split(".", 1)[0] for t in types})
    spot: dict[str, Any] = {}
    for region, systems in sorted(advisor.get("spot_advisor", {}).items()):
        linux: dict[str, dict[str, Any]] = systems.get("Linux", {})
        ratio = {t: round(1 - float(v["s"]) / 100, 3) for t, v in linux.items() if "s" in v}
        by_family = {
            family: round(median(r for t, r in ratio.items() if t.split(".", 1)[0] == family), 3)
            for family in families
            if any(t.split(".", 1)[0] == family for t in ratio)
        }
        if not by_family:
            continue
        spot[region] = {
            "default": round(median(by_family.values()), 3),
            "families": by_family,
            "types": {t: ratio[t] for t in types if t in ratio},
            "source": source,
            "as_of": as_of,
            "label": label or source,
        }
    return spot


_EC2_FILTERS = {
    "operatingSystem": "Linux",
    "tenancy": "Shared",
    "preInstalledSw": "NA",
    "capacitystatus": "Used",
    "licenseModel": "No License required",
}
_EMR_FILTERS = {"softwareType": "EMR"}


def _label_refreshed(data: dict[str, Any], fetched: dict[str, set[str]]) -> None:
    """Name the Price List API as the source of what it gave, and only of that."""
    today = datetime.now(UTC).date().isoformat()
    about = data["about"]
    labels = about.setdefault("labels", {})
    for region in sorted(fetched["ec2"]):
        about.setdefault("ec2_source", {})[region] = f"AWS Price List API (pricing:GetProducts, AmazonEC2), {today}"
        about.setdefault("as_of", {})[region] = today
        labels.setdefault("ec2", {})[region] = f"AWS Price List API ({today})"
    if fetched["emr"]:
        regions = ", ".join(sorted(fetched["emr"]))
        about["emr_source"] = f"AWS Price List API (pricing:GetProducts, ElasticMapReduce), {today}, for {regions}"
        labels["emr"] = f"AWS Price List API ({today})"


def _size(attributes: dict[str, Any]) -> dict[str, Any] | None:
    """vCPUs and memory from an EC2 product's attributes (``vcpu: "4"``, ``memory: "16 GiB"``), if it has them."""
    match = re.match(r"^([0-9.,]+) GiB$", str(attributes.get("memory", "")))
    vcpus = str(attributes.get("vcpu", ""))
    if match is None or not vcpus.isdigit():
        return None
    return {"vcpus": int(vcpus), "memory_gib": float(match.group(1).replace(",", ""))}


def _price(
    client: Any, service: str, region: str, instance_type: str, filters: dict[str, str]
) -> tuple[float | None, dict[str, Any]]:
    """The On-Demand hourly USD price of the one product matching the filters (None when there is none), and the
    product's attributes."""
    terms = [
        {"Type": "TERM_MATCH", "Field": field, "Value": value}
        for field, value in {"regionCode": region, "instanceType": instance_type, **filters}.items()
    ]
    response = client.get_products(ServiceCode=service, Filters=terms, FormatVersion="aws_v1", MaxResults=10)
    for item in response.get("PriceList", []):
        product = json.loads(item) if isinstance(item, str) else item
        attributes = product.get("product", {}).get("attributes", {})
        for term in product.get("terms", {}).get("OnDemand", {}).values():
            for dimension in term.get("priceDimensions", {}).values():
                usd = dimension.get("pricePerUnit", {}).get("USD")
                if usd is not None and float(usd) > 0:
                    return float(usd), attributes
    return None, {}
