"""Times AdapterHub's `adapters` library for benchmarks/adapter_step.py, in its own venv.

AdapterHub pins transformers 4.57 and its import name is `adapters`, like ours, so it cannot
share our process: adapter_step.py starts this script with `.venv-adapterhub/bin/python`
(`make adapterhub-venv`) and talks to it in JSON lines on stdin/stdout. This file imports only
torch, transformers and AdapterHub; the script's directory (benchmarks/) holds no `adapters`.

Requests (one JSON object per line) and replies:
  {"cmd": "load", "model_dir": D, "batch": F, "head": [names], "device": "cpu"}  -> {"ok": true}
  {"cmd": "add", "key": K, "method": M, "config": {...our resolved config...}}
      -> {"ok": true, "trainable": n} or {"ok": false, "error": "..."}
  {"cmd": "time", "key": K, "phase": "train"|"infer", "reps": n} -> {"ok": true, "ms": [...]}
The model comes from the parent's save_pretrained (same weights, same head) and the batch from
its torch.save, so both libraries step the same model on the same tokens. Timing is the one of
pipeline/probes.py (perf_counter on CPU, CUDA events on GPU), re-stated here because that module
cannot be imported under transformers 4.57.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import sys
import time

import torch


def time_step(step, device: torch.device) -> float:
    if device.type == "cuda":
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        torch.cuda.synchronize()
        start.record()
        step()
        end.record()
        torch.cuda.synchronize()
        return start.elapsed_time(end)
    t0 = time.perf_counter()
    step()
    return (time.perf_counter() - t0) * 1e3


def adapterhub_setup(model, method: str, config: dict) -> None:
    """Add and activate AdapterHub's version of our method with our resolved config's values."""
    import adapters as ah

    def bottleneck(cls, **extra):
        return cls(reduction_factor=config["reduction_factor"],
                   non_linearity=config["activation"], **extra)

    if method == "houlsby":
        setup = bottleneck(ah.DoubleSeqBnConfig)
    elif method == "pfeiffer":
        setup = bottleneck(ah.SeqBnConfig)
    elif method == "adapterdrop":
        if config["robust"] or config["architecture"] != "pfeiffer":
            raise ValueError("only specialized AdapterDrop on Pfeiffer adapters is mapped")
        # AdapterHub's specialized AdapterDrop: no adapters in the left-out layers.
        setup = bottleneck(ah.SeqBnConfig, leave_out=list(range(config["drop_first_n"])))
    elif method == "phm":  # PHM-Adapter: own rule A and full B_i per layer (Compacter §3.1)
        setup = bottleneck(ah.DoubleSeqBnConfig, phm_layer=True, phm_dim=config["phm_dim"],
                           shared_phm_rule=False, factorized_phm_W=False)
    elif method in ("compacter", "compacterpp"):
        cls = ah.CompacterConfig if method == "compacter" else ah.CompacterPlusPlusConfig
        setup = bottleneck(cls, phm_dim=config["phm_dim"], phm_rank=config["rank"])
    elif method == "lora":
        roles = {"query": "q", "key": "k", "value": "v"}
        setup = ah.LoRAConfig(r=config["rank"], alpha=config["alpha"], dropout=config["dropout"],
                              attn_matrices=[roles[m] for m in config["target_modules"]])
    elif method == "prompt_tuning":
        setup = ah.PromptTuningConfig(prompt_length=config["num_tokens"])
    elif method == "fusion":
        if config["drop_first_n"] or config["implementation"] != "iterative":
            raise ValueError("only full-depth iterative fusion is mapped")
        names = [f"task{i}" for i in range(config["num_adapters"])]
        for name in names:
            model.add_adapter(name, config=bottleneck(ah.SeqBnConfig))
        fuse = ah.composition.Fuse(*names)
        model.add_adapter_fusion(fuse)
        model.train_adapter_fusion(fuse)  # adapters frozen, fusion trained (as ours)
        return
    else:
        raise ValueError(f"AdapterHub has no mapping for {method!r} here")
    model.add_adapter(method, config=setup)
    model.train_adapter(method)  # freezes the base model, trains and activates the adapter
    if config.get("train_layer_norm"):  # ours trains the model's layer norms (Compacter §2.2)
        for name, p in model.named_parameters():
            if "LayerNorm" in name or "layer_norm" in name:
                p.requires_grad_(True)


def main() -> int:
    import adapters as ah
    from transformers import AutoModelForSequenceClassification

    # "There are adapters available but none are activated" is logged between add_adapter and
    # train_adapter, before activation; the forward passes timed here all have them active.
    logging.getLogger("adapters").setLevel(logging.ERROR)
    reply_to = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    sys.stdout = sys.stderr  # library prints must not corrupt the replies
    base = batch = device = head = None
    variants: dict[str, dict] = {}

    for line in sys.stdin:
        req = json.loads(line)
        try:
            if req["cmd"] == "load":
                device = torch.device(req["device"])
                base = AutoModelForSequenceClassification.from_pretrained(req["model_dir"])
                batch = {k: v.to(device) for k, v in torch.load(req["batch"], weights_only=True).items()}
                head = set(req["head"])
                reply = {"ok": True, "transformers": __import__("transformers").__version__,
                         "adapters": ah.__version__}
            elif req["cmd"] == "add":
                model = copy.deepcopy(base)
                ah.init(model)
                adapterhub_setup(model, req["method"], req["config"])
                for name, p in model.named_parameters():
                    if name in head:
                        p.requires_grad_(True)  # the task head trains, as in ours and peft
                model.to(device)
                params = [p for p in model.parameters() if p.requires_grad]
                variants[req["key"]] = {"model": model,
                                        "optimizer": torch.optim.AdamW(params, lr=1e-5)}
                reply = {"ok": True, "trainable": sum(p.numel() for p in params)}
            elif req["cmd"] == "time":
                v = variants[req["key"]]
                model, optimizer = v["model"], v["optimizer"]
                inputs = {k: t for k, t in batch.items() if k != "labels"}

                def train():
                    model.train()
                    model(**batch).loss.backward()
                    optimizer.step()
                    optimizer.zero_grad(set_to_none=True)

                def infer():
                    model.eval()
                    with torch.no_grad():
                        model(**inputs)

                step = train if req["phase"] == "train" else infer
                reply = {"ok": True, "ms": [time_step(step, device) for _ in range(req["reps"])]}
            else:
                reply = {"ok": False, "error": f"unknown cmd {req['cmd']!r}"}
        except Exception as e:  # reported to the parent, which prints it as a skipped variant
            reply = {"ok": False, "error": f"{type(e).__name__}: {str(e).splitlines()[0][:160]}"}
        reply_to.write(json.dumps(reply) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
