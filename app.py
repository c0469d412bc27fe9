#!/usr/bin/env python3
"""CDK entry point: one stack per environment in config/ (select with -c env=dev)."""

import sys

from emr_platform.app import main

sys.exit(main())
