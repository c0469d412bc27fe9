"""Per-environment composition of the platform's constructs."""

from emr_platform.stacks.platform_stack import EmrPlatformStack

__all__ = ["EmrPlatformStack"]
