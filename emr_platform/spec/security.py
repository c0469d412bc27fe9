"""The typed security settings of an environment: EMR security configuration, Kerberos, IAM guard rails.

Secure by default, and every exception explicit: in-transit TLS needs either a certificate bundle or a written
reason to go without (the reason becomes the acknowledgement of the compliance finding it causes).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, model_validator

from emr_platform.spec.model import SkipTokens, Spec, invalid

_CERTIFICATES_ZIP = r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.+\.zip$"
CERTIFICATES_ZIP = re.compile(_CERTIFICATES_ZIP)


class InTransitEncryptionSpec(Spec):
    """TLS between the cluster's nodes and for its applications' endpoints.

    Set exactly one of:

    - ``certificates_zip``: ``s3://bucket/key.zip`` holding PEM files (``privateKey.pem``, ``certificateChain.pem``,
      ``trustedCertificates.pem``) issued by your certificate authority (AWS Private CA or your own PKI) for the
      nodes' private DNS names (``*.<region>.compute.internal``, ``*.ec2.internal`` in us-east-1); the nodes get
      read access to exactly that object;
    - ``disabled_reason``: why this environment goes without (at least 20 characters).

    The platform does not generate certificates: a self-signed key pair created by a deployment function is not
    one a security review accepts for production, and the private key would sit in a bucket the platform
    controls rather than in your PKI.
    """

    certificates_zip: Annotated[str, Field(pattern=_CERTIFICATES_ZIP), SkipTokens] | None = Field(
        default=None, description="`s3://bucket/key.zip` of PEM certificates from your CA."
    )
    disabled_reason: Annotated[str, Field(min_length=20)] | None = Field(
        default=None, description="Why in-transit encryption is off here (20+ characters)."
    )

    @model_validator(mode="after")
    def _check(self) -> InTransitEncryptionSpec:
        if (self.certificates_zip is None) == (self.disabled_reason is None):
            raise invalid(
                "set exactly one of certificates_zip and disabled_reason",
                "give the s3:// URI of your PEM certificates zip, or say why this environment goes without TLS",
            )
        return self

    @property
    def enabled(self) -> bool:
        """Whether TLS is on."""
        return self.certificates_zip is not None


class KerberosSpec(Spec):
    """Kerberos authentication with a cluster-dedicated KDC on the primary node(s).

    The KDC admin password is generated into a Secrets Manager secret encrypted with the platform key, and reaches
    EMR through a CloudFormation dynamic reference: it is never in the template. Defaults: a 24-hour ticket
    lifetime, the realm EMR recommends for the region (``EC2.INTERNAL`` in us-east-1, ``<REGION>.COMPUTE.INTERNAL``
    elsewhere).
    """

    realm: Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9.-]*$")] | None = Field(
        default=None, description="Kerberos realm, upper case. Default: EMR's for the region."
    )
    ticket_lifetime_hours: Annotated[int, Field(ge=1, le=168)] = Field(
        default=24, description="Ticket lifetime (1-168 hours). Default 24."
    )

    def realm_for(self, region: str) -> str:
        """The realm to use in ``region``."""
        if self.realm is not None:
            return self.realm
        return "EC2.INTERNAL" if region == "us-east-1" else f"{region.upper()}.COMPUTE.INTERNAL"


_ROLE_ARN = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$"


class RuntimeRolesSpec(Spec):
    """EMR runtime roles: each step runs as an IAM role of its own (its ``ExecutionRoleArn``), not as the nodes'
    instance role, so that teams sharing a cluster reach only their own data; optionally with Lake Formation
    fine-grained access control. Needs EMR 6.7+.

    The instance role may assume exactly ``role_arns`` (``sts:AssumeRole``, ``sts:TagSession``); each of those roles
    must trust the instance role in its own trust policy.
    """

    role_arns: tuple[Annotated[str, Field(pattern=_ROLE_ARN), SkipTokens], ...] = Field(
        min_length=1, description="The roles steps may run as."
    )
    lake_formation: bool = Field(
        default=False, description="Enforce Lake Formation permissions for those roles (EMR 6.15+). Default off."
    )


class SecuritySpec(Spec):
    """An environment's security settings.

    Defaults: S3 data encrypted SSE-KMS with the platform key; local disks and EBS volumes always encrypted with it;
    IMDSv2 required; account-level EMR Block Public Access kept on; no Kerberos; no permissions boundary.
    ``in_transit_encryption`` has no default: choose certificates or write down why not.
    """

    in_transit_encryption: InTransitEncryptionSpec = Field(
        description="TLS: `{certificates_zip: s3://...zip}` or `{disabled_reason: ...}`. Required."
    )
    s3_encryption: Literal["SSE-KMS", "CSE-KMS"] = Field(
        default="SSE-KMS",
        description="How EMRFS encrypts S3 objects with the platform key: server side (`SSE-KMS`, default) or "
        "client side (`CSE-KMS`: objects are encrypted before they leave the node).",
    )
    require_imdsv2: bool = Field(default=True, description="Nodes accept only IMDSv2 (hop limit 1). Default on.")
    kerberos: KerberosSpec | None = Field(default=None, description="Kerberos with a cluster-dedicated KDC.")
    runtime_roles: RuntimeRolesSpec | None = Field(
        default=None, description="Steps run as their own IAM roles (and Lake Formation). Default none."
    )
    permissions_boundary_arn: (
        Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/.+$"), SkipTokens] | None
    ) = Field(default=None, description="A managed policy set as the permissions boundary of every role.")
    emr_block_public_access: bool = Field(
        default=True,
        description="Keep the account's EMR Block Public Access on (a custom resource re-asserts it at every "
        "deployment; no ports open to the internet). Default on.",
    )
