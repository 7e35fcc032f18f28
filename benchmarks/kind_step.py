"""Train- and inference-step time of the new task heads (issue 10): a multiple-choice batch
(COPA's shape: [batch, 2 choices, seq]) and an extractive-QA batch (start/end logits), full
fine-tuning vs Pfeiffer vs LoRA, each beside its frozen-base floor.

    .venv/bin/python benchmarks/kind_step.py --model minilm --batch 16 --seq 64 --rounds 3

The floor (benchmarks/adapter_step.py): the model frozen, one trainable scalar on the input of
the lowest block where the method trains; floor/train says how close an adapter gets to it
(adapter_step's rule: within 10% for classification). Rounds are interleaved so drifts of the
machine hit every variant alike; medians over all rounds after warm-up. Prints a table; asserts
nothing. The QA inference step drops the start/end targets (the kind's target keys).

Run 2026-12-02 05:50–05:57 UTC with the command above (2 threads, nothing else running): floor/
train 1.15 / 0.93 (multiple choice, Pfeiffer / LoRA) and 0.92 / 1.09 (extractive QA), all within
the 10% rule; train 1.36–1.64× faster than full fine-tuning. The table is in README.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import adapters  # noqa: E402
from benchmarks.adapter_step import floor_model, lowest_trainable_block, step_timers  # noqa: E402
from pipeline.kinds import get_kind  # noqa: E402
from pipeline.probes import _timer  # noqa: E402
from pipeline.tasks import get_task  # noqa: E402

KINDS = {"multiple_choice": "copa", "extractive_qa": "squad"}
METHODS = ("full", "pfeiffer", "lora")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="minilm")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=64)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=2)
    args = ap.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    _, time_step = _timer(device)
    print(f"model {args.model}, batch {args.batch} x seq {args.seq}, {args.rounds} rounds x "
          f"{args.reps} reps, device {device}, torch threads {torch.get_num_threads()}\n")
    print("| head | method | train ms | floor ms | floor/train | infer ms | rel. speed train "
          "| rel. speed infer |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for kind_name, task_name in KINDS.items():
        kind, task = get_kind(kind_name), get_task(task_name)
        variants = {}
        for method in METHODS:
            model = kind.load_model(args.model, task, seed=0)
            adapters.apply_method(model, method)
            model.to(device)
            batch = kind.random_batch(model, args.seq, args.batch, device)
            variants[method] = step_timers(model, batch, time_step, kind.target_keys)
            if method != "full":
                floor = floor_model(model, lowest_trainable_block(model) or 0)
                variants[f"floor:{method}"] = step_timers(floor, batch, time_step,
                                                          kind.target_keys)
        times = {k: {"train": [], "infer": []} for k in variants}
        for phase in ("train", "infer"):
            for k in variants:
                variants[k][phase](args.warmup)
        for _ in range(args.rounds):  # interleaved: every variant each round, in turn
            for k in variants:
                for phase in ("train", "infer"):
                    times[k][phase] += variants[k][phase](args.reps)
        med = {k: {p: statistics.median(v) for p, v in t.items()} for k, t in times.items()}
        full = med["full"]
        for method in METHODS:
            train, infer = med[method]["train"], med[method]["infer"]
            floor = med.get(f"floor:{method}", {}).get("train")
            floor_ms = "-" if floor is None else f"{floor:.0f}"
            ratio = "-" if floor is None else f"{floor / train:.2f}"
            print(f"| {kind_name} | {method} | {train:.0f} | {floor_ms} | {ratio} | {infer:.0f} | "
                  f"{full['train'] / train:.2f} | {full['infer'] / infer:.2f} |")


if __name__ == "__main__":
    main()
