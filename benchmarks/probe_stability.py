"""How repeatable is one probe? The same probe cell measured K times; the spread of its medians.

    .venv/bin/python benchmarks/probe_stability.py [--model minilm] [--method pfeiffer]
        [--seq 128] [--batch 16] [--reps 10] [--warmup 3] [--repeats 5] [--phase train]

Prints each run's median/p10/p90 and the coefficient of variation (std / mean) of the medians.
Goal (issue 4): CV <= 3% on CPU at the demo cell (MiniLM, seq 128, batch 16). Not a test: a
number to read, on a machine as quiet as you can make it.
"""

from __future__ import annotations

import argparse
import statistics

import torch

import adapters
from pipeline.models import load_model
from pipeline.probes import probe_cell


def arguments(seq: int = 128, batch: int = 16, threads: int = 2) -> argparse.ArgumentParser:
    """The probe cell and repetition options (benchmarks/paired_ratio_cv.py shares them)."""
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="minilm")
    p.add_argument("--method", default="pfeiffer")
    p.add_argument("--phase", default="train", choices=["train", "inference"])
    p.add_argument("--seq", type=int, default=seq)
    p.add_argument("--batch", type=int, default=batch)
    p.add_argument("--reps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=threads)
    return p


def main() -> None:
    args = arguments().parse_args()
    torch.set_num_threads(args.threads)
    model = load_model(args.model, num_labels=2)
    adapters.apply_method(model, args.method)
    medians = []
    print(f"{args.model} {args.method} {args.phase} seq {args.seq} batch {args.batch}, "
          f"{args.reps} reps after {args.warmup} warm-up, {args.threads} threads")
    print("| run | median ms | p10 ms | p90 ms |\n|---|---|---|---|")
    for i in range(args.repeats):
        r = probe_cell(model, args.phase, args.seq, args.batch, args.reps, args.warmup,
                       torch.device("cpu"))
        medians.append(r.median_ms)
        print(f"| {i + 1} | {r.median_ms:.1f} | {r.p10_ms:.1f} | {r.p90_ms:.1f} |", flush=True)
    cv = statistics.stdev(medians) / statistics.mean(medians)
    print(f"\nmedian of medians {statistics.median(medians):.1f} ms; CV of medians {100 * cv:.2f}%")


if __name__ == "__main__":
    main()
