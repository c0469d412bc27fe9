"""``python -m emr_platform.ops``."""

import sys

from emr_platform.ops.cli import main

sys.exit(main())
