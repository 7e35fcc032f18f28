"""AdapterFusion over *trained* task adapters (AdapterDrop §4, App. E / Table 7, §5.2 / Figure 5;
Pfeiffer et al. 2021a's two stages).

Stage 1 trains one Pfeiffer adapter per ``source_tasks`` entry of the fusion config: the same
model, the fusion's bottleneck size and activation, ``source_lr``, the grid point's seed and
training settings. Stage 2 is the fusion trial itself: the adapters are loaded into the K frozen
slots and only the fusion layers and the new head train. The paper fuses every task's adapter,
the target task's own included.

A trained adapter is cached under ``<results>/fusion_sources/<key>.safetensors`` (the key hashes
what the grid hashes for a Pfeiffer trial of that task, LR and seed), with a JSON note of its dev
score and training seconds beside it: every fusion trial of every sweep in that results
directory that needs it reuses it, a resumed sweep too. An flock per key makes two trials that
need the same adapter at once train it once. On a results URI (s3://) the cache is this node's
temp dir (a node without it trains its own: the same key, the same seeded training).

Training the sources is not the fusion's training time (the paper times the fusion stage); the
trial records it as its own phase, ``sources``, and each source in the run's ``fusion_sources``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import adapters
from adapters.fusion import FusionConfig, load_fusion_adapter, prune_fusion, record_fusion_activations
from adapters.io import read_metadata, save_trainable
from pipeline.grid import key_identity, trial_key
from pipeline.kinds import kind_for
from pipeline.lease import exclusive_lock, write_json
from pipeline.spec import Training
from pipeline.tasks import get_task
from pipeline.train import evaluate, load_task_data, train
from tracking.records import is_uri

SOURCE_METHOD = "pfeiffer"  # AdapterFusion fuses Pfeiffer adapters (Pfeiffer et al. 2021a, §3)


@dataclass
class Source:
    """One trained source adapter, as the fusion run record lists it."""
    task: str
    key: str
    dev_score: float  # the source's dev score after its last epoch (the weights it saved)
    train_seconds: float
    reused: bool  # True: found in the cache, not trained by this trial


def cache_dir(results, create: bool = True) -> Path:
    root = Path(tempfile.gettempdir()) / "adapterbench-fusion-sources" if is_uri(results) \
        else Path(results) / "fusion_sources"
    if create:
        root.mkdir(parents=True, exist_ok=True)
    return root


def is_cached(results, key: str) -> bool:
    """Whether a trained source of this key is ready to reuse (its weights and its note)."""
    folder = cache_dir(results, create=False)
    return (folder / f"{key}.safetensors").is_file() and (folder / f"{key}.json").is_file()


def source_config(config: FusionConfig) -> dict:
    """The Pfeiffer config of the sources: the fusion's bottleneck (the slots' shape)."""
    pfeiffer = adapters.make_config(SOURCE_METHOD, dict(reduction_factor=config.reduction_factor,
                                                        activation=config.activation))
    return dataclasses.asdict(pfeiffer)


def source_key(model_name: str, task: str, config: FusionConfig, seed: int,
               training: dict) -> str:
    identity = key_identity(model_name, SOURCE_METHOD, source_config(config), task,
                            config.source_lr, seed, training, {})
    return trial_key(**identity)


def ensure_sources(model_name: str, tokenizer, config: FusionConfig, seed: int, training: dict,
                   data_dir, results, device, guard, waited) -> list[tuple[Source, Path]]:
    """Every source adapter of ``config``, trained now or found in the cache, in slot order."""
    folder = cache_dir(results)
    out = []
    for task_name in config.source_tasks:
        key = source_key(model_name, task_name, config, seed, training)
        path, note = folder / f"{key}.safetensors", folder / f"{key}.json"
        with exclusive_lock(folder / f"{key}.lock"):
            reused = is_cached(results, key)
            if not reused:
                info = _train_source(model_name, tokenizer, task_name, config, seed, training,
                                     data_dir, device, guard, waited, path)
                write_json(note, info)
            info = json.loads(note.read_text())
        out.append((Source(task_name, key, info["dev_score"], info["train_seconds"], reused), path))
    return out


def load_sources(model, sources: list[tuple[Source, Path]]) -> None:
    """Put source k's adapter weights into fusion slot k of every fusion layer."""
    from safetensors.torch import load_file

    for k, (source, path) in enumerate(sources):
        method, _ = read_metadata(path)
        if method != SOURCE_METHOD:
            raise ValueError(f"{path}: a {method!r} file, not a {SOURCE_METHOD} adapter")
        load_fusion_adapter(model, k, load_file(str(path)))


def evaluate_pruned(model, kind, task, train_data, dev, training: Training, pad_id: int,
                    device, guard) -> list[tuple[int, dict]]:
    """AdapterFusion pruning (AdapterDrop §5.2, Figure 5): the average fusion activation of each
    adapter "using all instances of the respective AF training set", then, removing the least
    activated adapter of each layer one at a time, the dev scores with K, K−1 .. 1 adapters kept
    (K: the trained model itself, so the figure's curve starts where the trial ended).
    Runs on a copy: the trained model keeps all K."""
    import copy

    pruned = copy.deepcopy(model)
    batches = ({key: v.to(device) for key, v in kind.collate(train_data, idx, pad_id).items()
                if key not in kind.target_keys}
               for idx in _chunks(len(train_data), training.eval_batch_size))
    # One shared hold of the lease for the whole pass (forward passes only, like an evaluation):
    # a probe elsewhere waits for it, never overlaps it.
    with guard():  # .cpu() waits for the pass's CUDA kernels before the lease is let go
        activations = [a.cpu() for a in record_fusion_activations(pruned, batches)]  # [K] each
    out = []
    for keep in range(int(activations[0].numel()), 0, -1):
        if keep < activations[0].numel():
            prune_fusion(pruned, keep)
        out.append((keep, evaluate(pruned, kind, task, dev, training.eval_batch_size, pad_id,
                                   device, guard)))
    del pruned
    return out


def _chunks(n: int, size: int):
    for start in range(0, n, size):
        yield list(range(start, min(n, start + size)))


def _train_source(model_name, tokenizer, task_name, config, seed, training: dict, data_dir,
                  device, guard, waited, path: Path) -> dict:
    task = get_task(task_name)
    settings = Training(**training)
    kind = kind_for(task, settings.objective)
    model = kind.load_model(model_name, task, seed)
    pfeiffer = adapters.apply_method(model, SOURCE_METHOD, source_config(config))
    model.to(device)
    train_data, dev = load_task_data(tokenizer, kind, task, settings, data_dir, seed)
    history, seconds = train(model, kind, task, train_data, dev, settings, config.source_lr,
                             seed, tokenizer.pad_token_id, device, guard=guard, waited=waited)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    save_trainable(model, tmp, SOURCE_METHOD, pfeiffer)
    os.replace(tmp, path)  # readers see a whole file or none
    del model
    return dict(task=task_name, dev_score=history[-1].scores["score"],
                best_dev_score=max(r.scores["score"] for r in history),
                train_seconds=seconds, train_split=train_data.meta["source"],
                created_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
