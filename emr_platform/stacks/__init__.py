"""Per-environment composition of the platform's constructs, and the pipeline that deploys them."""

from emr_platform.stacks.pipeline_stack import EmrPlatformPipelineStack, PlatformStage
from emr_platform.stacks.platform_stack import EmrPlatformStack

__all__ = ["EmrPlatformPipelineStack", "EmrPlatformStack", "PlatformStage"]
