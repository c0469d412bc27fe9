"""The GitOps pipeline: a self-mutating CDK Pipelines ``CodePipeline`` that promotes the platform through stages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import DefaultStackSynthesizer, Environment, Stack, Stage, Tags, pipelines
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_iam as iam
from constructs import Construct

from emr_platform.constructs.compliance import acknowledge_at_synthesis
from emr_platform.constructs.pipeline import PipelineArtifactStore, PipelineFindings
from emr_platform.spec.errors import PropError
from emr_platform.spec.settings import EnvironmentSettings, PipelineSettings, PipelineStageSettings
from emr_platform.stacks.platform_stack import EmrPlatformStack

CDK_CLI_VERSION = "2.1148.1"
"""The CDK CLI the diff steps install: the version package.json pins for everything else."""


class PlatformStage(Stage):
    """One environment of the platform as a pipeline stage: its :class:`EmrPlatformStack`, named as when deployed
    by hand (``emr-platform-<env>``), so moving an environment into the pipeline replaces nothing.

    Example::

        stage = PlatformStage(pipeline_stack, "prod", settings=load_settings("prod"))
    """

    def __init__(self, scope: Construct, construct_id: str, *, settings: EnvironmentSettings, **kwargs: Any) -> None:
        super().__init__(
            scope, construct_id, env=Environment(account=settings.account, region=settings.region), **kwargs
        )
        self.settings = settings
        self.platform = EmrPlatformStack(self, settings.stack_name, settings=settings)


class PipelineReplicationStack(Stack):
    """The pipeline's artifact store in a region where stages deploy and the pipeline does not run: CodePipeline
    replicates each execution's artifacts into it for the actions there. In the pipeline's account, with
    termination protection, its bucket and key secured as the pipeline's own (:class:`PipelineArtifactStore`).

    Example::

        PipelineReplicationStack(app, "emr-platform-pipeline-artifacts-eu-central-1",
                                 env=Environment(account="999999999999", region="eu-central-1"))
    """

    def __init__(self, scope: Construct, construct_id: str, *, tags: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(
            scope,
            construct_id,
            description="Replicated artifacts of the EMR data platform's pipeline",
            termination_protection=True,
            **kwargs,
        )
        for key, value in tags.items():
            Tags.of(self).add(key, value)
        self.artifacts = PipelineArtifactStore(self, "Artifacts", cross_region=True)


class EmrPlatformPipelineStack(Stack):
    """The pipeline of ``config/pipeline.yaml``: source, build and test, self-update, then one stage per
    environment in promotion order.

    - Source: the repository through a CodeConnections connection (``source.connection_arn``).
    - Build: ``synth_commands`` (default the whole test suite, then ``make synth-pipeline``) on CodeBuild; the
      pipeline stops here when a test, a compliance gate or the replacement guard fails.
    - Self-mutation: the pipeline updates itself from the new cloud assembly before it deploys anything.
    - Each stage first prints ``cdk diff`` of its stack against what is deployed (a ``Diff`` step, read-only
      through the target account's CDK lookup role), then deploys through a CloudFormation change set; with
      ``manual_approval`` (the default) a person approves the change set in between.
    - Artifacts live in a :class:`PipelineArtifactStore` (KMS key that cross-account stages decrypt with, access
      logs, versioning, expiry).

    ``environments`` holds the settings of every stage's environment, by name (``load_pipeline_settings`` reads
    both and checks that they fit together).

    Example::

        settings, environments = load_pipeline_settings()
        EmrPlatformPipelineStack(app, settings.pipeline_name, settings=settings, environments=environments)
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: PipelineSettings,
        environments: Mapping[str, EnvironmentSettings],
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            stack_name=settings.pipeline_name,
            env=Environment(account=settings.account, region=settings.region),
            description="GitOps pipeline of the EMR data platform",
            termination_protection=True,
            **kwargs,
        )
        self.settings = settings
        for key, value in settings.tags.items():
            Tags.of(self).add(key, value)

        self.source = self._source(settings)
        # Our own artifact store: CDK Pipelines' default bucket has no access logs, versioning or lifecycle.
        self.artifacts = PipelineArtifactStore(self, "Artifacts")
        self.replication = self._replication_stores(scope, settings, environments)
        self.pipeline = self._pipeline(settings)
        self.stages: dict[str, PlatformStage] = {}
        waves: dict[str, pipelines.Wave] = {}
        for stage_settings in settings.stages:
            wave = stage_settings.wave
            if wave is not None and wave not in waves:
                waves[wave] = self.pipeline.add_wave(wave)
            self._add_stage(stage_settings, environments, waves.get(wave) if wave else None)
        # Build now, not at synth: the compliance review reads the pipeline's roles and policies.
        self.pipeline.build_pipeline()
        replicated = [store.artifacts for store in self.replication.values()]
        acknowledge_at_synthesis(PipelineFindings(self.pipeline, self.artifacts, replicated), stack=self)

    def _replication_stores(
        self, scope: Construct, settings: PipelineSettings, environments: Mapping[str, EnvironmentSettings]
    ) -> dict[str, PipelineReplicationStack]:
        """A replication artifact store in every region a stage deploys to, other than the pipeline's own."""
        regions = sorted({e.region for e in environments.values()} - {settings.region})
        stores = {
            region: PipelineReplicationStack(
                scope,
                f"{settings.pipeline_name}-artifacts-{region}",
                env=Environment(account=settings.account, region=region),
                tags=settings.tags,
            )
            for region in regions
        }
        for store in stores.values():
            self.add_stack_dependency(
                store, "the pipeline replicates its artifacts into the store of each stage region"
            )
        return stores

    @staticmethod
    def _source(settings: PipelineSettings) -> pipelines.CodePipelineSource:
        source = settings.source
        return pipelines.CodePipelineSource.connection(
            source.repository,
            source.branch,
            connection_arn=source.connection_arn,
            trigger_on_push=source.trigger_on_push,
            # A full clone: the build runs `git` (the version, the pre-commit hooks) as a developer's machine would.
            code_build_clone_output=True,
        )

    def _pipeline(self, settings: PipelineSettings) -> pipelines.CodePipeline:
        return pipelines.CodePipeline(
            self,
            "Pipeline",
            code_pipeline=codepipeline.Pipeline(
                self,
                "CodePipeline",
                pipeline_name=settings.pipeline_name,
                pipeline_type=codepipeline.PipelineType.V2,
                # With stages in other regions, the stores of every region (the pipeline's own among them) are the
                # replication buckets: ours, not CodePipeline's support stacks' (no access logs, no versioning).
                artifact_bucket=None if self.replication else self.artifacts.bucket,
                cross_region_replication_buckets={
                    settings.region: self.artifacts.bucket,
                    **{region: store.artifacts.bucket for region, store in self.replication.items()},
                }
                if self.replication
                else None,
                # A pipeline that changed itself starts again with its new definition.
                restart_execution_on_update=True,
            ),
            synth=pipelines.CodeBuildStep(
                "Synth",
                input=self.source,
                commands=list(settings.synth_commands),
                primary_output_directory="cdk.out",
            ),
            self_mutation=True,
            use_change_sets=True,
            code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=codebuild.BuildEnvironment(
                    # Ubuntu 22.04 with Python 3.11 and npm; the Makefile brings its own pinned Node 22.
                    build_image=codebuild.LinuxBuildImage.STANDARD_7_0,
                    compute_type=codebuild.ComputeType.MEDIUM,
                ),
            ),
        )

    def _add_stage(
        self,
        stage_settings: PipelineStageSettings,
        environments: Mapping[str, EnvironmentSettings],
        wave: pipelines.Wave | None = None,
    ) -> None:
        environment = environments.get(stage_settings.environment)
        if environment is None:
            raise PropError(
                where=f"EmrPlatformPipelineStack {self.node.path}: environments",
                problem=f"no settings for stage {stage_settings.environment!r}",
                value=sorted(environments),
                fix="pass the environments load_pipeline_settings() returns with the pipeline settings",
            )
        stage = PlatformStage(self, stage_settings.environment, settings=environment)
        # Every stack of the stage (the foundation and each cluster stack) has its own change set to approve.
        stacks = [stage.platform, *stage.platform.cluster_stacks.values()]
        (wave or self.pipeline).add_stage(
            stage,
            pre=[self._diff_step(stage)],
            stack_steps=[
                pipelines.StackSteps(
                    stack=stack, change_set=self._approval(stack) if stage_settings.manual_approval else []
                )
                for stack in stacks
            ],
        )
        self.stages[stage_settings.environment] = stage

    @staticmethod
    def _approval(stack: Stack) -> list[pipelines.Step]:
        return [
            pipelines.ManualApprovalStep(
                "Approve",
                comment=f"Review the change set of {stack.stack_name} (resources replaced or removed are flagged) "
                "and the Diff step's output, then approve.",
            )
        ]

    def _diff_step(self, stage: PlatformStage) -> pipelines.CodeBuildStep:
        """``cdk diff`` of the stage's stack against the deployed one, in the build log. Read-only; it fails only when
        it cannot read the deployed stack (the stage account does not trust the pipeline's)."""
        environment = stage.settings
        lookup_role = self.format_arn(
            service="iam",
            region="",
            account=environment.account,
            resource="role",
            resource_name=f"cdk-{DefaultStackSynthesizer.DEFAULT_QUALIFIER}-lookup-role-{environment.account}-"
            f"{environment.region}",
        )
        return pipelines.CodeBuildStep(
            "Diff",
            input=self.pipeline.cloud_assembly_file_set,
            install_commands=[f"npm install --global --no-audit --no-fund aws-cdk@{CDK_CLI_VERSION}"],
            commands=[f"cdk diff --no-notices --app {stage.artifact_id} --all"],
            # The lookup role of a bootstrapped account reads templates and nothing else.
            role_policy_statements=[iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[lookup_role])],
        )
