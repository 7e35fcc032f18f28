"""One grid point, top to bottom: load model ▸ apply method ▸ load task ▸ train+eval ▸ probes
▸ Parquet records (the truth) ▸ MLflow child run (the UI).

A trial never raises for a failure of its own: an exception or an out-of-memory error becomes a
``failed`` / ``oom`` record with the error text, and the sweep goes on.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import shutil
import socket
import time
import traceback
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Callable

import torch

import adapters
from pipeline import interference, lease
from pipeline.device_names import cpu_name
from pipeline.grid import GridPoint
from pipeline.kinds import kind_for
from pipeline.models import load_tokenizer
from pipeline.multitask_config import MULTITASK_METHODS
from pipeline.phases import PhaseClock
from pipeline.probe_plan import run_probes
from pipeline.probes import peak_memory, reset_peak_memory
from pipeline.scratch import remove_orphans, scratch_dir
from pipeline.spec import Probes, Training
from pipeline.tasks import default_data_dir, get_task, language_source
from pipeline.train import evaluate, load_data, load_task_data, train
from tracking.records import write_records

VERSIONED = ("torch", "transformers", "ray", "mlflow", "pyarrow", "numpy", "adapterbench")


@dataclass(frozen=True)
class SweepContext:
    """What every trial of a sweep shares (passed to Ray workers as-is)."""
    results: str  # absolute path or a URI (s3://, gs://, file://) shared by every node
    tracking_uri: str
    experiment_id: str
    parent_run_id: str
    git_sha: str
    threads: int  # torch intra-op threads = CPUs reserved per trial


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return cpu_name()


def ray_node_id() -> str | None:
    """The Ray node this trial runs on (several nodes of a test cluster share a hostname)."""
    import sys

    ray = sys.modules.get("ray")  # never import Ray just to ask: trials also run without it
    if ray is None or not ray.is_initialized():
        return None
    return ray.get_runtime_context().get_node_id()


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def run_trial(point: GridPoint, ctx: SweepContext,
              report: Callable[[dict], None] = lambda metrics: None) -> dict:
    """Run one grid point; returns its run record (also written to Parquet)."""
    torch.set_num_threads(max(1, ctx.threads))
    remove_orphans()  # temp folders of trials killed on this machine (pipeline/scratch.py)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    training = Training(**point.training)
    record = dict(sweep=point.sweep, trial_key=point.trial_key, status="ok", error=None,
                  model=point.model, method=point.method, method_config=point.method_config,
                  task=point.task, lr=point.lr, seed=point.seed, epochs=training.epochs,
                  objective=training.objective, device=device_name(device),
                  node=socket.gethostname(), ray_node_id=ray_node_id(), git_sha=ctx.git_sha,
                  versions=versions(), started_at=_now())
    if point.method in MULTITASK_METHODS:  # one grid point, several tasks: its own trial
        from pipeline.multitask_trial import run_multitask_trial

        return run_multitask_trial(point, ctx, report, record, device)
    task = get_task(point.task)
    kind = kind_for(task, training.objective)
    record["metric"] = task.metric
    results = ctx.results
    evals, probe_rows, weights = [], [], None
    device_lease = lease.DeviceLease()
    clock = PhaseClock()
    try:
        with clock("load_model"):
            tokenizer = load_tokenizer(point.model)
            model = kind.load_model(point.model, task, point.seed)
            adapters.apply_method(model, point.method, point.method_config)
            model.to(device)
        trainable, total = adapters.count_parameters(model)
        record.update(trainable_params=trainable, total_params=total)
        if _fuses_trained_adapters(point):
            with clock("sources"):
                _load_fusion_sources(model, tokenizer, point, results, device, device_lease,
                                     record)
        if training.epochs > 0:  # 0: a probe-only grid point (timing specs), no data needed
            weights = _train_and_evaluate(model, tokenizer, point, kind, task, training, device,
                                          device_lease, record, evals, report, clock)
        with clock("probes"):
            probe_rows = run_probes(model, point, Probes(**point.probes), device,
                                    device_name(device), results, device_lease,
                                    kind=kind)
    except (torch.OutOfMemoryError, MemoryError) as e:
        record.update(status="oom", error=f"{type(e).__name__}: {e}"[:2000])
    except Exception as e:  # noqa: BLE001 - recorded, never lost
        record.update(status="failed",
                      error=f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=8)}"[:4000])
    finally:
        device_lease.close()
    record["finished_at"] = _now()
    record["phase_s"] = dict(clock.seconds)  # MLflow gets these; logging's own time is added after
    with clock("logging"):
        try:
            record["mlflow_run_id"] = _log_mlflow(point, ctx, record, evals, probe_rows, weights)
        finally:  # MLflow has its copy (or failed): a sweep must not fill /tmp with weights
            if weights is not None:
                shutil.rmtree(weights.parent, ignore_errors=True)
    record.update(phase_s=dict(clock.seconds), wall_s=clock.wall())
    write_records(results, "evals", point.trial_key, evals)
    write_records(results, "probes", point.trial_key, probe_rows)
    write_records(results, "runs", point.trial_key, [record])  # last: "ok" means complete
    return record


def _train_and_evaluate(model, tokenizer, point, kind, task, training, device, device_lease,
                        record: dict, evals: list, report, clock: PhaseClock) -> Path:
    """Train, evaluate every epoch, fill the record's scores; returns the saved weights' path."""
    data_dir = point.data_dir or default_data_dir()
    with clock("tokenize"):
        train_data, dev = load_task_data(tokenizer, kind, task, training, data_dir, point.seed)
    record.update(train_samples=train_data.meta.get("examples", len(train_data)),
                  train_split=train_data.meta["source"], dev_split=dev.meta["source"])

    def on_epoch(r):
        evals.append(eval_row(point, point.trial_key, task, dev, r.epoch, r.scores, step=r.step,
                              train_loss=r.train_loss, train_seconds=r.train_seconds))
        report({"epoch": r.epoch, "dev_score": r.scores["score"], "done": False})

    reset_peak_memory(device)
    loop_started, waited_before = time.perf_counter(), device_lease.waited_s
    usage = interference.snapshot()
    history, train_seconds = train(model, kind, task, train_data, dev, training, point.lr,
                                   point.seed, tokenizer.pad_token_id, device, on_epoch,
                                   guard=device_lease.shared,
                                   waited=lambda: device_lease.waited_s)
    # The loop is steps + evaluations + waits for other trials' probes, counted apart.
    waited = device_lease.waited_s - waited_before
    record.update(interference.loop_figures(usage, waited, device.type))
    clock.add("train_steps", train_seconds)
    clock.add("lease_wait", waited)
    clock.add("eval", time.perf_counter() - loop_started - train_seconds - waited)
    best = max(history, key=lambda r: r.scores["score"])
    # Training time excludes evaluation and the waits for other trials' probes (the lease's).
    record.update(dev_score=best.scores["score"], best_epoch=best.epoch, dev_scores=best.scores,
                  train_time_s=train_seconds, lease_wait_s=device_lease.waited_s,
                  peak_mem_bytes=peak_memory(device), **convergence(history))
    with clock("eval"):
        evals += _evaluate_every_dropped_n(model, point, kind, task, dev, training,
                                           history[-1].epoch, tokenizer.pad_token_id, device,
                                           device_lease)
        evals += _evaluate_languages(model, tokenizer, point, kind, task, training, data_dir,
                                     history[-1].epoch, device, device_lease, record)
        if _fuses_trained_adapters(point):
            evals += _evaluate_pruned_fusion(model, point, kind, task, train_data, dev, training,
                                             history[-1].epoch, tokenizer.pad_token_id, device,
                                             device_lease)
    with clock("logging"):
        return _save_weights(model, point)


def eval_row(point, trial_key: str, task, data, epoch: int, scores: dict, step: int | None = None,
             dropped_layers: int = 0, train_loss: float | None = None,
             train_seconds: float | None = None, n_fusion: int | None = None) -> dict:
    """One evaluation record: ``task`` scored on ``data`` (its split and language say which)."""
    return dict(sweep=point.sweep, trial_key=trial_key, method=point.method, task=task.name,
                lr=point.lr, seed=point.seed, epoch=epoch, step=step,
                dropped_layers=dropped_layers, metric=task.metric, score=scores["score"],
                scores=scores, train_loss=train_loss, language=data.meta["language"],
                split=data.meta["source"], train_seconds=train_seconds, n_fusion=n_fusion)


def _fuses_trained_adapters(point: GridPoint) -> bool:
    return point.method == "fusion" and bool(point.method_config.get("source_tasks"))


def _load_fusion_sources(model, tokenizer, point, results, device, device_lease,
                         record: dict) -> None:
    """AdapterFusion's first stage: the K source adapters, trained (or found cached) and loaded
    into the fusion slots; which ones, with their scores, go into the run record."""
    from pipeline.fusion_sources import ensure_sources, load_sources

    config = adapters.make_config(point.method, point.method_config)
    sources = ensure_sources(point.model, tokenizer, config, point.seed, point.training,
                             point.data_dir or default_data_dir(), results, device,
                             device_lease.shared, lambda: device_lease.waited_s)
    load_sources(model, sources)
    record["fusion_sources"] = json.dumps([vars(s) for s, _ in sources])


def _evaluate_pruned_fusion(model, point, kind, task, train_data, dev, training, epoch, pad_id,
                            device, device_lease) -> list[dict]:
    """AdapterFusion pruning (AdapterDrop §5.2, Figure 5): one eval row per number of adapters
    kept per layer, K .. 1."""
    from pipeline.fusion_sources import evaluate_pruned

    return [eval_row(point, point.trial_key, task, dev, epoch, scores, n_fusion=keep)
            for keep, scores in evaluate_pruned(model, kind, task, train_data, dev, training,
                                                pad_id, device, device_lease.shared)]


def convergence(history) -> dict:
    """Time to convergence (Mundra et al. 2023): training seconds to the best dev score and to
    the first evaluation reaching 95% / 99% of it (None when the best score is not positive)."""
    best = max(history, key=lambda r: r.scores["score"])
    out = {"time_to_best_s": best.train_seconds, "time_to_95_s": None, "time_to_99_s": None}
    if best.scores["score"] > 0:
        for share, key in ((0.95, "time_to_95_s"), (0.99, "time_to_99_s")):
            out[key] = next(r.train_seconds for r in history
                            if r.scores["score"] >= share * best.scores["score"])
    return out


def _evaluate_languages(model, tokenizer, point, kind, task, training, data_dir, epoch, device,
                        device_lease, record: dict) -> list[dict]:
    """Zero-shot cross-lingual transfer: the model as trained (last epoch) scored on the task's
    data in every ``training.eval_languages`` language; one eval row each, the mean in the run."""
    rows = []
    for lang in training.eval_languages:
        data = load_data(tokenizer, kind, language_source(task, lang, training.eval_split),
                         training, data_dir, training.max_eval_samples, 0)
        scores = evaluate(model, kind, task, data, training.eval_batch_size,
                          tokenizer.pad_token_id, device, device_lease.shared)
        rows.append(eval_row(point, point.trial_key, task, data, epoch, scores))
    if rows:
        by_lang = {r["language"]: r["score"] for r in rows}
        record.update(xling_scores=by_lang, xling_mean=sum(by_lang.values()) / len(by_lang))
    return rows


def _evaluate_every_dropped_n(model, point, kind, task, dev, training, epoch, pad_id, device,
                              device_lease) -> list[dict]:
    """AdapterDrop (§3): the same trained model evaluated with adapters dropped from the first
    n layers, for every n in 0..L−1 (robust AdapterDrop is trained for all of them)."""
    from adapters.adapterdrop import set_dropped_layers

    drop = getattr(model, "adapter_layer_drop", None)
    if drop is None:
        return []
    rows = []
    for n in range(drop.depth):
        set_dropped_layers(model, n)
        scores = evaluate(model, kind, task, dev, training.eval_batch_size, pad_id, device,
                          device_lease.shared)
        rows.append(eval_row(point, point.trial_key, task, dev, epoch, scores, dropped_layers=n))
    set_dropped_layers(model, 0)
    return rows


def _save_weights(model, point: GridPoint) -> Path:
    """The trained weights only, in a temp file logged to MLflow, in the format of
    adapters/io.py (``load_trainable`` rebuilds the trained model from it)."""
    from adapters.io import save_trainable

    path = scratch_dir(point.trial_key) / "trainable_weights.safetensors"
    config = adapters.make_config(point.method, point.method_config)
    save_trainable(model, path, point.method, config)
    return path


def _split_inputs(point: GridPoint) -> list:
    """The train and dev splits this trial used, as MLflow dataset inputs (metadata only: the
    subset is named by its size and seed, as ``load_task_data`` draws it)."""
    from pipeline.tasks import dev_source, mirror_file, train_source
    from tracking.mlflow_log import split_input

    task, training = get_task(point.task), Training(**point.training)
    data_dir = point.data_dir or default_data_dir()
    out = []
    for source, limit, seed, context in [
            (train_source(task, training.train_split), training.max_train_samples, point.seed,
             "training"),
            (dev_source(task, training.dev_split), training.max_eval_samples, 0, "eval")]:
        data = source.task
        hub = f"https://huggingface.co/datasets/{data.hf_id}"
        subset = f"[{limit} rows, seed {seed}]" if limit is not None else ""
        out.append(split_input(f"{data.benchmark}/{data.subset_for(source.language)}/"
                               f"{source.split}{subset}", context,
                               mirror_file(data, source.split, data_dir, source.language), hub,
                               list(data.fields), limit, seed))
    return out


def _log_mlflow(point, ctx, record, evals, probe_rows, weights) -> str | None:
    """Log the child run; a failure here is printed and leaves ``mlflow_run_id`` empty
    (``adapterbench mlflow-sync`` back-fills it from the records)."""
    if ctx.experiment_id is None:  # MLflow was unreachable when the sweep started
        return None
    try:
        folder = scratch_dir("artifacts")
        try:
            return _log_child_run(point, ctx, record, evals, probe_rows, weights, folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    except Exception as e:  # noqa: BLE001 - MLflow is never allowed to fail a trial
        print(f"[adapterbench] MLflow logging failed for {point.run_name}: {e}", flush=True)
        return None


def _log_child_run(point, ctx, record, evals, probe_rows, weights, folder: Path) -> str:
    """The child run, its artifacts written to ``folder`` first (MLflow copies them)."""
    from tracking.mlflow_log import log_trial, summary_metrics

    config_path = folder / "resolved_config.json"
    config_path.write_text(json.dumps(point.to_dict(), indent=2, sort_keys=True))
    artifacts = [config_path] + ([weights] if weights else [])
    if probe_rows:
        import pyarrow as pa
        import pyarrow.csv as pcsv
        probe_path = folder / "probes.csv"
        pcsv.write_csv(pa.Table.from_pylist([{k: (json.dumps(v) if isinstance(v, dict) else v)
                                              for k, v in r.items()} for r in probe_rows]),
                       probe_path)
        artifacts.append(probe_path)
    params = dict(model=point.model, method=point.method, task=point.task, lr=point.lr,
                  seed=point.seed, method_config=point.method_config,
                  training=point.training, probes=point.probes)
    tags = dict(sweep=point.sweep, git_sha=ctx.git_sha, device=record["device"],
                status=record["status"])
    final = summary_metrics(record, probe_rows)
    # one MLflow step per training-time evaluation (dropped-n and zero-shot rows have no
    # training loss and are in the records, not in the curves)
    epoch_metrics = [{"dev_score": e["score"], "train_loss": e["train_loss"],
                      "train_seconds": e["train_seconds"]} for e in evals
                     if e.get("train_seconds") is not None]
    datasets = _split_inputs(point) if record.get("train_samples") is not None else None
    return log_trial(ctx.tracking_uri, ctx.experiment_id, ctx.parent_run_id, point.run_name,
                     point.trial_key, params, tags, epoch_metrics, final, artifacts,
                     record["status"], datasets=datasets,
                     started_at=record.get("started_at"),
                     finished_at=record.get("finished_at"))
