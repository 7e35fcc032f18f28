"""`adapterbench plan SPEC --calibrate`: time this machine once for plan's first-order guess.

Where a device has no probe records, `plan` guesses seconds per step as k × parameters × tokens
(pipeline/plan.py) with k measured on one 2-core CPU host. Hosts differ: this project's own
differ 3.9× per MiniLM training step (pipeline/device_names.py), and on the faster one that
constant put a first sweep at 9 min 29 s of device time for 2 min 31 s of training steps and
probes. A calibration times a train and an inference step of the spec's model with full
fine-tuning at (seq 128, batch 16), as a probe times a step (pipeline/probes.probe_cell, the
DESIGN.md timing rules) at the spec's ``cpus_per_trial`` torch threads, and keeps
k = seconds / (parameters × seq × batch) per phase in ``<results>/calibration/``, one file per
(device, model, threads): k per parameter differs between models (an embedding table's
parameters cost next to nothing per token) and with the thread count. `plan` (and the sweep's
forecast line) use the calibration of the spec's model and threads until this device has probe
records. Local results directories only (a bucket's results have no calibration).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path

from pipeline.lease import write_json
from tracking.records import is_uri

CELL = (128, 16)  # (seq_len, batch): a cell of every paper spec
REPS, WARMUP = 5, 2


class CalibrationError(Exception):
    """A calibration that cannot be made here (another device, a bucket, a step that OOMs)."""


def calibration_path(results, device: str, model: str, threads: int) -> Path:
    """One file per (device, model, threads); the readable part may collide after the
    characters a file name cannot hold are replaced, the hash of the exact names cannot."""
    key = f"{device}\n{model}\n{threads}"
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{device}-{model}-t{threads}")[:120]
    digest = hashlib.sha256(key.encode()).hexdigest()[:10]
    return Path(results) / "calibration" / f"{readable}-{digest}.json"


def read_calibration(results, device: str, model: str, threads: int) -> dict | None:
    """The stored calibration of (device, model, threads), or None (torch-free: plan reads
    it). A file that is not one (edited, truncated) counts as none."""
    if is_uri(str(results)):
        return None
    try:
        data = json.loads(calibration_path(results, device, model, threads).read_text())
    except (OSError, ValueError):
        return None
    ok = (isinstance(data, dict) and isinstance(data.get("k"), dict)
          and all(isinstance(data["k"].get(p), (int, float)) for p in ("train", "inference"))
          and isinstance(data.get("measured_at"), str))
    same = ok and (data.get("device"), data.get("model"), data.get("threads")) == \
        (device, model, threads)
    return data if same else None


def calibrate(model_name: str, threads: int, results, device_name: str) -> dict:
    """Time the cell on this machine, store and return the calibration."""
    if is_uri(str(results)):
        raise CalibrationError(f"a calibration is kept in a local results directory, not in "
                               f"{results}")
    import torch

    from pipeline.models import load_model
    from pipeline.probes import probe_cell
    from pipeline.trial import device_name as torch_device_name

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    here = torch_device_name(device)
    if here != device_name:
        raise CalibrationError(f"only this machine can be calibrated ({here}), not {device_name}")
    threads_before = torch.get_num_threads()
    torch.set_num_threads(max(1, threads))
    try:
        model = load_model(model_name)
        params = sum(p.numel() for p in model.parameters())
        seq, batch = CELL
        k, ms = {}, {}
        for phase in ("train", "inference"):
            result = probe_cell(model, phase, seq, batch, REPS, WARMUP, device)
            if result.status != "ok":
                raise CalibrationError(f"the {phase} step of {model_name} at {seq} × {batch} "
                                       f"did not fit on {device_name}: {result.status}")
            ms[phase] = result.median_ms
            k[phase] = result.median_ms / 1000 / (params * seq * batch)
    finally:
        torch.set_num_threads(threads_before)
    data = dict(device=device_name, model=model_name, params=params, threads=threads,
                seq_len=seq, batch_size=batch, reps=REPS, warmup=WARMUP, median_ms=ms, k=k,
                measured_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    path = calibration_path(results, device_name, model_name, threads)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, data)
    return data
