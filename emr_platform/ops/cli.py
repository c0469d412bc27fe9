"""The command line: parsing, and one line on stderr for any failure."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
)

from emr_platform.ops.args import (
    LIST_STEPS_PAGE,
    cluster_ref,
    execution_name,
    job_run_id,
    poll_seconds,
    role_arn,
    script_location,
    settings_name,
    step_arg,
    step_count,
    step_id,
    step_name,
    task_capacity,
    timeout_seconds,
)
from emr_platform.ops.commands import logs, resize, run, status, submit, terminate, wait
from emr_platform.ops.environment import open_environment
from emr_platform.ops.errors import OpsError, explain, one_line
from emr_platform.ops.recovery import adopt, migrate, preflight
from emr_platform.ops.serverless import job_cancel, job_logs, job_run, job_wait
from emr_platform.spec.settings import CONFIG_DIR

# --- entry point ---------------------------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse, whose errors (a bad value, a missing or unknown argument) are one ``OpsError`` line with exit code
    2 instead of its usage text; ``--help`` is as usual."""

    def error(self, message: str) -> NoReturn:
        problem, _, fix = message.partition(". Fix: ")
        raise OpsError(one_line(problem, 300), fix or f"see {self.prog} --help", code=2)


def parser() -> argparse.ArgumentParser:
    """The command line; every value is checked by its ``type=`` (see the argument checks above)."""
    root = _Parser(prog="emr-platform-ops", description=__doc__.split("\n\n")[0])
    root.add_argument("--config-dir", type=Path, default=CONFIG_DIR, help="where the settings files are")
    commands = root.add_subparsers(dest="command", required=True)

    def command(name: str, handler: Any, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("environment", type=settings_name, help="the environment's name (config/<name>.yaml)")
        sub.add_argument(
            "--cluster", type=cluster_ref, help="the cluster's name in the settings, or its id (default: the only one)"
        )
        sub.set_defaults(handler=handler)
        return sub

    sub = command("status", status, "state, capacity and latest steps")
    sub.add_argument("--steps", type=step_count, default=5, help=f"how many (default 5, at most {LIST_STEPS_PAGE})")
    sub = command("submit", submit, "add a Spark step")
    sub.add_argument("script", type=script_location, help="s3:// URI, or a key in the artifacts bucket")
    sub.add_argument("--arg", type=step_arg, action="append", default=[], help="an argument of the script (repeatable)")
    sub.add_argument("--name", type=step_name, help="the step's name (default: the script's file name)")
    sub.add_argument("--execution-role", type=role_arn, help="runtime role ARN the step runs as")
    sub = command("wait", wait, "wait for a step, showing its progress")
    sub.add_argument("step_id", type=step_id)
    sub.add_argument("--timeout", type=timeout_seconds, default=3600, help="seconds (default 3600, at most a week)")
    sub.add_argument("--poll", type=poll_seconds, default=15, help="seconds between checks (default 15, 0.1 to 3600)")
    sub = command("logs", logs, "a step's stderr or stdout")
    sub.add_argument("step_id", type=step_id)
    sub.add_argument("--stream", choices=["stderr", "stdout", "controller", "syslog"], default="stderr")
    sub = command("resize", resize, "set the task capacity")
    sub.add_argument("--task", type=task_capacity, required=True, help="task units (fleet) or instances (group)")
    sub.add_argument("--market", choices=["spot", "on-demand"], default="spot", help="fleets only (default spot)")
    command("terminate", terminate, "terminate the cluster").add_argument("--yes", action="store_true")
    sub = commands.add_parser("run", help="start a run of a transient cluster")
    sub.add_argument("environment", type=settings_name, help="the environment's name (config/<name>.yaml)")
    sub.add_argument("transient", type=settings_name, help="the transient cluster's name in the settings")
    sub.add_argument(
        "--run-name", type=execution_name, help="the execution's name, part of the cluster's name (default: a UUID)"
    )
    sub.set_defaults(handler=run)
    _serverless_commands(commands)
    sub = command(
        "preflight", preflight, "before a deployment: refuse when a deleted stack kept what it would collide with"
    )
    sub.set_defaults(deployed=False)
    sub = command("adopt", adopt, "after a deletion: write the cdk import mapping of what the deleted stack kept")
    sub.add_argument("--output", type=Path, help="the mapping file (default: import-<environment>.json)")
    sub.set_defaults(deployed=False)
    sub = command(
        "migrate", migrate, "before the first per_cluster deployment: the cdk import mappings of the cluster stacks"
    )
    sub.add_argument("--assembly", type=Path, default=Path("cdk.out"), help="the synthesis (default cdk.out)")
    return root


def _serverless_commands(commands: Any) -> None:
    """job-run, job-wait and job-cancel: EMR Serverless applications by their names in the settings."""
    sub = commands.add_parser("job-run", help="start a Spark job run on an EMR Serverless application")
    sub.add_argument("environment", type=settings_name, help="the environment's name (config/<name>.yaml)")
    sub.add_argument("application", type=settings_name, help="the application's name in the settings")
    sub.add_argument("script", type=script_location, help="s3:// URI, or a key in the artifacts bucket")
    sub.add_argument("--arg", type=step_arg, action="append", default=[], help="an argument of the script (repeatable)")
    sub.add_argument("--name", type=step_name, help="the job run's name (default: the script's file name)")
    sub.set_defaults(handler=job_run)
    for name, handler, text in (
        ("job-wait", job_wait, "wait for an EMR Serverless job run, showing its states"),
        ("job-logs", job_logs, "an EMR Serverless job run's driver stderr or stdout"),
        ("job-cancel", job_cancel, "cancel an EMR Serverless job run"),
    ):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("environment", type=settings_name, help="the environment's name (config/<name>.yaml)")
        sub.add_argument("application", type=settings_name, help="the application's name in the settings")
        sub.add_argument("job_run_id", type=job_run_id)
        if name == "job-logs":
            sub.add_argument("--stream", choices=["stderr", "stdout"], default="stderr")
        if name == "job-wait":
            sub.add_argument("--timeout", type=timeout_seconds, default=3600, help="seconds (default 3600)")
            sub.add_argument("--poll", type=poll_seconds, default=15, help="seconds between checks (default 15)")
        sub.set_defaults(handler=handler)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; one line on stderr and a non-zero exit on any failure of the arguments or of AWS (see
    :func:`explain`). Anything else is a bug of this program and keeps its traceback."""
    try:
        args = parser().parse_args(argv)
        env = open_environment(args.environment, args.config_dir, deployed=getattr(args, "deployed", True))
        return int(args.handler(env, args))
    except OpsError as error:
        failure = error
    except (ClientError, BotoCoreError) as error:
        failure = explain(error)
    except BrokenPipeError:
        # The reader of stdout went away (``logs ... | head``): not an error of the command. Point stdout at
        # /dev/null so that Python's flush at exit raises nothing either (the recipe of Python's signal docs).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    print(f"error: {one_line(str(failure), 1000)}", file=sys.stderr)
    return failure.code


if __name__ == "__main__":
    sys.exit(main())
