"""Regenerate on a schedule: once (cron, systemd timer, Kubernetes CronJob) or in a loop."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from pipeline.tables.regen import regenerate


def once(results: str | Path, quiet: bool = False) -> int:
    t0 = time.perf_counter()
    paths = regenerate(results)
    if not quiet:
        print(f"[adapterbench] {len(paths)} table/figure files regenerated in "
              f"{time.perf_counter() - t0:.2f} s under {Path(results).resolve()}", flush=True)
    return 0


def watch(results: str | Path, seconds: float, rounds: int | None = None) -> int:
    """Regenerate every ``seconds`` (after the previous one finished) until interrupted.
    A failed round is reported and the loop goes on: the previous files stay in place."""
    done = 0
    try:
        while rounds is None or done < rounds:
            try:
                once(results)
            except Exception as e:  # noqa: BLE001 - one bad round must not end the loop
                print(f"[adapterbench] table regeneration failed: {e}", file=sys.stderr, flush=True)
            done += 1
            if rounds is None or done < rounds:
                time.sleep(seconds)
    except KeyboardInterrupt:
        pass
    return 0
