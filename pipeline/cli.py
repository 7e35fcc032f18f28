"""The `adapterbench` command (also `python -m pipeline`).

    adapterbench sweep SPEC [--results DIR] [--tracking-uri URI] [--address ADDR] [--max-concurrent N]
    adapterbench tables [--results DIR] [--watch SECONDS]
    adapterbench methods [--model M] [--json]
    adapterbench tasks [--data-dir DIR]
    adapterbench validate SPEC
    adapterbench plan SPEC [--results DIR] [--device NAME] [--calibrate]
    adapterbench mlflow-sync [--results DIR] [--tracking-uri URI]
    adapterbench claims [--results DIR]

Bad input (a spec that cannot run) prints one line on stderr and exits with code 2, before any
trial starts; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import sys
import traceback

EXIT_BAD_INPUT = 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="adapterbench", description=__doc__.split("\n")[0])
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("sweep", help="run every grid point of a spec (skips finished ones)")
    s.add_argument("spec")
    s.add_argument("--results", default="results", help="results directory (default ./results)")
    s.add_argument("--tracking-uri", help="MLflow URI (default $MLFLOW_TRACKING_URI or "
                   "sqlite:///<results>/mlflow.db)")
    s.add_argument("--address", help="Ray cluster address (default: a local cluster)")
    s.add_argument("--max-concurrent", type=int, help="override resources.max_concurrent_trials")

    t = sub.add_parser("tables", help="regenerate every table from the Parquet records")
    t.add_argument("--results", default="results")
    t.add_argument("--watch", type=float, metavar="SECONDS",
                   help="regenerate every SECONDS until interrupted")

    v = sub.add_parser("validate", help="check a spec without running it")
    v.add_argument("spec")

    f = sub.add_parser("plan", help="forecast a spec's device time from the records (no run)")
    f.add_argument("spec")
    f.add_argument("--results", default="results")
    f.add_argument("--device", help="the device trials will run on, as records name it "
                   "(default: this machine's)")
    f.add_argument("--calibrate", action="store_true", help="first time a train and an "
                   "inference step of the spec's model on this machine, for the first-order "
                   "guess where it has no probe records (kept in RESULTS/calibration/)")

    y = sub.add_parser("mlflow-sync", help="create the MLflow runs the records have and MLflow "
                       "lacks (idempotent)")
    y.add_argument("--results", default="results")
    y.add_argument("--tracking-uri", help="MLflow URI (default as for sweep)")

    c = sub.add_parser("claims", help="the papers' headline claims, a verdict per device from "
                       "the records (markdown)")
    c.add_argument("--results", default="results")

    t = sub.add_parser("tasks", help="list tasks: kind, metric, the splits the data mirror "
                       "has and the hub source of the rest")
    t.add_argument("--data-dir", help="the data mirror (default: $ADAPTERBENCH_DATA_DIR, else "
                   "../shared/data beside the repository)")

    m = sub.add_parser("methods", help="list methods with trainable / total parameter counts")
    m.add_argument("--model", default="minilm")
    m.add_argument("--json", action="store_true")
    return p


def _validate(spec_path: str) -> int:
    from pipeline.grid import expand
    from pipeline.spec import load_spec

    spec = load_spec(spec_path)
    points = expand(spec)
    methods = ", ".join(f"{m.name}(lrs={list(m.lrs)})" for m in spec.methods)
    print(f"{spec_path}: ok — sweep {spec.name!r}, model {spec.model}, {len(points)} grid points "
          f"({methods} × tasks {list(spec.tasks)} × seeds {list(spec.seeds)})")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "claims":  # reads records only: no torch import (pipeline.spec's)
        from pipeline.claims.ledger import main as claims_main

        return claims_main(args.results)
    if args.command == "tasks":  # the registry and the mirror's files only: no torch either
        from pipeline.task_listing import main as tasks_main

        return tasks_main(args.data_dir)
    from pipeline.spec import SpecError

    try:
        if args.command == "validate":
            return _validate(args.spec)
        if args.command == "plan":
            from pipeline.plan import main as plan_main

            return plan_main(args.spec, args.results, args.device, args.calibrate)
        if args.command == "sweep":
            from pipeline.sweep import run_sweep

            counts = run_sweep(args.spec, args.results, args.tracking_uri, args.address,
                               args.max_concurrent)
            return 0 if counts["failed"] + counts["oom"] + counts["not_run"] == 0 else 1
        if args.command == "tables":
            from pipeline.tables import regenerate

            if args.watch:
                from pipeline.tables.schedule import watch

                return watch(args.results, args.watch)
            for path in regenerate(args.results):
                print(path)
            return 0
        if args.command == "mlflow-sync":
            from tracking.sync import sync

            sync(args.results, args.tracking_uri)
            return 0
        if args.command == "methods":
            from adapters.listing import main as methods_main

            return methods_main(["--model", args.model] + (["--json"] if args.json else []))
    except SpecError as e:
        if args.debug:
            traceback.print_exc()
        print(f"adapterbench: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
