"""Train- and inference-step time of every method, relative to full fine-tuning (issue 3).

    .venv/bin/python benchmarks/adapter_step.py --model tiny-bert --batch 8 --seq 64
    .venv/bin/python benchmarks/adapter_step.py --model bert-base --device cuda --reps 50
    make adapterhub-venv   # once: adds AdapterHub's columns (else they show "-")

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
  prompt T5ForSequenceClassification, which refuses inputs_embeds);
- the same method through AdapterHub's `adapters` where it has it (Houlsby, Pfeiffer, PHM,
  Compacter(++), specialized AdapterDrop, fusion, LoRA, prompt tuning), with our resolved
  config's values: it pins transformers 4.57 and is imported as `adapters`, so it runs in its own
  venv (`make adapterhub-venv`) in a subprocess (benchmarks/adapterhub_worker.py) that loads the
  same weights and batch; each peer's trainable count is printed beside ours as a check that the
  configurations are the same.
Rounds are interleaved (every variant runs ``reps`` steps per round, in turn; AdapterHub's
steps run in the subprocess while this one waits) so that drifts of the machine hit all
variants alike; the table shows medians over all rounds after warm-up.
Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
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


def step_timers(model, batch, time_step, target_keys=("labels",)) -> dict:
    """phase -> timer(reps) -> [ms] for one in-process model (inference leaves out the
    ``target_keys``: a task kind's labels)."""
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-5)
    inputs = {k: v for k, v in batch.items() if k not in target_keys}

    def train():
        model.train()
        model(**batch).loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def infer():
        model.eval()
        with torch.no_grad():
            model(**inputs)

    return {phase: (lambda reps, fn=fn: [time_step(fn) for _ in range(reps)])
            for phase, fn in (("train", train), ("infer", infer))}


class AdapterHub:
    """AdapterHub's `adapters` in its own venv (benchmarks/adapterhub_worker.py), driven over
    JSON lines; it gets the same weights and batch through files in a temporary directory."""

    def __init__(self, python: str, base, batch: dict, device):
        self.tmp = tempfile.TemporaryDirectory(prefix="adapterhub-")
        base.save_pretrained(self.tmp.name)
        torch.save({k: v.cpu() for k, v in batch.items()}, f"{self.tmp.name}/batch.pt")
        head_ids = {id(p) for p in adapters.head_parameters(base)}
        head = [n for n, p in base.named_parameters() if id(p) in head_ids]
        worker = Path(__file__).with_name("adapterhub_worker.py")
        # cwd and PYTHONPATH outside the repository: `import adapters` must find AdapterHub's.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        self.proc = subprocess.Popen([python, str(worker)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, cwd=self.tmp.name,
                                     env=env)
        self.versions = self.ask(cmd="load", model_dir=self.tmp.name, head=head,
                                 batch=f"{self.tmp.name}/batch.pt", device=str(device))

    def ask(self, **request) -> dict:
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"AdapterHub worker exited (code {self.proc.wait()})")
        reply = json.loads(line)
        if not reply.pop("ok"):
            raise RuntimeError(reply["error"])
        return reply

    def add(self, key: str, method: str, config) -> tuple[dict, int]:
        """(phase -> timer, trainable count) of AdapterHub's version of the method."""
        n = self.ask(cmd="add", key=key, method=method, config=dataclasses.asdict(config))
        return ({phase: (lambda reps, phase=phase: self.ask(cmd="time", key=key, phase=phase,
                                                            reps=reps)["ms"])
                 for phase in ("train", "infer")}, n["trainable"])

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()
        self.tmp.cleanup()


