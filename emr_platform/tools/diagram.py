"""Architecture diagram of one stack of a synthesized cloud assembly, as a deterministic SVG.

``python -m emr_platform.tools.diagram cdk.out emr-platform-dev docs/architecture.svg`` (``make diagram``) draws one box
per top-level construct of the stack (its id, its construct class and the CloudFormation resources it holds) and an
arrow A -> B wherever a resource of A references a resource of B (``Ref``, ``Fn::GetAtt``, ``Fn::Sub``). Columns
come from a longest-path layering of those arrows: a construct that references nothing drawn stands in the first
column, every other one a column to the right of its deepest dependency. Only the standard library is used, and the
same assembly always gives the same bytes.

Where things come from: ``tree.json`` names the top-level constructs, their classes and the logical IDs of their
resources; the stack's template gives the resource types and references. A construct class written in Python shows
in ``tree.json`` as ``constructs.Construct``: :class:`emr_platform.constructs.shared.PlatformConstruct` records the real class names as
construct metadata, which the diagram prefers.

Example::

    architecture = read_architecture(Path("cdk.out"), "emr-platform-dev")
    Path("docs/architecture.svg").write_text(render_svg(architecture), encoding="utf-8")
"""

from __future__ import annotations

import itertools
import math
import re
import sys
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from emr_platform.spec.errors import EmrPlatformError
from emr_platform.spec.metadata import CONSTRUCT_CLASS_METADATA
from emr_platform.tools.assembly import (
    AssemblyError,
    in_assembly_format,
    load_manifest,
    read_json,
    stack_artifacts,
    stack_metadata,
    stack_template,
    write_generated,
)

CDK_ELEMENT_CLASSES = frozenset({"CfnOutput", "CfnParameter", "CfnRule", "CfnCondition", "CfnMapping"})
"""Template elements that are not resources: never drawn."""

SUPPORT_ID = re.compile(r"^(Custom::|AWSCDK)|[0-9a-fA-F]{32}$")
"""Ids the CDK gives its stack-level singletons: custom-resource providers (``Custom::...Provider``) and singleton
functions (``AWS679f53fac002430cb0da5b7982bd2287``, ``LogRetention<uuid>``, ...)."""

SUPPORTING_TYPES = frozenset(
    {
        "AWS::EC2::RouteTable",
        "AWS::EC2::SecurityGroupEgress",
        "AWS::EC2::SecurityGroupIngress",
        "AWS::EC2::SubnetRouteTableAssociation",
        "AWS::IAM::InstanceProfile",
        "AWS::IAM::ManagedPolicy",
        "AWS::IAM::Policy",
        "AWS::Lambda::Permission",
        "AWS::S3::BucketPolicy",
        "AWS::SNS::TopicPolicy",
        "AWS::SQS::QueuePolicy",
    }
)
"""Resources that only serve another one in the same construct: listed after the ones they serve."""

MAX_LINES = 5
"""Resource lines per box; more types are summed up in the last line."""


class DiagramError(AssemblyError):
    """The diagram cannot be drawn: no cloud assembly, no such stack, files missing, unreadable or of another format,
    or an output that cannot be written."""


@dataclass(frozen=True)
class Component:
    """One top-level construct of the stack, drawn as a box.

    :param construct_id: the construct's id (its path below the stack).
    :param class_name: its construct class (``DataLakeStorage``), or the CDK's name for it.
    :param resource_types: (CloudFormation type, count) pairs, in display order.
    """

    construct_id: str
    class_name: str
    resource_types: tuple[tuple[str, int], ...]

    @property
    def resource_count(self) -> int:
        """How many CloudFormation resources the construct holds."""
        return sum(count for _, count in self.resource_types)


@dataclass(frozen=True)
class Architecture:
    """What the diagram shows of one stack.

    :param stack_name: the stack's artifact id.
    :param resource_count: every resource of the template (the CDK's version-reporting metadata excepted).
    :param components: the platform's top-level constructs that hold resources, in construction order.
    :param edges: (from, to) construct ids: a resource of *from* references one of *to*.
    :param support: the CDK's own stack-level singletons (custom-resource providers), merged; ``None`` if none.
    :param empty: top-level constructs without resources of their own (assets, imports): not drawn.
    """

    stack_name: str
    resource_count: int
    components: tuple[Component, ...]
    edges: tuple[tuple[str, str], ...]
    support: Component | None = None
    empty: tuple[str, ...] = ()


@dataclass(frozen=True)
class Category:
    """A colour family of boxes, loosely after the AWS architecture icons."""

    label: str
    stroke: str
    fill: str


