"""Web-server access logs, raw to curated: a sample Spark step shipped with emr-platform.

Reads access logs in the Apache / Nginx "combined" (or "common") format from ``--input``, parses each line,
writes the records as Parquet partitioned by day (``dt``) to ``--output``, and registers them as the table
``--database``.``--table`` in the Glue Data Catalog (the cluster's metastore). Re-running a day replaces only that
day's partitions (dynamic partition overwrite), so a retried step does not duplicate data. Lines that do not parse
are counted; if more than ``--max-malformed`` of them (a fraction, default 0.01) do not parse, the step fails
before it writes anything, because the input is probably not an access log.

Submit it with the operations CLI (the stack outputs its S3 URI as ``SampleJobScript``)::

    emr-platform-ops submit dev "$(aws cloudformation describe-stacks ... SampleJobScript)" \\
        --arg --input --arg s3://<raw bucket>/weblogs/ --arg --output --arg s3://<curated bucket>/weblogs/ \\
        --arg --database --arg emr_platform_dev_curated

Only the standard library is imported at module level: the parsing rules below are unit-tested without Spark.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

# One regular expression, valid for both Python's ``re`` (the tests) and Java's (Spark's regexp_extract).
# Groups: client, identity, user, time, method, path, protocol, status, bytes, referer, user agent.
LOG_PATTERN = (
    r'^(\S+) (\S+) (\S+) \[([^\]]+)\] "([A-Z]+) (\S+)(?: (HTTP/[0-9.]+))?" ([0-9]{3}) ([0-9]+|-)'
    r'(?: "([^"]*)" "([^"]*)")?'
)
FIELDS = (
    "client_ip",
    "identity",
    "user",
    "time_local",
    "method",
    "path",
    "protocol",
    "status",
    "bytes",
    "referer",
    "user_agent",
)
# Java's DateTimeFormatter pattern of the log's time: 10/Oct/2026:13:55:36 +0000.
TIME_FORMAT = "dd/MMM/yyyy:HH:mm:ss Z"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The step's arguments."""
    parser = argparse.ArgumentParser(prog="web_logs.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", required=True, help="s3:// prefix of the raw access logs (gzip is fine)")
    parser.add_argument("--output", required=True, help="s3:// prefix of the curated Parquet table")
    parser.add_argument("--database", required=True, help="Glue database of the curated zone")
    parser.add_argument("--table", default="web_logs", help="table name (default web_logs)")
    parser.add_argument(
        "--max-malformed", type=float, default=0.01, help="fraction of unparsable lines tolerated (default 0.01)"
    )
    args = parser.parse_args(argv)
    for name in ("input", "output"):
        if not str(getattr(args, name)).startswith("s3://"):
            parser.error(f"--{name} must be an s3:// URI, got {getattr(args, name)!r}")
    if not 0 <= args.max_malformed <= 1:
        parser.error(f"--max-malformed is a fraction between 0 and 1, got {args.max_malformed}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the job; 1 when too many lines are malformed."""
    args = parse_args(argv)
    from pyspark.sql import SparkSession  # type: ignore[import-not-found]  # noqa: PLC0415 - only on the cluster: parsing runs without Spark
    from pyspark.sql import functions as F  # noqa: N812, PLC0415

    spark = (
        SparkSession.builder.appName(f"web-logs -> {args.database}.{args.table}")
        .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
        .enableHiveSupport()
        .getOrCreate()
    )
    lines = spark.read.text(args.input)
    parsed = lines.select(
        *[F.regexp_extract("value", LOG_PATTERN, i + 1).alias(name) for i, name in enumerate(FIELDS)]
    ).cache()
    total = parsed.count()
    malformed = parsed.filter(F.col("client_ip") == "").count()
    print(f"{total} lines, {malformed} malformed")
    if total and malformed / total > args.max_malformed:
        print(f"error: {malformed} of {total} lines do not parse as access logs; nothing written", file=sys.stderr)
        return 1

    event_time = F.to_timestamp("time_local", TIME_FORMAT)
    records = parsed.filter(F.col("client_ip") != "").select(
        "client_ip",
        F.when(F.col("user") == "-", None).otherwise(F.col("user")).alias("user"),
        event_time.alias("event_time"),
        "method",
        "path",
        F.when(F.col("protocol") == "", None).otherwise(F.col("protocol")).alias("protocol"),
        F.col("status").cast("int").alias("status"),
        F.when(F.col("bytes") == "-", 0).otherwise(F.col("bytes").cast("long")).alias("bytes"),
        F.when(F.col("referer").isin("", "-"), None).otherwise(F.col("referer")).alias("referer"),
        F.when(F.col("user_agent") == "", None).otherwise(F.col("user_agent")).alias("user_agent"),
        F.to_date(event_time).alias("dt"),
    )
    table = f"`{args.database}`.`{args.table}`"
    if spark.catalog.tableExists(f"{args.database}.{args.table}"):
        # Dynamic partition overwrite: only the days in this input are replaced.
        records.select(*spark.table(table).columns).write.insertInto(table, overwrite=True)
    else:
        records.write.format("parquet").partitionBy("dt").option("path", args.output).saveAsTable(table)
    print(f"wrote {total - malformed} records to {table} at {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
