"""Compliance gates, and how a construct acknowledges the findings its own resources raise.

Every construct of this package declares the findings its resources raise (``reviewed_findings``), each with the
reason it is acceptable, and yields a finding ONLY where the fact that reason states is true of the synthesized
resource: "encrypted at rest" only when the cluster's security configuration encrypts, "no key pair" only when the
cluster has none, "the platform's own bucket" only for a resource that is exactly that bucket's objects. The
findings are computed and acknowledged when the app synthesizes (one node validation per stack, which runs
after every grant and aspect), so they see the final policies. Anything else fails synthesis, in your app as in
ours.

Example::

    app = App()
    stack = Stack(app, "Analytics", env=...)
    ...  # DataLakeStorage, EmrNetwork, EmrSecurityConfiguration, EmrCluster
    add_compliance_checks(app)
    app.synth()
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import jsii
from aws_cdk import (
    Acknowledgment,
    App,
    CfnResource,
    CloudFormationValidatePlugin,
    Stack,
    ValidationRuleSource,
    Validations,
)
from aws_cdk import aws_iam as iam
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, PCIDSS321Checks
from constructs import IConstruct, IValidation

from emr_platform.spec.errors import EmrPlatformError


@dataclass(frozen=True)
class Finding:
    """An acknowledged finding: the construct it applies to (and its children), its granular id as the rule pack
    reports it, and why it is acceptable (the fact it relies on, checked where the finding is yielded)."""

    scope: IConstruct
    finding_id: str
    reason: str


@runtime_checkable
class ReviewsFindings(Protocol):
    """A construct that declares the findings its own resources raise."""

    @property
    def node(self) -> Any:
        """The construct's node."""

    def reviewed_findings(self) -> Iterator[Finding]:
        """The findings of the construct's own resources whose reason holds on the synthesized resource."""


RULE_PACKS = (AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, PCIDSS321Checks)
"""cdk-nag packs run on every stack: AWS Solutions, HIPAA Security, NIST 800-53 rev 5, PCI DSS 3.2.1."""

GUARD_RULES_DIR = Path(__file__).resolve().parent.parent / "rules" / "control_tower"
"""AWS Control Tower proactive controls (CloudFormation Guard) for EMR, S3 and KMS; see its README."""

VALIDATE_AGAINST_DEFAULT_RULES = "@aws-cdk/core:validateAgainstDefaultRules"
"""aws-cdk-lib's flag that makes a CloudFormation validation (and Guard) finding an error instead of a warning."""

HIPAA, NIST, PCI = "HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321"

ACKNOWLEDGE_CONTEXT = "emr-platform:acknowledge-reviewed-findings"
"""Context flag: ``false`` makes the constructs acknowledge nothing, so that every finding is reported (for a
review of the raw findings, and the tests that check each acknowledgement is still needed). Default: true."""

CHECKOV = "checkov::"
"""Prefix of findings of checkov, which runs on ``cdk.out`` in the tests: acknowledged as a metadata skip on the
CloudFormation resource (``Metadata.checkov.skip``), where checkov reads them."""


def guard_rules() -> list[ValidationRuleSource]:
    """The Control Tower Guard rules, as aws-cdk-lib's CloudFormation validation takes them.

    :raises EmrPlatformError: there are none (an install without the package data), instead of running no gate.
    """
    paths = sorted(GUARD_RULES_DIR.glob("*.guard"))
    if not paths:
        raise EmrPlatformError(
            where=str(GUARD_RULES_DIR),
            problem="no Control Tower Guard rules (*.guard) found: the package was installed without its data",
            show_value=False,
            fix="reinstall emr-platform from a wheel or sdist built by its pyproject.toml (it includes rules/)",
        )
    return [ValidationRuleSource(name=path.stem, content=path.read_text(encoding="utf-8")) for path in paths]


def add_compliance_checks(app: App) -> None:
    """Register the gates that run on every stack of ``app`` at synth: the cdk-nag packs, and the CDK's own
    CloudFormation validation (its default rules plus the Control Tower Guard rules). The constructs of this
    package acknowledge their own reviewed findings; anything else fails synthesis.

    :raises EmrPlatformError: ``app`` does not set ``@aws-cdk/core:validateAgainstDefaultRules`` to true, without
        which aws-cdk-lib only warns on a Guard finding (a non-compliant resource would synthesize green).
    """
    if app.node.try_get_context(VALIDATE_AGAINST_DEFAULT_RULES) not in (True, "true"):
        raise EmrPlatformError(
            where=f"context '{VALIDATE_AGAINST_DEFAULT_RULES}'",
            problem="not true: the Control Tower Guard rules would only warn, and a non-compliant resource would "
            "synthesize",
            value=app.node.try_get_context(VALIDATE_AGAINST_DEFAULT_RULES),
            fix=f'set "{VALIDATE_AGAINST_DEFAULT_RULES}": true in cdk.json\'s context (or App(context=...))',
        )
    Validations.of(app).add_plugins(*(pack(app) for pack in RULE_PACKS), cloudformation_validation_plugin())


