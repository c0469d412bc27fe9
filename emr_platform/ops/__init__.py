"""``emr-platform-ops``: operate a deployed environment's clusters with boto3.

Every command takes the environment's name; the stack name and region come from its settings file, the cluster
from the stack's outputs (``<cluster>ClusterId``), so nobody copies cluster IDs around::

    emr-platform-ops status dev
    emr-platform-ops submit dev jobs/etl.py --arg s3://raw/ --arg s3://curated/     # a script in the artifacts bucket
    emr-platform-ops submit dev s3://my-bucket/job.py
    emr-platform-ops wait dev s-1234567890ABC --timeout 3600
    emr-platform-ops logs dev s-1234567890ABC --stream stderr
    emr-platform-ops resize dev --task 10
    emr-platform-ops terminate dev --yes
    emr-platform-ops run dev weblogs                 # a run of a transient cluster (its state machine)
    emr-platform-ops preflight dev                   # before a deployment (make deploy runs it)
    emr-platform-ops adopt dev                       # after a deletion: the cdk import mapping of what it kept

Every argument is checked against the EMR, S3 and Step Functions API rules (read from botocore's service models
where they are there) before any AWS call, and ``submit`` checks that the script is in S3 and readable first. A
problem (a bad argument, no or expired credentials, no network route, a denied action, a parameter AWS refuses,
throttling, an unknown environment, a stack that does not exist, a cluster that is gone) ends the command with one
line on stderr, ``error: <problem>. Fix: <fix>``, and a non-zero exit code: 1 for errors, 2 for wrong usage, 3 when
``wait`` times out or the step fails.
"""

from emr_platform.ops.cli import main, parser

__all__ = ["main", "parser"]
