"""Per-environment composition of the platform's constructs, and the pipeline that deploys them.

The pipeline's module (CDK Pipelines, CodeBuild, CodePipeline) is imported only when it is used: an ordinary
synthesis does not pay for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emr_platform.stacks.platform_stack import EmrPlatformStack

if TYPE_CHECKING:
    from emr_platform.stacks.pipeline_stack import EmrPlatformPipelineStack, PlatformStage

__all__ = ["EmrPlatformPipelineStack", "EmrPlatformStack", "PlatformStage"]


def __getattr__(name: str) -> Any:
    if name in ("EmrPlatformPipelineStack", "PlatformStage"):
        from emr_platform.stacks import pipeline_stack  # noqa: PLC0415 - lazy on purpose, see above

        return getattr(pipeline_stack, name)
    raise AttributeError(name)