@cache
def cloudformation_validation_plugin() -> CloudFormationValidatePlugin:
    """aws-cdk-lib's CloudFormation validation with the Control Tower Guard rules, one per process: it holds no
    state between validations, and each one instantiates the Guard engine's WebAssembly module in jsii's Node, which
    in a process that synthesizes many apps (the tests) took minutes once its heap had grown."""
    return CloudFormationValidatePlugin(guard_rules=guard_rules())


# --- acknowledging -------------------------------------------------------------------------------------------------


@jsii.implements(IValidation)
class _AcknowledgeAtSynthesis:
    """A node validation of a stack that acknowledges the reviewed findings of its constructs when the app
    synthesizes: after aspects and ``prepare``, so every grant is in the policies, and before the rule packs run on
    the templates. One per stack, not per construct: the constructs read the same policies, resolved once."""

    def __init__(self, stack: Stack) -> None:
        self._stack = stack
        self.owners: list[ReviewsFindings] = []

    def validate(self) -> list[str]:
        if str(self._stack.node.try_get_context(ACKNOWLEDGE_CONTEXT)).lower() == "false":
            return []
        global _RESOLVED  # noqa: PLW0603 - the one synthesis-scoped cache, see _Resolved
        _RESOLVED = _Resolved(self._stack)
        try:
            findings = [finding for owner in self.owners for finding in _findings_of(owner)]
        finally:
            _RESOLVED = None
        acknowledge(findings)
        return []


def _findings_of(owner: ReviewsFindings) -> list[Finding]:
    try:
        return list(owner.reviewed_findings())
    except AttributeError:
        # The owner's constructor raised before it was complete (a caller caught the PropError and went on):
        # nothing of it is acknowledged, so whatever it did create is reported as raised. The safe direction.
        return []