CATEGORIES: dict[str, Category] = {
    "analytics": Category("Analytics: EMR, Glue, Step Functions", "#8C4FFF", "#F4EFFF"),
    "storage": Category("Storage: S3 (+ KMS key)", "#7AA116", "#F2F8E6"),
    "network": Category("Networking: VPC", "#0972D3", "#EAF3FC"),
    "security": Category("Security: IAM, KMS, EMR security", "#DD344C", "#FCEBED"),
    "ops": Category("Events, alarms, notifications", "#E7157B", "#FDEAF3"),
    "compute": Category("Compute: Lambda", "#ED7100", "#FEF1E5"),
    "other": Category("Other", "#5F6B7A", "#F2F3F3"),
}

CATEGORY_RULES: tuple[tuple[str, str], ...] = (
    ("AWS::EMR::Cluster", "analytics"),
    ("AWS::EMRServerless::", "analytics"),
    ("AWS::StepFunctions::", "analytics"),
    ("AWS::Glue::", "analytics"),
    ("AWS::S3::Bucket", "storage"),
    ("AWS::EC2::VPC", "network"),
    ("AWS::EMR::", "security"),
    ("AWS::KMS::", "security"),
    ("AWS::CloudWatch::", "ops"),
    ("AWS::Events::", "ops"),
    ("AWS::SNS::", "ops"),
    ("AWS::SQS::", "ops"),
    ("AWS::Lambda::", "compute"),
    ("AWS::EC2::", "network"),
    ("AWS::IAM::", "security"),
    ("AWS::Logs::", "ops"),
)
"""A rule is a resource type, or a prefix ending in ``::``. The first rule that matches a resource type of a box
gives its colour; the rules' order is also the order of the resource lines in a box."""


def _matches(resource_type: str, rule: str) -> bool:
    return resource_type == rule or (rule.endswith("::") and resource_type.startswith(rule))


def category_of(component: Component) -> str:
    """The colour family of a box, from the resource types it holds."""
    for rule, category in CATEGORY_RULES:
        if any(_matches(t, rule) for t, _ in component.resource_types):
            return category
    return "other"


# --- reading the assembly -----------------------------------------------------------------------------------------


