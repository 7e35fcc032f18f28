"""Where every second of each sweep went (issue 12): ``tables/time.md``, from the runs' phase
times (pipeline/phases.py).

Per sweep: the seconds of every phase summed over its trials, the trials' wall time, the sweep's
wall time (first start to last finish of its records; a resumed sweep's pauses count), and
- busy share = (train steps + eval + probes + sources) ÷ Σ trial wall: how much of a trial was device work;
- busy per wall second = (train steps + eval + probes + sources) ÷ sweep wall: device-seconds of work per
  second of the sweep (at most the concurrency; below it, trials waited or Ray sat idle).
"""

from __future__ import annotations

import datetime as dt
import json

from pipeline.phases import PHASES

BUSY = ("train_steps", "eval", "probes", "sources")  # sources: AdapterFusion's adapters trained


def _seconds(iso_start: str, iso_end: str) -> float:
    return (dt.datetime.fromisoformat(iso_end) - dt.datetime.fromisoformat(iso_start)).total_seconds()


def markdown(runs) -> str:
    """``runs``: the runs frame of pipeline.tables (needs sweep, phase_s, wall_s, started_at,
    finished_at)."""
    lines = ["# Where the time went, per sweep", "",
             "Seconds summed over each sweep's trials (records with phase times only: trials of "
             "schema ≥ 3). Busy = train steps + eval + probes + sources (adapters trained for "
             "AdapterFusion).", "",
             "| sweep | trials | " + " | ".join(PHASES) + " | Σ trial wall | sweep wall | "
             "busy share | busy per wall s |",
             "|---|---:|" + "---:|" * (len(PHASES) + 4)]
    timed = runs[runs["phase_s"].notna()] if len(runs) else runs
    if not len(timed):
        return "\n".join(lines + ["| – | 0 |" + " – |" * (len(PHASES) + 4), "",
                                  "No run record has phase times yet."]) + "\n"
    for sweep, group in sorted(timed.groupby("sweep"), key=lambda kv: kv[0]):
        totals = dict.fromkeys(PHASES, 0.0)
        for text in group["phase_s"]:
            for name, seconds in json.loads(text).items():
                totals[name] = totals.get(name, 0.0) + seconds
        trial_wall = float(group["wall_s"].sum())
        sweep_wall = _seconds(group["started_at"].min(), group["finished_at"].max())
        busy = sum(totals[p] for p in BUSY)
        cells = [f"{totals[p]:.1f}" for p in PHASES]
        lines.append(f"| {sweep} | {len(group)} | " + " | ".join(cells) +
                     f" | {trial_wall:.1f} | {sweep_wall:.0f} | "
                     f"{busy / trial_wall if trial_wall else 0:.0%} | "
                     f"{busy / sweep_wall if sweep_wall else 0:.2f} |")
    return "\n".join(lines) + "\n"
