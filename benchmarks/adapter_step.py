"""Train- and inference-step time of every method, relative to full fine-tuning (issue 3).

    .venv/bin/python benchmarks/adapter_step.py --model tiny-bert --batch 8 --seq 64
    .venv/bin/python benchmarks/adapter_step.py --model bert-base --device cuda --reps 50

For each method (registry defaults), on the same model and batch:
- train step (forward, loss, backward, AdamW step, zero_grad) and inference step (no_grad
  forward), timed as pipeline/probes.py times them (CUDA events or perf_counter);
- relative speed t_full / t_method (AdapterDrop A.1: > 1 is faster than full fine-tuning);
- the method's frozen-base floor: the whole model frozen, plus one trainable scalar multiplying
  the input of the lowest block where the method has a trainable module (the embeddings' output
  when the method trains the embeddings or the input, like prompt tuning and Intrinsic-SAID):
  forward, then backward through activations only from there, no weight gradients. A method's
  train step can't beat its floor; floor/train says how close it gets;
- the same method through peft where peft has it (LoRA; prompt tuning on encoders: peft cannot
  prompt T5ForSequenceClassification, which refuses inputs_embeds).
Rounds are interleaved (every variant runs ``reps`` steps per round, in turn) so that drifts of
the machine hit all variants alike; the table shows medians over all rounds after warm-up.
AdapterHub's `adapters` (transformers 4.57, its own venv) is not compared here.
Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import adapters  # noqa: E402
from adapters.insertion import blocks  # noqa: E402
from pipeline.models import load_model  # noqa: E402
from pipeline.probes import _timer, random_batch  # noqa: E402


def make_batch(model, seq: int, batch: int, device) -> dict:
    b = random_batch(model, seq, batch, device)
    eos = getattr(model.config, "eos_token_id", None)
    if model.config.model_type == "t5" and eos is not None:
        b["input_ids"][:, -1] = eos  # T5ForSequenceClassification pools at the EOS token
    return b


def lowest_trainable_block(model) -> int | None:
    """Index (in blocks() order) of the lowest block holding a trainable parameter; None when
    something below the blocks trains (embeddings, prompt, SAID's θ), i.e. the floor starts at
    the first block's input."""
    base_ids = {id(p) for p in model.base_model.parameters()}
    head_ids = {id(p) for p in adapters.head_parameters(model)}
    in_blocks = {}
    for i, (_, block) in enumerate(blocks(model)):
        for p in block.parameters():
            in_blocks.setdefault(id(p), i)
    lowest = None
    for p in model.parameters():
        if not p.requires_grad or id(p) in head_ids or id(p) not in base_ids:
            continue
        i = in_blocks.get(id(p))
        if i is None:
            return 0  # trains something outside the blocks: the floor starts at block 0
        lowest = i if lowest is None else min(lowest, i)
    return lowest


def floor_model(model, block_index: int):
    """A frozen copy of the base model with one trainable scalar on a block's input."""
    floor = copy.deepcopy(model)
    for p in floor.parameters():
        p.requires_grad_(False)
    scale = torch.nn.Parameter(torch.ones((), device=next(floor.parameters()).device))
    floor.register_parameter("floor_scale", scale)

    def scale_input(module, args, kwargs):
        if args:
            return (args[0] * scale,) + args[1:], kwargs
        return args, dict(kwargs, hidden_states=kwargs["hidden_states"] * scale)

    blocks(floor)[block_index][1].register_forward_pre_hook(scale_input, with_kwargs=True)
    return floor


def peft_model(model_name: str, method: str, device):
    try:
        from peft import LoraConfig, PromptTuningConfig, TaskType, get_peft_model
    except ImportError:
        return None
    base = load_model(model_name, num_labels=2, seed=0)
    t5 = base.config.model_type == "t5"
    head = ["classification_head"] if t5 else ["classifier", "pooler"]
    if method == "lora":
        c = adapters.make_config("lora")
        roles = {"query": "q", "value": "v", "key": "k"} if t5 else {}
        config = LoraConfig(task_type=TaskType.SEQ_CLS, r=c.rank, lora_alpha=c.alpha,
                            lora_dropout=c.dropout, modules_to_save=head,
                            target_modules=[roles.get(r, r) for r in c.target_modules])
    elif method == "prompt_tuning" and not t5:
        c = adapters.make_config("prompt_tuning")
        config = PromptTuningConfig(task_type=TaskType.SEQ_CLS, num_virtual_tokens=c.num_tokens,
                                    modules_to_save=head)
    else:
        return None
    return get_peft_model(base, config).to(device)


def step_fns(model, batch):
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-5)
    inputs = {k: v for k, v in batch.items() if k != "labels"}

    def train():
        model.train()
        model(**batch).loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def infer():
        model.eval()
        with torch.no_grad():
            model(**inputs)

    return train, infer


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="tiny-bert")
    ap.add_argument("--methods", nargs="*", default=None, help="default: every registered one")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=64)
    ap.add_argument("--reps", type=int, default=5, help="timed steps per variant per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--no-peft", action="store_true")
    args = ap.parse_args(argv)
    device = torch.device(args.device)
    timer_name, time_step = _timer(device)

    base = load_model(args.model, num_labels=2, seed=0).to(device)
    batch = make_batch(base, args.seq, args.batch, device)
    names = args.methods or sorted(adapters.METHODS)
    if "full" not in names:
        names = ["full"] + names

    # variant key -> (train_fn, infer_fn or None)
    variants: dict[str, tuple] = {}
    skipped: dict[str, str] = {}
    floors: dict[str, tuple] = {}  # floor key (block index) -> fns, shared by methods
    method_floor: dict[str, str] = {}
    for name in names:
        model = copy.deepcopy(base)
        try:
            adapters.apply_method(model, name)
        except (ValueError, TypeError) as e:
            skipped[name] = str(e)
            continue
        variants[name] = step_fns(model, batch)
        lowest = lowest_trainable_block(model)
        if lowest is not None:
            key = f"floor@block{lowest}"
            if key not in floors:
                floors[key] = step_fns(floor_model(base, lowest), batch)
            method_floor[name] = key
        if not args.no_peft:
            peft = peft_model(args.model, name, device)
            if peft is not None:
                variants[f"peft:{name}"] = step_fns(peft, batch)
    for key, fns in floors.items():
        variants[key] = (fns[0], None)

    times: dict[tuple[str, str], list[float]] = {}
    for key, (fn_train, fn_infer) in list(variants.items()):  # warm-up (builds lazy state)
        try:
            for _ in range(args.warmup):
                fn_train()
                if fn_infer:
                    fn_infer()
        except (RuntimeError, ValueError) as e:  # e.g. prompt + sequence > max positions
            skipped[key] = f"{type(e).__name__}: {str(e).splitlines()[0][:120]}"
            del variants[key]
    for _ in range(args.rounds):
        for key, (fn_train, fn_infer) in variants.items():
            for phase, fn in (("train", fn_train), ("infer", fn_infer)):
                if fn is not None:
                    times.setdefault((key, phase), []).extend(time_step(fn) for _ in range(args.reps))

    def med(key, phase):
        t = times.get((key, phase))
        return statistics.median(t) if t else None

    full_train, full_infer = med("full", "train"), med("full", "infer")
    print(f"model {args.model}, batch {args.batch} x seq {args.seq}, device {device} "
          f"({timer_name}), {args.rounds} interleaved rounds x {args.reps} reps, "
          f"warm-up {args.warmup}; medians in ms")
    print()
    print("| method | train ms | rel. speed train | floor ms | floor/train | infer ms "
          "| rel. speed infer | peft train ms | peft infer ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")

    def fmt(x, spec=".1f"):
        return "-" if x is None else format(x, spec)

    for name in names:
        if name not in variants:
            continue
        tr, inf = med(name, "train"), med(name, "infer")
        fl = med(method_floor[name], "train") if name in method_floor else None
        print(f"| {name} | {fmt(tr)} | {fmt(full_train / tr, '.2f')} "
              f"| {fmt(fl)}{'' if fl is None else ' (' + method_floor[name][6:] + ')'} "
              f"| {fmt(fl / tr if fl else None, '.2f')} | {fmt(inf)} "
              f"| {fmt(full_infer / inf, '.2f')} | {fmt(med('peft:' + name, 'train'))} "
              f"| {fmt(med('peft:' + name, 'infer'))} |")
    for name, why in skipped.items():
        print(f"- {name}: skipped ({why})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
