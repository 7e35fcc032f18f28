"""What `ray submit` runs on the head node of a cluster: one sweep over the whole cluster.

    ray submit ray_cluster.yaml jobs/sweep.py -- jobs/specs/demo.yaml
    ray job submit --address http://127.0.0.1:8265 -- <venv>/bin/python /abs/jobs/sweep.py SPEC

It joins the running cluster (address "auto"), puts the records and Ray Tune's storage_path on
shared storage ($ADAPTERBENCH_RESULTS: an NFS path or an s3:// / gs:// URI every node reaches)
and logs to the cluster's MLflow tracking server ($MLFLOW_TRACKING_URI, else the server that
ray_cluster.yaml starts on the head: http://<head private ip>:5000). Everything else is the
`adapterbench sweep` command: same spec checks (exit 2 on bad input), same resume (grid points
with an ok record are skipped, so re-submitting a killed sweep finishes it).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def resolve_spec(spec: str) -> str:
    """`ray submit` copies this script to ~/ and runs it there: a relative spec path is looked up
    in the working directory, then in the project checkout ($ADAPTERBENCH_HOME)."""
    if Path(spec).is_absolute() or Path(spec).exists():
        return str(Path(spec).resolve())
    home = Path(os.environ.get("ADAPTERBENCH_HOME", "~/adapterbench")).expanduser()
    return str(home / spec) if (home / spec).exists() else spec  # the CLI reports a missing file


def head_tracking_uri(port: int = 5000) -> str:
    import ray.util

    return f"http://{ray.util.get_node_ip_address()}:{port}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("spec")
    p.add_argument("--results", default=os.environ.get("ADAPTERBENCH_RESULTS"),
                   help="shared results location (default $ADAPTERBENCH_RESULTS)")
    p.add_argument("--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI"))
    p.add_argument("--address", default=os.environ.get("RAY_ADDRESS", "auto"))
    p.add_argument("--max-concurrent", type=int)
    args = p.parse_args(argv)
    if not args.results:
        print("jobs/sweep.py: error: no shared results location: set $ADAPTERBENCH_RESULTS or "
              "pass --results (an NFS path or an s3:// / gs:// URI)", file=sys.stderr)
        return 2
    from pipeline.cli import main as cli

    command = ["sweep", resolve_spec(args.spec), "--results", args.results,
               "--address", args.address,
               "--tracking-uri", args.tracking_uri or head_tracking_uri()]
    if args.max_concurrent:
        command += ["--max-concurrent", str(args.max_concurrent)]
    return cli(command)


if __name__ == "__main__":
    raise SystemExit(main())
