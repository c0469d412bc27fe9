"""An EMR security configuration: encryption at rest (S3, local disks, EBS), optionally in transit, and IMDSv2."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_emr as emr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct
from pydantic import ValidationError

from emr_platform.constructs.compliance import HIPAA, NIST, Finding, in_packs, memoized
from emr_platform.constructs.shared import PlatformConstruct, resolve_removal_policy
from emr_platform.spec.security import SecuritySpec
from emr_platform.spec.validation import prop_error

_S3_URI = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(?P<key>.+\.zip)$")


class SecurityConfigurationBase(PlatformConstruct):
    """What a cluster uses of a security configuration: its name, the facts its findings rely on, the Kerberos
    attributes, and the grants its roles need. :class:`EmrSecurityConfiguration` creates one;
    :class:`SharedSecurityConfiguration` is a foundation stack's one as a cluster stack sees it."""

    spec: SecuritySpec
    key: kms.IKey
    kdc_admin_secret: secretsmanager.ISecret | None
    tls_certificates_uri: str | None
    _certificates: s3.IBucket | None

    @property
    def name(self) -> str:
        """The security configuration's name, as clusters reference it."""
        raise NotImplementedError

    @property
    def encrypts_at_rest(self) -> bool:
        """Whether the synthesized configuration encrypts S3 data and local disks (EBS included) with KMS."""
        raise NotImplementedError

    @property
    def encrypts_in_transit(self) -> bool:
        """Whether the synthesized configuration turns TLS on, with certificates."""
        raise NotImplementedError

    @property
    def uses_kerberos(self) -> bool:
        """Whether the synthesized configuration authenticates with Kerberos."""
        raise NotImplementedError

    @property
    def in_transit_disabled_reason(self) -> str | None:
        """The reason the settings state for turning TLS off, when the synthesized configuration has it off."""
        return None if self.encrypts_in_transit else self.spec.in_transit_encryption.disabled_reason

    def kerberos_attributes(self) -> emr.CfnCluster.KerberosAttributesProperty | None:
        """The cluster's Kerberos attributes (realm, KDC admin password as a dynamic reference), or None."""
        kerberos = self.spec.kerberos
        if kerberos is None or self.kdc_admin_secret is None:
            return None
        return emr.CfnCluster.KerberosAttributesProperty(
            realm=kerberos.realm_for(Stack.of(self).region),
            # A {{resolve:secretsmanager:...}} reference: CloudFormation reads the secret, the template never has it.
            kdc_admin_password=self.kdc_admin_secret.secret_value.unsafe_unwrap(),
        )

    def grant_nodes(self, grantee: iam.IGrantable) -> iam.Grant:
        """Give a cluster's nodes (its instance role) what this configuration needs: encrypt and decrypt S3 objects
        and local disks with the key, assume the runtime roles (when set), read the TLS certificates (when set)."""
        grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"],
            resource_arns=[self.key.key_arn],
        )
        runtime = self.spec.runtime_roles
        if runtime is not None:
            # Steps run as these roles: the nodes assume them, tagging the session for Lake Formation.
            grant = grant.combine(
                iam.Grant.add_to_principal(
                    grantee=grantee, actions=["sts:AssumeRole", "sts:TagSession"], resource_arns=list(runtime.role_arns)
                )
            )
        match = _S3_URI.match(self.tls_certificates_uri or "")
        if match is not None:
            if self._certificates is None:
                self._certificates = s3.Bucket.from_bucket_name(self, "CertificatesBucket", match["bucket"])
            bucket = self._certificates
            grant = grant.combine(
                iam.Grant.add_to_principal(
                    grantee=grantee, actions=["s3:GetObject"], resource_arns=[bucket.arn_for_objects(match["key"])]
                )
            )
        return grant

    def grant_service(self, grantee: iam.IGrantable) -> iam.Grant:
        """Give a cluster's EMR service role what this configuration needs: use the key, and create grants on it
        for the encrypted EBS volumes EC2 attaches (only grants for AWS resources)."""
        key_arn = [self.key.key_arn]
        grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=[
                "kms:DescribeKey",
                "kms:Decrypt",
                "kms:Encrypt",
                "kms:GenerateDataKeyWithoutPlaintext",
                "kms:ReEncryptFrom",
                "kms:ReEncryptTo",
            ],
            resource_arns=key_arn,
        )
        return grant.combine(
            iam.Grant.add_to_principal(
                grantee=grantee,
                actions=["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
                resource_arns=key_arn,
                conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            )
        )


class EmrSecurityConfiguration(SecurityConfigurationBase):
    """Encryption, authentication and instance-metadata settings shared by the platform's clusters.

    Creates an ``AWS::EMR::SecurityConfiguration`` (its name generated by CloudFormation, so that a change, which
    always replaces it, can succeed) from ``spec`` (a :class:`SecuritySpec` or a mapping shaped like the settings'
    ``security``):

    - S3 encryption with ``encryption_key``: SSE-KMS (default) or CSE-KMS;
    - local disk encryption with the key, including EBS root and storage volumes (always);
    - in-transit TLS with PEM certificates from your CA, or off with a stated reason (no default);
    - IMDSv2 required, hop limit 1 (default on);
    - runtime roles (steps run as their own IAM roles), optionally with Lake Formation, when
      ``spec.runtime_roles`` is set;
    - Kerberos with a cluster-dedicated KDC when ``spec.kerberos`` is set: the KDC admin password is generated
      into ``kdc_admin_secret`` (Secrets Manager, encrypted with the key).

    Use it with :class:`EmrCluster` (``ClusterPlacement.security_configuration``): the cluster's nodes and service
    role get the key permissions these settings need (:meth:`grant_nodes`, :meth:`grant_service`), and the
    cluster its Kerberos attributes.

    :param encryption_key: the key of S3 objects, local disks and the KDC secret.
    :param spec: what to turn on (see :class:`SecuritySpec` for each default).
    :param removal_policy: what happens to the KDC admin secret when it leaves the stack. Default: RETAIN; DESTROY
        needs ``-c emr-platform:allow-destroy=true`` as well.

    Example::

        security = EmrSecurityConfiguration(
            self, "SecurityConfiguration", encryption_key=storage.key,
            spec={"in_transit_encryption": {"certificates_zip": "s3://my-pki/emr/certs.zip"}},
        )
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey,
        spec: SecuritySpec | Mapping[str, Any],
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        try:
            self.spec = spec if isinstance(spec, SecuritySpec) else SecuritySpec.model_validate(spec)
        except ValidationError as error:
            raise prop_error(error, where=f"{self.where}: spec") from None
        self.key = encryption_key
        self._certificates = None
        self.tls_certificates_uri = self.spec.in_transit_encryption.certificates_zip
        self.configuration: dict[str, Any] = {"EncryptionConfiguration": self._encryption()}
        if self.spec.require_imdsv2:
            self.configuration["InstanceMetadataServiceConfiguration"] = {
                "MinimumInstanceMetadataServiceVersion": 2,
                "HttpPutResponseHopLimit": 1,
            }
        if self.spec.runtime_roles is not None:
            self.configuration["AuthorizationConfiguration"] = self._authorization()
        self.kdc_admin_secret: secretsmanager.ISecret | None = None
        if self.spec.kerberos is not None:
            self.configuration["AuthenticationConfiguration"] = self._kerberos(removal_policy)
        # No name: CloudFormation generates one, so a replacement (any change replaces) never collides.
        self.resource = emr.CfnSecurityConfiguration(self, "Resource", security_configuration=self.configuration)

    def _encryption(self) -> dict[str, Any]:
        key_arn = self.key.key_arn
        encryption: dict[str, Any] = {
            "EnableAtRestEncryption": True,
            "EnableInTransitEncryption": self.spec.in_transit_encryption.enabled,
            "AtRestEncryptionConfiguration": {
                "S3EncryptionConfiguration": {"EncryptionMode": self.spec.s3_encryption, "AwsKmsKey": key_arn},
                "LocalDiskEncryptionConfiguration": {
                    "EncryptionKeyProviderType": "AwsKms",
                    "AwsKmsKey": key_arn,
                    "EnableEbsEncryption": True,
                },
            },
        }
        if self.tls_certificates_uri is not None:
            encryption["InTransitEncryptionConfiguration"] = {
                "TLSCertificateConfiguration": {"CertificateProviderType": "PEM", "S3Object": self.tls_certificates_uri}
            }
        return encryption

    def _authorization(self) -> dict[str, Any]:
        authorization: dict[str, Any] = {
            "IAMConfiguration": {
                "EnableApplicationScopedIAMRole": True,
                "ApplicationScopedIAMRoleConfiguration": {"PropagateSourceIdentity": True},
            }
        }
        if self.spec.runtime_roles is not None and self.spec.runtime_roles.lake_formation:
            authorization["LakeFormationConfiguration"] = {"AuthorizedSessionTagValue": "Amazon EMR"}
        return authorization

    def _kerberos(self, removal_policy: RemovalPolicy) -> dict[str, Any]:
        kerberos = self.spec.kerberos
        lifetime = kerberos.ticket_lifetime_hours if kerberos is not None else None
        self.kdc_admin_secret = secretsmanager.Secret(
            self,
            "KdcAdminPassword",
            description="Admin password of the EMR clusters' cluster-dedicated Kerberos KDC",
            encryption_key=self.key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=32, exclude_characters="\"'\\/@`"
            ),
            removal_policy=resolve_removal_policy(self, removal_policy),
        )
        return {
            "KerberosConfiguration": {
                "Provider": "ClusterDedicatedKdc",
                "ClusterDedicatedKdcConfiguration": {"TicketLifetimeInHours": lifetime},
            }
        }

    # --- what the synthesized configuration does (the facts findings rely on) ---------------------------------

    def _synthesized(self) -> dict[str, Any]:
        def resolve() -> dict[str, Any]:
            resolved = Stack.of(self).resolve(self.resource.security_configuration)
            return resolved if isinstance(resolved, dict) else {}

        return dict(memoized(self, resolve))

    @property
    def encrypts_at_rest(self) -> bool:
        """Whether the synthesized configuration encrypts S3 data and local disks (EBS included) with KMS."""
        encryption = self._synthesized().get("EncryptionConfiguration", {})
        at_rest = encryption.get("AtRestEncryptionConfiguration", {})
        disks = at_rest.get("LocalDiskEncryptionConfiguration", {})
        return (
            encryption.get("EnableAtRestEncryption") is True
            and at_rest.get("S3EncryptionConfiguration", {}).get("EncryptionMode") in ("SSE-KMS", "CSE-KMS")
            and disks.get("EncryptionKeyProviderType") == "AwsKms"
            and disks.get("EnableEbsEncryption") is True
        )

    @property
    def encrypts_in_transit(self) -> bool:
        """Whether the synthesized configuration turns TLS on, with certificates."""
        encryption = self._synthesized().get("EncryptionConfiguration", {})
        return encryption.get("EnableInTransitEncryption") is True and bool(
            encryption.get("InTransitEncryptionConfiguration", {}).get("TLSCertificateConfiguration")
        )

    @property
    def uses_kerberos(self) -> bool:
        """Whether the synthesized configuration authenticates with Kerberos."""
        return "KerberosConfiguration" in self._synthesized().get("AuthenticationConfiguration", {})

    def reviewed_findings(self) -> Iterator[Finding]:
        """Control Tower's in-transit check where the settings state why TLS is off; KDC secret rotation."""
        stated = self.in_transit_disabled_reason
        if stated is not None:
            yield Finding(
                self.resource,
                "CloudFormation-Validate::emr_sec_config_encryption_in_transit_check",
                f"In-transit encryption is off in this environment, as its settings state: {stated}",
            )
        if self.kdc_admin_secret is not None and self.uses_kerberos:
            reason = (
                "The KDC admin password is read by EMR once, when a cluster is created; rotating the secret would "
                "not change the password inside running KDCs and would break the next replacement's match."
            )
            yield Finding(self.kdc_admin_secret, "AwsSolutions-SMG4", reason)
            yield from in_packs(self.kdc_admin_secret, "SecretsManagerRotationEnabled", (HIPAA, NIST), reason)

    @property
    def name(self) -> str:
        """The security configuration's (generated) name, as clusters reference it."""
        return self.resource.ref

    @property
    def configuration_json(self) -> str:
        """The configuration as EMR reads it (tokens unresolved)."""
        return json.dumps(Stack.of(self).resolve(self.configuration), sort_keys=True)


class SharedSecurityConfiguration(SecurityConfigurationBase):
    """A foundation stack's security configuration as a cluster stack uses it: its name and KDC secret read in
    the cluster stack (from the foundation's parameters), the key imported there, and the facts of the original,
    whose synthesized configuration is the one the name refers to.

    :param original: the foundation's security configuration.
    :param name: its name, as read in this stack.
    :param encryption_key: its key, as imported in this stack.
    :param kdc_admin_secret_arn: its KDC admin secret's ARN, as read in this stack (with Kerberos only).

    Example::

        shared = SharedSecurityConfiguration(cluster_stack, "SecurityConfiguration", original=security,
                                             name=name_parameter, encryption_key=key)
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        original: EmrSecurityConfiguration,
        name: str,
        encryption_key: kms.IKey,
        kdc_admin_secret_arn: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.original = original
        self.spec = original.spec
        self.key = encryption_key
        self.tls_certificates_uri = original.tls_certificates_uri
        self._certificates = None
        self._name = name
        self.kdc_admin_secret = (
            secretsmanager.Secret.from_secret_complete_arn(self, "KdcAdminPassword", kdc_admin_secret_arn)
            if kdc_admin_secret_arn is not None
            else None
        )

    @property
    def name(self) -> str:
        """The original's generated name, read in this stack."""
        return self._name

    @property
    def encrypts_at_rest(self) -> bool:
        """The original's fact (the name refers to it)."""
        return self.original.encrypts_at_rest

    @property
    def encrypts_in_transit(self) -> bool:
        """The original's fact (the name refers to it)."""
        return self.original.encrypts_in_transit

    @property
    def uses_kerberos(self) -> bool:
        """The original's fact (the name refers to it)."""
        return self.original.uses_kerberos
