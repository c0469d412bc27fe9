"""EMR Studio: the settings of the platform's notebook workspace service (no CDK)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from emr_platform.spec.model import Spec, invalid

MAX_STUDIO_SUBNETS = 5
"""CreateStudio's SubnetIds: "A Studio can have a maximum of 5 subnets" (the EMR API reference)."""


class StudioSpec(Spec):
    """An EMR Studio on the platform's network, key and artifacts bucket (workspaces are backed up under
    ``studio/``), with IAM or IAM Identity Center sign-in."""

    auth_mode: Literal["IAM", "SSO"] = Field(
        description="`IAM` (users sign in with IAM, their own policies say what they may do) or `SSO` (IAM "
        "Identity Center: users and groups below get the Studio's user role, scoped by its session policy)."
    )
    users: tuple[str, ...] = Field(default=(), description="SSO: Identity Center user names. Default none.")
    groups: tuple[str, ...] = Field(default=(), description="SSO: Identity Center group names. Default none.")

    @model_validator(mode="after")
    def _check(self) -> StudioSpec:
        if self.auth_mode == "SSO" and not (self.users or self.groups):
            raise invalid(
                "auth_mode SSO with no users and no groups: nobody could sign in",
                "list Identity Center users or groups, or use auth_mode: IAM",
                at=("auth_mode",),
            )
        if self.auth_mode == "IAM" and (self.users or self.groups):
            raise invalid(
                "users and groups are Identity Center's: with auth_mode IAM they would be ignored",
                "remove them (grant IAM users the Studio's actions), or use auth_mode: SSO",
                at=("users" if self.users else "groups",),
            )
        return self
