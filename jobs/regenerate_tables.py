"""Regenerate every results table and figure from the Parquet records (scheduled job).

    .venv/bin/python jobs/regenerate_tables.py --results /data/adapterbench/results
    .venv/bin/python jobs/regenerate_tables.py --results results --watch 600   # simple loop

Examples for cron, a systemd timer and a Kubernetes CronJob are in jobs/schedule/. Safe to run
while sweeps write records and while another regeneration runs (lock, staging + rename); a
corrupt record file is skipped with a warning naming it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

from pipeline.tables.schedule import once, watch  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--results", default="results", help="results directory (default ./results)")
    p.add_argument("--watch", type=float, metavar="SECONDS",
                   help="regenerate every SECONDS until interrupted")
    args = p.parse_args(argv)
    return watch(args.results, args.watch) if args.watch else once(args.results)


if __name__ == "__main__":
    raise SystemExit(main())
