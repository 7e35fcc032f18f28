"""The constants of `adapterbench plan`'s first-order guess on a device with no probe records.

    .venv/bin/python benchmarks/plan_constant.py            # MiniLM, 1 thread, 7 reps (2 warm-up)

k = seconds per (parameter × token) of one train step (forward, loss, backward, AdamW, zero_grad)
and one inference step (no_grad forward) of all-MiniLM-L6-v2 at one torch thread (a trial with
cpus_per_trial: 1), at two (seq_len, batch) cells of 2,048 tokens. Timed in wall and in process
CPU time: on a shared host where other tenants keep the cores busy, the CPU time is nearer what a
quiet machine's wall time would be. Prints a table and the load average; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.models import load_model  # noqa: E402
from pipeline.probes import random_batch  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="minilm")
    p.add_argument("--reps", type=int, default=7)
    p.add_argument("--warmup", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    model = load_model(args.model)
    params = sum(q.numel() for q in model.parameters())
    optimizer = torch.optim.AdamW([q for q in model.parameters() if q.requires_grad], lr=1e-5)
    load_before = os.getloadavg()
    print(f"| phase | seq × batch | wall ms | CPU ms | k (wall) | k (CPU) |  {args.model}: "
          f"{params:,} params")
    print("|---|---|---:|---:|---:|---:|")
    for seq, batch in [(64, 32), (128, 16)]:
        inputs = random_batch(model, seq, batch, torch.device("cpu"))
        for phase in ("train", "inference"):
            walls, cpus = [], []
            for rep in range(args.warmup + args.reps):
                wall, cpu = time.perf_counter(), time.process_time()
                if phase == "train":
                    model.train()
                    model(**inputs).loss.backward()
                    optimizer.step()
                    optimizer.zero_grad(set_to_none=True)
                else:
                    model.eval()
                    with torch.no_grad():
                        model(**{k: v for k, v in inputs.items() if k != "labels"})
                if rep >= args.warmup:
                    walls.append(time.perf_counter() - wall)
                    cpus.append(time.process_time() - cpu)
            w, c = statistics.median(walls), statistics.median(cpus)
            work = params * seq * batch
            print(f"| {phase} | {seq} × {batch} | {w * 1000:,.0f} | {c * 1000:,.0f} "
                  f"| {w / work:.3g} | {c / work:.3g} |", flush=True)
    print("load average (1, 5, 15 min) before: " + ", ".join(f"{x:.2f}" for x in load_before)
          + "; after: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
