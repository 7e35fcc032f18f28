"""How repeatable is a relative speed? t_full / t_pfeiffer measured K times, two ways:

    .venv/bin/python benchmarks/paired_ratio_cv.py [--model minilm] [--method pfeiffer]
        [--phase train] [--seq 64] [--batch 8] [--reps 10] [--warmup 3] [--repeats 5]

- separate: two probe_cell calls (the method, then full fine-tuning; the order alternates per
  repeat), ratio of their medians — what two trials' probes give the tables;
- paired: one paired_cell call (pipeline/paired.py): both models in turn, one rep each, on one
  batch; median of the per-pair ratios.
The two ways alternate (separate, paired, separate, …) so both see the same host over time.
Prints each repeat and the coefficient of variation (std / mean) of the K ratios per way, and the
load average before and after. Goal (issue 12): paired CV <= 2% where separate gives 7–12%. Not
a test: a number to read. Separate probes here run seconds apart; in a sweep they run in
different trials, minutes apart, so this flatters the separate way if anything.
"""

from __future__ import annotations

import os
import statistics

import torch

import adapters
from pipeline.models import load_model
from pipeline.paired import paired_cell
from pipeline.probes import probe_cell
from probe_stability import arguments  # benchmarks/ is the script's folder: on sys.path

THREADS = 1  # 2 threads on this shared 2-core host: steps 4-5x slower under load


def main() -> None:
    args = arguments(seq=64, batch=8, threads=THREADS).parse_args()
    torch.set_num_threads(args.threads)
    cpu = torch.device("cpu")
    method = load_model(args.model, num_labels=2)
    adapters.apply_method(method, args.method)
    full = load_model(args.model, num_labels=2)
    adapters.apply_method(full, "full")
    cell = (args.phase, args.seq, args.batch, args.reps, args.warmup, cpu)
    load_before = os.getloadavg()
    print(f"{args.model}: full / {args.method}, {args.phase}, seq {args.seq} batch {args.batch}, "
          f"{args.reps} reps after {args.warmup} warm-up, {args.threads} threads; "
          f"load average {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}")
    print("| repeat | separate: full ms | method ms | ratio | paired: full ms | method ms | "
          "ratio | 95% interval | ratio spread |\n|---|---|---|---|---|---|---|---|---|")
    separate, paired = [], []
    for i in range(args.repeats):
        if i % 2 == 0:
            t_m, t_f = probe_cell(method, *cell), probe_cell(full, *cell)
        else:
            t_f, t_m = probe_cell(full, *cell), probe_cell(method, *cell)
        separate.append(t_f.median_ms / t_m.median_ms)
        r = paired_cell(method, full, *cell)
        paired.append(r.ratio_median)
        print(f"| {i + 1} | {t_f.median_ms:.1f} | {t_m.median_ms:.1f} | {separate[-1]:.3f} | "
              f"{r.baseline_median_ms:.1f} | {r.times.median_ms:.1f} | {r.ratio_median:.3f} | "
              f"{r.ratio_ci_low:.3f}–{r.ratio_ci_high:.3f} | {r.ratio_spread:.2f} |", flush=True)
    load_after = os.getloadavg()
    for name, ratios in (("separate", separate), ("paired", paired)):
        cv = statistics.stdev(ratios) / statistics.mean(ratios)
        print(f"{name:8s}: mean ratio {statistics.mean(ratios):.3f}, CV {100 * cv:.2f}%")
    print(f"load average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")


if __name__ == "__main__":
    main()
