"""`adapterbench plan SPEC --calibrate`: time this machine once for plan's first-order guess.

Where a device has no probe records, `plan` guesses seconds per step as k × parameters × tokens
(pipeline/plan.py) with k measured on one 2-core CPU host. Hosts differ: this project's own
differ 3.9× per MiniLM training step (pipeline/device_names.py), and on the faster one that
constant put a first sweep at 9 min 29 s of device time for 2 min 31 s of training steps and
probes. A calibration times a train and an inference step of the spec's model with full
fine-tuning at (seq 128, batch 16), as a probe times a step (pipeline/probes.probe_cell, the
DESIGN.md timing rules) at the spec's ``cpus_per_trial`` torch threads, and keeps
k = seconds / (parameters × seq × batch) per phase in ``<results>/calibration/<device>.json``.
`plan` (and the sweep's forecast line) use that k until this device has probe records.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from pipeline.lease import write_json

CELL = (128, 16)  # (seq_len, batch): a cell of every paper spec
REPS, WARMUP = 5, 2


def calibration_path(results, device: str) -> Path:
    return Path(results) / "calibration" / (re.sub(r"[^A-Za-z0-9._-]+", "_", device) + ".json")


def read_calibration(results, device: str) -> dict | None:
    """The stored calibration of ``device`` (torch-free: plan reads it), or None."""
    try:
        data = json.loads(calibration_path(results, device).read_text())
    except (OSError, ValueError):
        return None
    return data if data.get("device") == device else None


def calibrate(model_name: str, threads: int, results, device_name: str) -> dict:
    """Time the cell on this machine, store and return the calibration."""
    import torch

    from pipeline.models import load_model
    from pipeline.probes import probe_cell
    from pipeline.trial import device_name as torch_device_name

    torch.set_num_threads(max(1, threads))
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if torch_device_name(device) != device_name:
        raise ValueError(f"only this machine can be calibrated ({torch_device_name(device)}), "
                         f"not {device_name}")
    model = load_model(model_name)
    params = sum(p.numel() for p in model.parameters())
    seq, batch = CELL
    k, ms = {}, {}
    for phase in ("train", "inference"):
        result = probe_cell(model, phase, seq, batch, REPS, WARMUP, device)
        if result.status != "ok":
            raise RuntimeError(f"the {phase} step at {seq} × {batch} did not fit: {result.status}")
        ms[phase] = result.median_ms
        k[phase] = result.median_ms / 1000 / (params * seq * batch)
    data = dict(device=device_name, model=model_name, params=params, threads=threads,
                seq_len=seq, batch_size=batch, reps=REPS, warmup=WARMUP, median_ms=ms, k=k,
                measured_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    path = calibration_path(results, device_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, data)
    return data
