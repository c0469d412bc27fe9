#!/usr/bin/env python3
"""A platform team's own CDK app: a whole EMR platform from emr-platform's EmrDataPlatform and marketing.yaml."""

from pathlib import Path

import aws_cdk as cdk

from emr_platform.constructs import EmrDataPlatform
from emr_platform.constructs.compliance import add_compliance_checks
from emr_platform.spec.settings import load_settings

settings = load_settings("marketing", Path(__file__).resolve().parent)
app = cdk.App()
stack = cdk.Stack(app, "marketing-emr", env=cdk.Environment(account=settings.account, region=settings.region))
EmrDataPlatform(stack, "Platform", spec=settings)
add_compliance_checks(app)  # cdk-nag's four packs and Control Tower's Guard rules: any unreviewed finding fails
app.synth()
