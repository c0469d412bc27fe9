"""One environment of the EMR data platform as one CloudFormation stack."""

from __future__ import annotations

from typing import Any

from aws_cdk import Environment, Stack, Tags
from constructs import Construct

from emr_platform.constructs.platform import RETENTION_DAYS, PlatformComposition
from emr_platform.spec.settings import EnvironmentSettings

__all__ = ["RETENTION_DAYS", "EmrPlatformStack"]


class EmrPlatformStack(Stack, PlatformComposition):
    """One environment of the platform as one stack: the composition of :class:`EmrDataPlatform` (see
    :class:`PlatformComposition`) directly in the stack, so that logical IDs are those of its parts.

    Availability zones come from the settings, never from a lookup, so synthesis is offline and deterministic.

    Example::

        EmrPlatformStack(app, "emr-platform-dev", settings=load_settings("dev"))
    """

    def __init__(self, scope: Construct, construct_id: str, *, settings: EnvironmentSettings, **kwargs: Any) -> None:
        super().__init__(
            scope,
            construct_id,
            stack_name=settings.stack_name,
            env=Environment(account=settings.account, region=settings.region),
            description=f"EMR data platform, environment {settings.environment}",
            termination_protection=settings.data_protection.stack_termination_protection,
            **kwargs,
        )
        self.settings = settings
        for key, value in settings.tags.items():
            Tags.of(self).add(key, value)
        self._compose()

    @property
    def availability_zones(self) -> list[str]:
        """The zones pinned in the settings: never looked up, never a ``dummy1a`` placeholder."""
        return list(self.settings.availability_zones)