class _Resolved:
    """What the constructs of one stack resolve while their findings are acknowledged: the policies of roles that
    several constructs grant to, and ARNs. Lives only during that stack's validation, when no grant is added any
    more (every jsii resolve is a round trip)."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.statements: dict[int, tuple[iam.IRole, list[dict[str, Any]]]] = {}


_RESOLVED: _Resolved | None = None


def memoized(owner: object, compute: Callable[[], Any]) -> Any:
    """``compute()``, once per acknowledgement of a stack for ``owner`` (recomputed outside one)."""
    memo = getattr(owner, "_emr_platform_memo", None)
    if _RESOLVED is not None and memo is not None and memo[0] is _RESOLVED:
        return memo[1]
    value = compute()
    if _RESOLVED is not None:
        owner._emr_platform_memo = (_RESOLVED, value)  # type: ignore[attr-defined]
    return value


def acknowledge_at_synthesis(owner: ReviewsFindings, *, stack: Stack | None = None) -> None:
    """Acknowledge ``owner``'s reviewed findings when the app synthesizes (each construct calls this once).

    :param stack: the stack of ``owner``. Default: ``Stack.of(owner)`` (``owner`` is a construct).
    """
    stack = stack or Stack.of(owner)  # type: ignore[arg-type]
    validation = getattr(stack, "_emr_platform_acknowledgements", None)
    if validation is None:
        validation = _AcknowledgeAtSynthesis(stack)
        stack._emr_platform_acknowledgements = validation  # type: ignore[attr-defined]
        stack.node.add_validation(validation)
    validation.owners.append(owner)


def acknowledge(findings: Iterable[Finding]) -> list[Finding]:
    """Acknowledge ``findings`` now; returns them.

    One call into aws-cdk-lib per construct, not per finding (each is a round trip to jsii's Node process). Checkov
    skips are one metadata entry per CloudFormation resource.
    """
    found = list(findings)
    skips: dict[str, tuple[CfnResource, list[dict[str, str]]]] = {}
    acknowledgments: dict[int, tuple[IConstruct, list[Acknowledgment]]] = {}
    for finding in found:
        if finding.finding_id.startswith(CHECKOV):
            resource = _cfn_resource(finding.scope)
            skips.setdefault(resource.node.path, (resource, []))[1].append(
                {"id": finding.finding_id.removeprefix(CHECKOV), "comment": finding.reason}
            )
        else:
            # Keyed by the Python object, which the dict keeps alive (so its id is not reused).
            acknowledgments.setdefault(id(finding.scope), (finding.scope, []))[1].append(
                Acknowledgment(id=finding.finding_id, reason=finding.reason)
            )
    for scope, acks in acknowledgments.values():
        Validations.of(scope).acknowledge(*acks)
    for resource, skip in skips.values():
        resource.add_metadata("checkov", {"skip": skip})
    return found


def reviewed_findings(scope: IConstruct) -> list[Finding]:
    """Every reviewed finding of the constructs under ``scope`` (for tests and reviews; synthesis acknowledges
    them by itself). Walks the construct tree: call it once the app is built."""
    return [
        finding
        for construct in scope.node.find_all()
        if isinstance(construct, ReviewsFindings)
        for finding in construct.reviewed_findings()
    ]


def _cfn_resource(scope: IConstruct) -> CfnResource:
    resource = scope if isinstance(scope, CfnResource) else scope.node.default_child
    if not isinstance(resource, CfnResource):
        raise TypeError(f"{scope.node.path}: a checkov skip needs a CloudFormation resource")
    return resource


def in_packs(scope: IConstruct, rule: str, packs: tuple[str, ...], reason: str) -> Iterator[Finding]:
    """The same finding as each of ``packs`` names it (``HIPAA.Security-<rule>``, ...)."""
    for pack in packs:
        yield Finding(scope, f"{pack}-{rule}", reason)


def lambda_checkov_skips(function: IConstruct, why: str) -> Iterator[Finding]:
    """checkov's Lambda checks (concurrency limit, DLQ, in a VPC) on a function the CDK writes for a custom resource."""
    for check in ("CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117"):
        yield Finding(function, f"{CHECKOV}{check}", why)


def outside_vpc(function: IConstruct, why: str) -> Iterator[Finding]:
    """LambdaInsideVPC (three packs) and checkov's CKV_AWS_117 on ``function``, only if it really has no VPC."""
    resource = _cfn_resource(function)
    if Stack.of(resource).resolve(getattr(resource, "vpc_config", None)) is None:
        yield from in_packs(function, "LambdaInsideVPC", (HIPAA, NIST, PCI), why)
        yield Finding(function, f"{CHECKOV}CKV_AWS_117", why)


# --- reading policies the way the rule packs name findings -----------------------------------------------------------


def policy_statements(role: iam.IRole) -> list[dict[str, Any]]:
    """The resolved statements of the policy that holds ``role``'s grants (its managed ``Policy`` or inline
    ``DefaultPolicy``); empty for a role of someone else's."""
    cache = _RESOLVED.statements if _RESOLVED is not None else None
    if cache is not None and id(role) in cache:
        return cache[id(role)][1]
    policy = role.node.try_find_child("Policy") or role.node.try_find_child("DefaultPolicy")
    statements = statements_of(role, policy.document) if isinstance(policy, iam.ManagedPolicy | iam.Policy) else []
    if cache is not None:
        cache[id(role)] = (role, statements)  # the role is kept, so its id is not reused
    return statements


def statements_of(scope: IConstruct, document: iam.PolicyDocument) -> list[dict[str, Any]]:
    """The statements of ``document``, resolved in ``scope``'s stack."""
    stack = _RESOLVED.stack if _RESOLVED is not None else Stack.of(scope)
    return list((stack.resolve(document.to_json()) or {}).get("Statement", []))


def as_list(value: Any) -> list[Any]:
    """A policy field that may be one value or a list, as a list."""
    return value if isinstance(value, list) else [value]


def wildcard_actions(statements: list[dict[str, Any]]) -> list[str]:
    """The ``AwsSolutions-IAM5[Action::...]`` ids of ``statements``' wildcard actions."""
    actions = {a for st in statements for a in as_list(st.get("Action", [])) if "*" in a}
    return [f"AwsSolutions-IAM5[Action::{a}]" for a in sorted(actions)]


def wildcard_resources(statements: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """``(AwsSolutions-IAM5[Resource::...] id, rendered resource)`` for each wildcard resource of ``statements``."""
    rendered = {render(r) for st in statements for r in as_list(st.get("Resource", []))}
    return [(f"AwsSolutions-IAM5[Resource::{r}]", r) for r in sorted(rendered) if "*" in r]


def render(value: Any) -> str:
    """A resolved CloudFormation value as cdk-nag prints it (``<Logical.Arn>/*``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if "Fn::GetAtt" in value:
            logical, attribute = value["Fn::GetAtt"]
            return f"<{logical}.{attribute}>"
        if "Ref" in value:
            return f"<{value['Ref']}>"
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return str(separator).join(render(p) for p in parts)
    return json.dumps(value, sort_keys=True)


def rendered(scope: IConstruct, value: str) -> str:
    """``value`` (a string with tokens, such as an ARN) resolved in ``scope``'s stack and rendered as cdk-nag does."""
    stack = _RESOLVED.stack if _RESOLVED is not None else Stack.of(scope)
    return render(stack.resolve(value))


def grantee_role(grantee: iam.IGrantable) -> iam.IRole | None:
    """The role behind ``grantee``, when its grants land in a policy of this app (else None)."""
    principal = grantee.grant_principal
    return principal if isinstance(principal, iam.Role) else None


def own_wildcards(roles: Iterable[iam.IRole], owned: dict[str, str]) -> Iterator[Finding]:
    """IAM5 wildcard-resource findings of ``roles`` whose resource is one of ``owned`` (rendered resource ->
    reason): the fact is that the wildcard spans exactly a resource the caller owns."""
    seen: set[int] = set()
    for role in roles:
        if id(role) in seen:
            continue
        seen.add(id(role))
        for finding_id, resource in wildcard_resources(policy_statements(role)):
            reason = owned.get(resource)
            if reason is not None:
                yield Finding(role, finding_id, reason)