def _stack_artifact(assembly_dir: Path, stack_name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The manifest and the stack's artifact, or a :class:`DiagramError` naming the stacks there are."""
    manifest = load_manifest(assembly_dir, error=DiagramError)
    stacks = stack_artifacts(manifest)
    for name, artifact in stacks.items():
        if stack_name in (name, artifact.get("properties", {}).get("stackName")):
            return manifest, {"id": name, **artifact}
    raise DiagramError(
        where=str(assembly_dir),
        problem="no stack of that name in the cloud assembly",
        value=stack_name,
        fix=f"use one of: {', '.join(stacks) or '(none: synthesize the app first)'}",
    )


def _tree_node(tree: dict[str, Any], path: str) -> dict[str, Any] | None:
    node: dict[str, Any] | None = tree.get("tree")
    for part in path.split("/"):
        node = (node or {}).get("children", {}).get(part)
    return node


def _stack_node(assembly_dir: Path, manifest: dict[str, Any], artifact: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The stack's construct path and its node of ``tree.json``."""
    tree_file = next(
        (a["properties"]["file"] for a in manifest["artifacts"].values() if a.get("type") == "cdk:tree"), "tree.json"
    )
    tree: dict[str, Any] = read_json(assembly_dir / tree_file, "construct tree (tree.json)", error=DiagramError)
    stack_path = str(artifact.get("displayName") or artifact["id"])
    stack_node = _tree_node(tree, stack_path)
    if stack_node is None:
        raise DiagramError(
            where=str(assembly_dir / tree_file),
            problem="the construct tree has no node for the stack",
            value=stack_path,
            fix="synthesize again: make synth",
        )
    return stack_path, stack_node


def _owners(stack_node: dict[str, Any], resources: Mapping[str, Any]) -> dict[str, str]:
    """Logical ID -> id of the top-level construct that holds it: the template's ``aws:cdk:path`` metadata (the
    CLI writes it), else the logical ID attribute ``tree.json`` records for each L1 (the CDK's generic
    ``CfnResource`` of custom resources has none: without the metadata, those have no owner)."""
    owners: dict[str, str] = {}
    stack_path = str(stack_node.get("path", ""))
    for logical_id, resource in resources.items():
        path = (resource.get("Metadata") or {}).get("aws:cdk:path")
        if isinstance(path, str) and path.startswith(f"{stack_path}/"):
            owners[logical_id] = path[len(stack_path) + 1 :].split("/", 1)[0]

    def walk(node: dict[str, Any], top: str) -> None:
        logical_id = node.get("attributes", {}).get("aws:cdk:cloudformation:logicalId")
        if isinstance(logical_id, str) and logical_id in resources:
            owners.setdefault(logical_id, top)
        for child in node.get("children", {}).values():
            walk(child, top)

    for top_id, child in stack_node.get("children", {}).items():
        walk(child, top_id)
    return owners


def _check_owned(template_file: Path, resources: Mapping[str, Any], owners: Mapping[str, str]) -> None:
    """A :class:`DiagramError` for resources that no construct holds: a synthesis without path metadata."""
    unowned = sorted(set(resources) - set(owners))
    if unowned:
        raise DiagramError(
            where=str(template_file),
            problem=f"{len(unowned)} resource(s) with no construct in tree.json and no aws:cdk:path metadata",
            value=unowned[:3],
            fix="synthesize with the CDK CLI, which writes that metadata: make synth",
        )


def _references(value: Any, into: set[str]) -> None:
    """Add to ``into`` every logical ID that ``value`` refers to with Ref, Fn::GetAtt or Fn::Sub."""
    if isinstance(value, list):
        for item in value:
            _references(item, into)
        return
    if not isinstance(value, dict):
        return
    if len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref" and isinstance(arg, str):
            into.add(arg)
        elif key == "Fn::GetAtt":
            target = arg[0] if isinstance(arg, list) and arg else arg
            if isinstance(target, str):
                into.add(target.split(".", 1)[0])
        elif key == "Fn::Sub":
            text, variables = (arg[0], arg[1] if len(arg) > 1 else {}) if isinstance(arg, list) else (arg, {})
            if isinstance(text, str):
                for name in re.findall(r"\$\{([^!}][^}]*)\}", text):
                    if name not in variables:
                        into.add(name.split(".", 1)[0])
    for item in value.values():
        _references(item, into)


def _importance(resource_type: str) -> int:
    """Rank of a resource type in a box: the earlier its :data:`CATEGORY_RULES` entry, the more it says."""
    return next((i for i, (rule, _) in enumerate(CATEGORY_RULES) if _matches(resource_type, rule)), 99)


def _display_order(counts: Counter[str]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(counts.items(), key=lambda it: (it[0] in SUPPORTING_TYPES, _importance(it[0]), -it[1], it[0])))


def _class_name(node: dict[str, Any], metadata: Sequence[Any]) -> str:
    for entry in metadata:
        if isinstance(entry, dict) and entry.get("type") == CONSTRUCT_CLASS_METADATA and entry.get("data"):
            return str(entry["data"])
    fqn = str(node.get("constructInfo", {}).get("fqn", "Construct"))
    return fqn.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class _Parts:
    """The stack's top-level constructs, sorted into what the diagram draws."""

    components: tuple[Component, ...]
    support: Counter[str]
    empty: tuple[str, ...]


def _parts(
    stack_path: str,
    stack_node: dict[str, Any],
    metadata: Mapping[str, Any],
    resources: Mapping[str, Any],
    owners: Mapping[str, str],
) -> _Parts:
    """Boxes for the constructs with resources of their own, in construction order; the CDK's stack-level
    singletons merged into one support box; the rest (assets, imports) named as not drawn."""
    counts: dict[str, Counter[str]] = {}
    for logical_id, owner in owners.items():
        counts.setdefault(owner, Counter())[str(resources[logical_id]["Type"])] += 1
    components: list[Component] = []
    support: Counter[str] = Counter()
    empty: list[str] = []
    for child_id, child in stack_node.get("children", {}).items():
        class_name = _class_name(child, metadata.get(f"/{stack_path}/{child_id}", []))
        if child_id == "CDKMetadata" or class_name in CDK_ELEMENT_CLASSES:
            continue
        if child_id not in counts:
            empty.append(child_id)
        elif SUPPORT_ID.search(child_id):
            support.update(counts[child_id])
        else:
            components.append(Component(child_id, class_name, _display_order(counts[child_id])))
    return _Parts(tuple(components), support, tuple(empty))


def _edges(
    resources: Mapping[str, Any], owners: Mapping[str, str], components: Sequence[Component]
) -> tuple[tuple[str, str], ...]:
    """(from, to) of every pair of drawn constructs where a resource of *from* references one of *to*, in
    construction order."""
    drawn = {c.construct_id: i for i, c in enumerate(components)}
    edges: set[tuple[str, str]] = set()
    for logical_id, resource in resources.items():
        source = owners.get(logical_id)
        if source is None or source not in drawn:
            continue
        targets: set[str] = set()
        _references(resource.get("Properties", {}), targets)
        for target in targets:
            holder = owners.get(target)
            if holder is not None and holder in drawn and holder != source:
                edges.add((source, holder))
    return tuple(sorted(edges, key=lambda e: (drawn[e[0]], drawn[e[1]])))


def read_architecture(assembly_dir: Path, stack_name: str) -> Architecture:
    """What to draw of stack ``stack_name`` (its artifact id or its CloudFormation name) in ``assembly_dir``.

    :raises DiagramError: no assembly, no such stack, a file missing or unreadable, a resource that no construct
        holds (a synthesis without ``aws:cdk:path`` metadata), or files not in the cloud assembly format.
    """
    with in_assembly_format(assembly_dir, error=DiagramError):
        return _read_architecture(assembly_dir, stack_name)


def _read_architecture(assembly_dir: Path, stack_name: str) -> Architecture:
    manifest, artifact = _stack_artifact(assembly_dir, stack_name)
    template = stack_template(assembly_dir, artifact, error=DiagramError)
    stack_path, stack_node = _stack_node(assembly_dir, manifest, artifact)
    metadata = stack_metadata(assembly_dir, artifact, error=DiagramError)
    resources: dict[str, Any] = {
        logical_id: resource
        for logical_id, resource in template.get("Resources", {}).items()
        if resource.get("Type") != "AWS::CDK::Metadata"
    }
    owners = _owners(stack_node, resources)
    _check_owned(assembly_dir / artifact["properties"]["templateFile"], resources, owners)
    parts = _parts(stack_path, stack_node, metadata, resources, owners)
    return Architecture(
        stack_name=str(artifact["id"]),
        resource_count=len(resources),
        components=parts.components,
        edges=_edges(resources, owners, parts.components),
        support=Component("CDK support", "providers", _display_order(parts.support)) if parts.support else None,
        empty=parts.empty,
    )


# --- layout -------------------------------------------------------------------------------------------------------


FONT = "Helvetica, Arial, sans-serif"
MARGIN = 24
HEADER_H = 78
BOX_MIN_W = 200
BOX_MAX_W = 300
COLUMN_GAP = 96
BOX_GAP = 26
DUMMY_H = 8
DUMMY_GAP = 10
PORT_SPACING = 15
PAD = 10
TITLE_SIZE = 13
TEXT_SIZE = 11
LINE_H = 15
BOX_HEAD_H = 42


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """A generous estimate of the width of ``text`` in Helvetica/Arial at ``size`` px (no font metrics here)."""
    width = 0.0
    for char in text:
        if char in "ijl.,:;!|'` ":
            width += 0.30
        elif char in "frtI()[]-/":
            width += 0.38
        elif char in "MWmw@%":
            width += 0.88
        elif char.isupper() or char in "#&":
            width += 0.70
        else:
            width += 0.57
    return width * size * (1.08 if bold else 1.0)


def _fit(text: str, size: float, room: float, *, bold: bool = False) -> str:
    if text_width(text, size, bold=bold) <= room:
        return text
    while text and text_width(f"{text}…", size, bold=bold) > room:
        text = text[:-1]
    return f"{text}…"


def _short_type(resource_type: str) -> str:
    parts = resource_type.split("::")
    return " ".join(parts[1:]) if parts[0] == "AWS" and len(parts) == 3 else resource_type


def resource_lines(component: Component) -> list[str]:
    """The resource summary of a box: ``S3 Bucket x5``, at most :data:`MAX_LINES` lines."""
    lines = [f"{_short_type(t)} x{n}" for t, n in component.resource_types]
    if len(lines) > MAX_LINES:
        rest = component.resource_types[MAX_LINES - 1 :]
        services = sorted({t.split("::")[1 if t.startswith("AWS::") else 0] for t, _ in rest})
        lines = [*lines[: MAX_LINES - 1], f"+ {sum(n for _, n in rest)} more: {', '.join(services)}"]
    return lines


def _box_texts(component: Component) -> tuple[str, str, list[str]]:
    plural = "" if component.resource_count == 1 else "s"
    return (
        component.construct_id,
        f"{component.class_name} · {component.resource_count} resource{plural}",
        resource_lines(component),
    )


def _box_height(component: Component) -> float:
    return BOX_HEAD_H + LINE_H * len(resource_lines(component)) + PAD - 2


@dataclass
class _Slot:
    """A box, or the point where an arrow crosses a column (a dummy), in one column."""

    key: str
    layer: int
    height: float
    center: float = 0.0
    neighbours: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Route:
    source: str
    target: str
    slots: tuple[str, ...]  # source, dummies in column order, target


def _reversed_edges(order: Sequence[str], edges: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    """The edges that close a cycle, found depth-first in construction order: layered as if reversed."""
    rank = {key: i for i, key in enumerate(order)}
    targets: dict[str, list[str]] = {key: [] for key in order}
    for source, target in edges:
        targets[source].append(target)
    state: dict[str, int] = {}
    closing: set[tuple[str, str]] = set()

    def visit(key: str) -> None:
        state[key] = 1
        for target in sorted(targets[key], key=rank.__getitem__):
            if state.get(target) == 1:
                closing.add((key, target))
            elif target not in state:
                visit(target)
        state[key] = 2

    for key in order:
        if key not in state:
            visit(key)
    return closing


def layers_of(order: Sequence[str], edges: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Longest-path layering: 0 for what depends on nothing drawn, else one more than its deepest dependency."""
    closing = _reversed_edges(order, edges)
    depends: dict[str, list[str]] = {key: [] for key in order}
    for source, target in edges:
        if (source, target) in closing:
            depends[target].append(source)
        else:
            depends[source].append(target)
    layer: dict[str, int] = {}

    def place(key: str) -> int:
        if key not in layer:
            layer[key] = 1 + max((place(d) for d in depends[key]), default=-1)
        return layer[key]

    for key in order:
        place(key)
    return layer


def _isotonic(targets: Sequence[float], weights: Sequence[float], offsets: Sequence[float]) -> list[float]:
    """Centers closest (least squares, weighted by ``weights``) to ``targets`` that keep the column's order and at least
    its spacing (``offsets``)."""
    blocks: list[list[float]] = []  # [weighted sum, weight, count]
    for target, weight, offset in zip(targets, weights, offsets, strict=True):
        blocks.append([(target - offset) * weight, weight, 1])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            total, mass, count = blocks.pop()
            blocks[-1][0] += total
            blocks[-1][1] += mass
            blocks[-1][2] += count
    values = [block[0] / block[1] for block in blocks for _ in range(int(block[2]))]
    return [value + offset for value, offset in zip(values, offsets, strict=True)]


@dataclass(frozen=True)
class Layout:
    """Where everything goes: box and dummy centers, columns, canvas size."""

    columns: tuple[tuple[str, ...], ...]
    slots: dict[str, _Slot]
    routes: tuple[_Route, ...]
    box_width: float
    graph_height: float


def _slots_and_routes(
    components: Sequence[Component], edges: Sequence[tuple[str, str]], layer: Mapping[str, int]
) -> tuple[dict[str, _Slot], list[_Route]]:
    """A slot per box and per column an arrow crosses (a dummy), and each arrow's route through them; a box is
    tall enough for the arrows on its busier side."""
    slots = {c.construct_id: _Slot(c.construct_id, layer[c.construct_id], _box_height(c)) for c in components}
    routes: list[_Route] = []
    for index, (source, target) in enumerate(edges):
        step = -1 if layer[target] < layer[source] else 1
        chain = [source]
        for crossed in range(layer[source] + step, layer[target], step):
            key = f"/edge{index}/{crossed}"  # "/" is in no construct id
            slots[key] = _Slot(key, crossed, DUMMY_H)
            chain.append(key)
        chain.append(target)
        for a, b in itertools.pairwise(chain):
            slots[a].neighbours.append(b)
            slots[b].neighbours.append(a)
        routes.append(_Route(source, target, tuple(chain)))
    for key in layer:
        slot = slots[key]
        sides = Counter(slots[n].layer < slot.layer for n in slot.neighbours)
        slot.height = max(slot.height, PORT_SPACING * (max(sides.values(), default=0) + 1))
    return slots, routes


def _order_columns(slots: Mapping[str, _Slot], count: int) -> list[list[str]]:
    """The keys of each column, ordered by barycenter sweeps: boxes in construction order, then dummies in edge
    order, then each slot near the mean position of its neighbours in the column swept from."""
    columns: list[list[str]] = [[] for _ in range(count)]
    for key, slot in slots.items():
        columns[slot.layer].append(key)

    def position() -> dict[str, int]:
        return {key: i for column in columns for i, key in enumerate(column)}

    for sweep in range(8):
        forward = sweep % 2 == 0
        for index in range(1, count) if forward else range(count - 2, -1, -1):
            where = position()
            near = index - 1 if forward else index + 1

            def barycenter(key: str, where: dict[str, int] = where, near: int = near) -> tuple[float, int]:
                adjacent = [where[n] for n in slots[key].neighbours if slots[n].layer == near]
                return (sum(adjacent) / len(adjacent) if adjacent else float(where[key]), where[key])

            columns[index].sort(key=barycenter)
    return columns


def _place_vertically(columns: Sequence[Sequence[str]], slots: Mapping[str, _Slot], boxes: Collection[str]) -> float:
    """Set every slot's center, closest to its neighbours' (isotonic sweeps) with the column's order and spacing
    kept, the topmost edge at 0; the height of the graph."""

    def gap(a: _Slot, b: _Slot) -> float:
        both_boxes = a.key in boxes and b.key in boxes
        return (a.height + b.height) / 2 + (BOX_GAP if both_boxes else DUMMY_GAP)

    for column in columns:
        center = 0.0
        for i, key in enumerate(column):
            center += gap(slots[column[i - 1]], slots[key]) if i else slots[key].height / 2
            slots[key].center = center
    count = len(columns)
    for sweep in range(12):
        forward = sweep % 2 == 0
        for index in range(count) if forward else range(count - 1, -1, -1):
            column = columns[index]
            offsets = [0.0]
            for a, b in itertools.pairwise(column):
                offsets.append(offsets[-1] + gap(slots[a], slots[b]))
            targets = [
                sum(slots[n].center for n in slots[key].neighbours) / len(slots[key].neighbours)
                if slots[key].neighbours
                else slots[key].center
                for key in column
            ]
            weights = [float(max(1, len(slots[key].neighbours))) for key in column]
            for key, center in zip(column, _isotonic(targets, weights, offsets), strict=True):
                slots[key].center = center
    top = min((s.center - s.height / 2 for s in slots.values()), default=0.0)
    for slot in slots.values():
        slot.center -= top
    return max((s.center + s.height / 2 for s in slots.values()), default=0.0)


def _box_width(architecture: Architecture) -> float:
    """One width for every box: the widest text of any box, within :data:`BOX_MIN_W` and :data:`BOX_MAX_W`."""
    widths = [float(BOX_MIN_W - 2 * PAD)]
    support = (architecture.support,) if architecture.support else ()
    for component in (*architecture.components, *support):
        title, subtitle, lines = _box_texts(component)
        widths.append(text_width(title, TITLE_SIZE, bold=True))
        widths.append(text_width(subtitle, TEXT_SIZE))
        widths.extend(text_width(line, TEXT_SIZE) for line in lines)
    return float(min(BOX_MAX_W, math.ceil(max(widths) + 2 * PAD)))


def layout(architecture: Architecture) -> Layout:
    """Columns by longest-path layering, order by barycenter sweeps, vertical positions by isotonic regression."""
    layer = layers_of([c.construct_id for c in architecture.components], architecture.edges)
    slots, routes = _slots_and_routes(architecture.components, architecture.edges, layer)
    columns = _order_columns(slots, max(layer.values(), default=0) + 1)
    height = _place_vertically(columns, slots, layer)
    return Layout(tuple(tuple(c) for c in columns), slots, tuple(routes), _box_width(architecture), height)


# --- SVG ----------------------------------------------------------------------------------------------------------


def _n(value: float) -> str:
    """A coordinate as SVG text: one decimal, no trailing zero (deterministic)."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _attr(value: str) -> str:
    return escape(value, {'"': "&quot;"})


def _text(x: float, y: float, content: str, *, size: float, extra: str = "") -> str:
    return f'<text x="{_n(x)}" y="{_n(y)}" font-size="{_n(size)}"{extra}>{escape(content)}</text>'


def _box(component: Component, x: float, y: float, width: float, height: float, *, dashed: bool = False) -> list[str]:
    category = CATEGORIES["other" if dashed else category_of(component)]
    title, subtitle, lines = _box_texts(component)
    room = width - 2 * PAD
    dash = ' stroke-dasharray="5 3"' if dashed else ""
    out = [
        f'<g class="construct" data-id="{_attr(component.construct_id)}" data-class="{_attr(component.class_name)}">',
        f"<title>{escape(component.construct_id)} ({escape(component.class_name)})</title>",
        f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(width)}" height="{_n(height)}" rx="6" fill="{category.fill}" '
        f'stroke="{category.stroke}" stroke-width="1.5"{dash}/>',
        f'<rect x="{_n(x)}" y="{_n(y)}" width="5" height="{_n(height)}" rx="2" fill="{category.stroke}"/>',
        _text(x + PAD, y + 18, _fit(title, TITLE_SIZE, room, bold=True), size=TITLE_SIZE, extra=' font-weight="bold"'),
        _text(x + PAD, y + 33, _fit(subtitle, TEXT_SIZE, room), size=TEXT_SIZE, extra=' fill="#414D5C"'),
        f'<line x1="{_n(x + PAD)}" y1="{_n(y + 39)}" x2="{_n(x + width - PAD)}" y2="{_n(y + 39)}" '
        f'stroke="{category.stroke}" stroke-opacity="0.4"/>',
    ]
    for i, line in enumerate(lines):
        out.append(_text(x + PAD, y + BOX_HEAD_H + 11 + i * LINE_H, _fit(line, TEXT_SIZE, room), size=TEXT_SIZE))
    out.append("</g>")
    return out


@dataclass(frozen=True)
class _Canvas:
    """Where the graph stands in the picture: the columns' left edges and the slots' top edges."""

    plan: Layout
    top: float

    def column_x(self, layer: int) -> float:
        return MARGIN + layer * (self.plan.box_width + COLUMN_GAP)

    def slot_top(self, key: str) -> float:
        slot = self.plan.slots[key]
        return self.top + slot.center - slot.height / 2


def _ports(canvas: _Canvas) -> dict[tuple[int, int], float]:
    """(route index, 0 at its source or 1 at its target) -> y of the arrow's end: each box side spreads its arrows
    over its height, ordered by where the arrow's next point is."""
    plan = canvas.plan
    sides: dict[tuple[str, str], list[tuple[float, int, int]]] = {}
    for index, route in enumerate(plan.routes):
        for end, (key, neighbour) in enumerate(((route.slots[0], route.slots[1]), (route.slots[-1], route.slots[-2]))):
            side = "left" if plan.slots[neighbour].layer < plan.slots[key].layer else "right"
            sides.setdefault((key, side), []).append((plan.slots[neighbour].center, index, end))
    ports: dict[tuple[int, int], float] = {}
    for (key, _), attached in sorted(sides.items()):
        attached.sort()
        for i, (_, index, end) in enumerate(attached):
            ports[(index, end)] = canvas.slot_top(key) + plan.slots[key].height * (i + 1) / (len(attached) + 1)
    return ports


@dataclass(frozen=True)
class _Footer:
    """Below the graph: the support box on the left, then the legend and the notes."""

    top: float
    legend_x: float
    legend_h: float
    legend_keys: tuple[str, ...]
    notes: tuple[str, ...]
    height: float


def _footer(architecture: Architecture, canvas: _Canvas) -> _Footer:
    legend_keys = sorted({category_of(c) for c in architecture.components}, key=list(CATEGORIES).index)
    support = architecture.support
    support_h = _box_height(support) if support else 0.0
    legend_h = 18 * len(legend_keys) + 10
    notes = [
        "Arrow A → B: a resource of A references one of B (Ref, Fn::GetAtt, Fn::Sub); its colour is B's.",
        "Columns: longest-path layering, dependencies on the left. Generated by python -m emr_platform.tools.diagram.",
    ]
    if support:
        notes.append("References to the CDK's own custom-resource providers are not drawn.")
    if architecture.empty:
        notes.append(f"No resources of their own, not drawn: {', '.join(architecture.empty)}.")
    return _Footer(
        top=canvas.top + canvas.plan.graph_height + 28,
        legend_x=MARGIN + (canvas.plan.box_width + 28 if support else 0),
        legend_h=legend_h,
        legend_keys=tuple(legend_keys),
        notes=tuple(notes),
        height=max(support_h, legend_h + 6 + 16 * len(notes)),
    )


def _head(architecture: Architecture, width: float, height: float) -> list[str]:
    """The SVG's opening, arrow heads of every colour, the background and the title lines."""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(width)}" height="{_n(height)}" '
        f'viewBox="0 0 {_n(width)} {_n(height)}" font-family="{FONT}" fill="#232F3E">',
        f"<title>Architecture of {escape(architecture.stack_name)}</title>",
        "<desc>Generated from the cloud assembly by python -m emr_platform.tools.diagram; do not edit by hand.</desc>",
        "<defs>",
    ]
    for key, category in CATEGORIES.items():
        out.append(
            f'<marker id="arrow-{key}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
            f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{category.stroke}"/></marker>'
        )
    support = " (+ CDK support)" if architecture.support else ""
    return [
        *out,
        "</defs>",
        f'<rect x="0" y="0" width="{_n(width)}" height="{_n(height)}" fill="#FFFFFF"/>',
        _text(MARGIN, MARGIN + 20, architecture.stack_name, size=20, extra=' font-weight="bold"'),
        _text(
            MARGIN,
            MARGIN + 42,
            f"{architecture.resource_count} CloudFormation resources in {len(architecture.components)} constructs"
            f"{support}, {len(architecture.edges)} dependencies",
            size=13,
            extra=' fill="#414D5C"',
        ),
    ]


def _route_points(canvas: _Canvas, ports: Mapping[tuple[int, int], float], index: int) -> list[tuple[float, float]]:
    """The points an arrow passes: its ports on the two boxes, and both sides of each column it crosses."""
    plan = canvas.plan
    route = plan.routes[index]
    points: list[tuple[float, float]] = []
    for position, key in enumerate(route.slots):
        slot = plan.slots[key]
        x_left, x_right = canvas.column_x(slot.layer), canvas.column_x(slot.layer) + plan.box_width
        if position in (0, len(route.slots) - 1):
            neighbour = route.slots[1 if position == 0 else -2]
            toward_left = plan.slots[neighbour].layer < slot.layer
            y = ports[(index, 0 if position == 0 else 1)]
            points.append((x_left if toward_left else x_right, y))
        else:
            y = canvas.top + slot.center
            forward = plan.slots[route.slots[position - 1]].layer < slot.layer
            points += [(x_left, y), (x_right, y)] if forward else [(x_right, y), (x_left, y)]
    return points


def _edge(canvas: _Canvas, ports: Mapping[tuple[int, int], float], index: int, target_category: str) -> str:
    """An arrow as an SVG path: curves between columns, straight through the columns it crosses."""
    route = canvas.plan.routes[index]
    points = _route_points(canvas, ports, index)
    path = [f"M{_n(points[0][0])},{_n(points[0][1])}"]
    for i in range(1, len(points)):
        (x0, y0), (x1, y1) = points[i - 1], points[i]
        if i % 2 == 0:  # straight through a column
            path.append(f"L{_n(x1)},{_n(y1)}")
        else:
            middle = (x0 + x1) / 2
            path.append(f"C{_n(middle)},{_n(y0)} {_n(middle)},{_n(y1)} {_n(x1)},{_n(y1)}")
    colour = CATEGORIES[target_category].stroke
    return (
        f'<path class="edge" data-from="{_attr(route.source)}" data-to="{_attr(route.target)}" '
        f'd="{" ".join(path)}" stroke="{colour}" stroke-opacity="0.85" marker-end="url(#arrow-{target_category})"/>'
    )


def _footer_svg(architecture: Architecture, footer: _Footer, box_width: float) -> list[str]:
    """The support box (dashed), the legend of the colours drawn, and the notes."""
    out: list[str] = []
    if architecture.support:
        support = architecture.support
        out += _box(support, MARGIN, footer.top, box_width, _box_height(support), dashed=True)
    out.append('<g class="legend">')
    for i, key in enumerate(footer.legend_keys):
        y = footer.top + 18 * i
        category = CATEGORIES[key]
        out.append(
            f'<rect x="{_n(footer.legend_x)}" y="{_n(y)}" width="14" height="12" rx="2" fill="{category.fill}" '
            f'stroke="{category.stroke}" stroke-width="1.5"/>'
        )
        out.append(_text(footer.legend_x + 22, y + 10, category.label, size=TEXT_SIZE))
    for i, note in enumerate(footer.notes):
        y = footer.top + footer.legend_h + 6 + 16 * i
        out.append(_text(footer.legend_x, y, note, size=TEXT_SIZE, extra=' fill="#414D5C"'))
    out.append("</g>")
    return out


def render_svg(architecture: Architecture) -> str:
    """The diagram of ``architecture`` as SVG text: same architecture, same bytes."""
    plan = layout(architecture)
    canvas = _Canvas(plan, MARGIN + HEADER_H)
    footer = _footer(architecture, canvas)
    content_w = canvas.column_x(len(plan.columns) - 1) + plan.box_width - MARGIN
    notes_w = max(text_width(n, TEXT_SIZE) for n in footer.notes)
    width = max(content_w, footer.legend_x - MARGIN + notes_w) + 2 * MARGIN
    height = footer.top + footer.height + MARGIN
    components = {c.construct_id: c for c in architecture.components}
    ports = _ports(canvas)

    out = _head(architecture, width, height)
    out.append('<g class="edges" fill="none" stroke-width="1.4">')
    for index, route in enumerate(plan.routes):
        out.append(_edge(canvas, ports, index, category_of(components[route.target])))
    out.append("</g>")
    for column in plan.columns:
        for key in column:
            if key in components:
                slot = plan.slots[key]
                out += _box(
                    components[key], canvas.column_x(slot.layer), canvas.slot_top(key), plan.box_width, slot.height
                )
    out += _footer_svg(architecture, footer, plan.box_width)
    out += ["</svg>", ""]
    return "\n".join(out)


# --- command line -------------------------------------------------------------------------------------------------


def write_diagram(assembly_dir: Path, stack_name: str, output: Path) -> Architecture:
    """Render stack ``stack_name`` of ``assembly_dir`` into ``output`` (folders created); what was drawn."""
    architecture = read_architecture(assembly_dir, stack_name)
    write_generated(output, render_svg(architecture), what="the diagram", error=DiagramError)
    return architecture


def main(argv: Iterable[str] | None = None) -> int:
    """``python -m emr_platform.tools.diagram CDK_OUT STACK_NAME OUTPUT.svg``: exit 0, or 2 with one error line."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 3 or any(a.startswith("-") for a in args):
        print(
            "error: expected 3 arguments: CDK_OUT STACK_NAME OUTPUT.svg. "
            "Fix: python -m emr_platform.tools.diagram cdk.out emr-platform-dev docs/architecture.svg",
            file=sys.stderr,
        )
        return 2
    assembly, stack_name, output = args
    try:
        architecture = write_diagram(Path(assembly), stack_name, Path(output))
    except EmrPlatformError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(
        f"wrote {output}: {architecture.stack_name}, {len(architecture.components)} constructs, "
        f"{len(architecture.edges)} dependencies"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