def default_adapterhub_python() -> str | None:
    python = Path(__file__).resolve().parents[1] / ".venv-adapterhub" / "bin" / "python"
    return str(python) if python.exists() else None


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
    ap.add_argument("--adapterhub-python", default=default_adapterhub_python(),
                    help="python of the AdapterHub venv (make adapterhub-venv); default "
                         ".venv-adapterhub/bin/python when it exists")
    args = ap.parse_args(argv)
    device = torch.device(args.device)
    timer_name, time_step = _timer(device)

    base = load_model(args.model, num_labels=2, seed=0).to(device)
    batch = make_batch(base, args.seq, args.batch, device)
    names = args.methods or sorted(adapters.METHODS)
    if "full" not in names:
        names = ["full"] + names
    hub = AdapterHub(args.adapterhub_python, base, batch, device) if args.adapterhub_python \
        else None

    # variant key ("houlsby", "peft:lora", "adapterhub:lora", "floor@block0") -> phase -> timer
    variants: dict[str, dict] = {}
    counts: dict[str, int] = {}  # variant key -> trainable parameters
    skipped: dict[str, str] = {}
    method_floor: dict[str, str] = {}
    for name in names:
        model = copy.deepcopy(base)
        try:
            config = adapters.apply_method(model, name)
        except (ValueError, TypeError) as e:
            skipped[name] = str(e)
            continue
        variants[name] = step_timers(model, batch, time_step)
        counts[name] = adapters.count_parameters(model)[0]
        lowest = lowest_trainable_block(model)
        if lowest is not None:
            key = method_floor[name] = f"floor@block{lowest}"
            if key not in variants:  # one floor per block, shared by the methods above it
                variants[key] = {"train": step_timers(floor_model(base, lowest), batch,
                                                      time_step)["train"]}
        if not args.no_peft:
            peft = peft_model(args.model, name, device)
            if peft is not None:
                variants[f"peft:{name}"] = step_timers(peft, batch, time_step)
                counts[f"peft:{name}"] = adapters.count_parameters(peft)[0]
        if hub is not None and name != "full":
            try:
                variants[f"adapterhub:{name}"], counts[f"adapterhub:{name}"] = hub.add(
                    f"adapterhub:{name}", name, config)
            except RuntimeError as e:  # AdapterHub lacks the method (BitFit, SAID, ...)
                skipped[f"adapterhub:{name}"] = str(e)

    times: dict[tuple[str, str], list[float]] = {}
    for key, timers in list(variants.items()):  # warm-up (builds lazy state)
        try:
            for timer in timers.values():
                timer(args.warmup)
        except (RuntimeError, ValueError) as e:  # e.g. prompt + sequence > max positions
            skipped[key] = f"{type(e).__name__}: {str(e).splitlines()[0][:120]}"
            del variants[key]
    for _ in range(args.rounds):
        for key, timers in variants.items():
            for phase, timer in timers.items():
                times.setdefault((key, phase), []).extend(timer(args.reps))
    if hub is not None:
        hub.close()

    def med(key, phase):
        t = times.get((key, phase))
        return statistics.median(t) if t else None

    full_train, full_infer = med("full", "train"), med("full", "infer")
    print(f"model {args.model}, batch {args.batch} x seq {args.seq}, device {device} "
          f"({timer_name}), {args.rounds} interleaved rounds x {args.reps} reps, "
          f"warm-up {args.warmup}; medians in ms")
    if hub is not None:
        print(f"AdapterHub: adapters {hub.versions['adapters']}, "
              f"transformers {hub.versions['transformers']} ({args.adapterhub_python})")
    print()
    print("| method | train ms | rel. speed train | floor ms | floor/train | infer ms "
          "| rel. speed infer | peft train / infer ms | AdapterHub train / infer ms "
          "| trainable (ours / peft / AdapterHub) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")

    def fmt(x, spec=".1f"):
        return "-" if x is None else format(x, spec)

    def peer(prefix, name):
        tr, inf = med(f"{prefix}:{name}", "train"), med(f"{prefix}:{name}", "infer")
        return "-" if tr is None else f"{fmt(tr)} / {fmt(inf)}"

    for name in names:
        if name not in variants:
            continue
        tr, inf = med(name, "train"), med(name, "infer")
        fl = med(method_floor[name], "train") if name in method_floor else None
        n = " / ".join(fmt(counts.get(k), ",") for k in (name, f"peft:{name}",
                                                          f"adapterhub:{name}"))
        print(f"| {name} | {fmt(tr)} | {fmt(full_train / tr, '.2f')} "
              f"| {fmt(fl)}{'' if fl is None else ' (' + method_floor[name][6:] + ')'} "
              f"| {fmt(fl / tr if fl else None, '.2f')} | {fmt(inf)} "
              f"| {fmt(full_infer / inf, '.2f')} | {peer('peft', name)} "
              f"| {peer('adapterhub', name)} | {n} |")
    for name, why in skipped.items():
        print(f"- {name}: skipped ({why})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
