"""The stacks of an environment, from its settings: ``python -m emr_platform.tools.stacks dev [analytics]``.

Prints the CloudFormation stack names, the foundation first, one per line; with a cluster's (or a group's) name,
only the stack that holds it. ``make deploy ENV=dev STACK=analytics`` uses it to deploy one cluster stack alone.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from emr_platform.spec.errors import EmrPlatformError
from emr_platform.spec.settings import load_settings


def stack_names(environment: str, cluster: str | None = None) -> list[str]:
    """The environment's stacks, or the one of ``cluster`` (a cluster's or group's name).

    :raises EmrPlatformError: no such environment, or no such cluster in it.
    """
    settings = load_settings(environment)
    if cluster is None:
        return list(settings.stack_names())
    for suffix, clusters in settings.cluster_stacks().items():
        if cluster == suffix or cluster in clusters:
            return [settings.cluster_stack_name(suffix)]
    if cluster in {*settings.clusters, *settings.transient_clusters}:
        return [settings.stack_name]  # layout single: the one stack holds it
    raise EmrPlatformError(
        where=f"config/{environment}.yaml",
        problem="no cluster or stack group of that name",
        value=cluster,
        fix=f"use one of {', '.join(dict.fromkeys([*settings.cluster_stacks(), *settings.clusters, *settings.transient_clusters]))}",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Print the stack names; one line on stderr and exit code 2 for a bad environment or cluster."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not 1 <= len(args) <= 2:
        print("usage: python -m emr_platform.tools.stacks <environment> [<cluster or group>]", file=sys.stderr)
        return 2
    try:
        print("\n".join(stack_names(args[0], args[1] if len(args) == 2 else None)))
    except EmrPlatformError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
