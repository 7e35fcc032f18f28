"""One multi-task grid point, top to bottom: build one model per task (its kind's head) ▸ tie
the bodies ▸ load every task's data ▸ train jointly ▸ probes ▸ one run record per task ▸ one
MLflow child run per task.

The per-task records share the group's key (``group_key`` = the grid point's trial_key; each
record's own ``trial_key`` is ``<group_key>:<task>``), so tables read them like single-task runs
of method ``multitask_full`` / ``multitask_adapter``. Training time is the group's (the tasks
trained together); ``storage_params`` is the task's share of what must be stored: its own head
and adapters plus the shared trained body divided by the number of tasks.

``multitask_add`` (Mundra et al. 2023's extensibility experiment) first trains the other tasks
together, then adds ``new_task`` (its own head, the shared body) while replaying ``replay`` of
the old tasks' data: every record gets ``add_time_s`` (training seconds of the addition) and
``score_before_add`` (old tasks, at the end of the first stage); ``dev_score`` is then the final
model's score, so old tasks' forgetting is ``score_before_add − dev_score``.

Probes (spec ``probes``) time the group's model once, recorded under the group's key: a k-task
inference cell serves k tasks with the one multi-task model (pipeline/serving.py), the serving
comparison of Mundra et al. 2023 against k full models and k adapter sets. ``epochs: 0`` makes a
probe-only grid point, as for single-task trials.
"""

from __future__ import annotations

import dataclasses
import traceback

import torch

import adapters
from pipeline import interference, lease
from pipeline.kinds import kind_for
from pipeline.models import load_tokenizer
from pipeline.multitask import tie_bodies, train_multitask
from pipeline.multitask_config import make_config
from pipeline.phases import PhaseClock
from pipeline.probes import peak_memory, reset_peak_memory
from pipeline.spec import Probes, Training, languages_for
from pipeline.tasks import default_data_dir, get_task
from pipeline.train import load_task_data
from tracking.records import write_records


def record_key(group_key: str, task: str) -> str:
    return f"{group_key}:{task}"


def run_multitask_trial(point, ctx, report, base_record: dict, device: torch.device) -> dict:
    """Returns the first task's record (the sweep's progress line); every task's is written."""
    from pipeline.trial import _evaluate_languages, _log_mlflow, _now, convergence, eval_row

    names = point.task.split("+")
    training = Training(**point.training)
    config = make_config(point.method, point.method_config)
    records = {t: dict(base_record, task=t, metric=get_task(t).metric,
                       trial_key=record_key(point.trial_key, t), group_key=point.trial_key,
                       group_tasks=names) for t in names}
    evals = {t: [] for t in names}
    probe_rows = []
    device_lease, clock = lease.DeviceLease(), PhaseClock()
    try:
        with clock("load_model"):
            tokenizer = load_tokenizer(point.model)
            tasks = {t: get_task(t) for t in names}
            kinds = {t: kind_for(tasks[t], training.objective) for t in names}
            models = {}
            for t in names:
                models[t] = kinds[t].load_model(point.model, tasks[t], point.seed)
                adapters.apply_method(models[t], config.adapter, config.adapter_config)
            tie_bodies(list(models.values()), train_body=config.adapter == "full")
            for model in models.values():
                model.to(device)
        if training.epochs == 0:  # a probe-only grid point (timing specs): no data, no scores
            for t, model in models.items():
                trainable, total = adapters.count_parameters(model)
                records[t].update(trainable_params=trainable, total_params=total)
        else:
            data_dir = point.data_dir or default_data_dir()
            with clock("tokenize"):
                data = {t: load_task_data(tokenizer, kinds[t], tasks[t], training, data_dir,
                                          point.seed)
                        for t in names}

            offset = {"epoch": 0, "seconds": 0.0}  # adding a task: its evaluations come after

            def on_eval(t, r):
                evals[t].append(eval_row(
                    point, records[t]["trial_key"], tasks[t], data[t][1], r.epoch + offset["epoch"],
                    r.scores, step=r.step, train_loss=r.train_loss,
                    train_seconds=r.train_seconds + offset["seconds"]))
                report({"epoch": r.epoch, "dev_score": r.scores["score"], "done": False})

            def run(names_now, share=None):
                return train_multitask(
                    {t: models[t] for t in names_now}, kinds, tasks,
                    {t: data[t][0] for t in names_now}, {t: data[t][1] for t in names_now},
                    training, point.lr, point.seed, tokenizer.pad_token_id, device, config, on_eval,
                    guard=device_lease.shared, waited=lambda: device_lease.waited_s, share=share)

            reset_peak_memory(device)
            usage, waited_before = interference.snapshot(), device_lease.waited_s
            old = [t for t in names if t != config.new_task]
            history, seconds, drawn = run(old)
            if config.new_task:  # the extensibility experiment: add a task to the trained model
                before = {t: history[t][-1].scores["score"] for t in old}
                offset.update(epoch=training.epochs, seconds=seconds)
                share = {t: config.replay for t in old} | {config.new_task: 1.0}
                added, add_seconds, add_drawn = run(names, share)
                history = {t: history.get(t, []) + added[t] for t in names}
                drawn = {t: drawn.get(t, 0) + add_drawn[t] for t in names}
                for t in names:
                    records[t].update(add_time_s=add_seconds, score_before_add=before.get(t))
                seconds += add_seconds
            loop = interference.loop_figures(usage, device_lease.waited_s - waited_before,
                                             device.type)
            for t in names:
                records[t].update(loop)
            clock.add("train_steps", seconds)
            _fill_records(records, models, history, data, drawn, seconds, device_lease,
                          peak_memory(device), convergence, final=config.new_task is not None)
            with clock("eval"):
                for t in names:  # zero-shot languages of each task, as a single-task trial
                    task_point = dataclasses.replace(point, task=t,
                                                     trial_key=records[t]["trial_key"])
                    evals[t] += _evaluate_languages(
                        models[t], tokenizer, task_point, kinds[t], tasks[t],
                        dataclasses.replace(training,
                                            eval_languages=languages_for(training, t)),
                        data_dir, history[t][-1].epoch, device,
                        device_lease, records[t])
        with clock("probes"):
            probe_rows = _probes(point, models, kinds, names, device, ctx.results, device_lease)
    except (torch.OutOfMemoryError, MemoryError) as e:
        for r in records.values():
            r.update(status="oom", error=f"{type(e).__name__}: {e}"[:2000])
    except Exception as e:  # noqa: BLE001 - recorded, never lost
        error = f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=8)}"[:4000]
        for r in records.values():
            r.update(status="failed", error=error)
    finally:
        device_lease.close()
    for t in names:
        record = records[t]
        record.update(finished_at=_now(), phase_s=dict(clock.seconds), wall_s=clock.wall())
        task_point = dataclasses.replace(point, task=t, trial_key=record["trial_key"])
        record["mlflow_run_id"] = _log_mlflow(task_point, ctx, record, evals[t], probe_rows, None)
    # One file per kind for the whole group, named by the grid point's key: the sweep finds the
    # group's records with that key, and the group is written (or not) as one.
    write_records(ctx.results, "evals", point.trial_key, [e for t in names for e in evals[t]])
    write_records(ctx.results, "probes", point.trial_key, probe_rows)
    write_records(ctx.results, "runs", point.trial_key, list(records.values()))
    return records[names[0]]


def _probes(point, models: dict, kinds: dict, names: list[str], device, results,
            device_lease) -> list[dict]:
    """The spec's probe cells of the group's model (pipeline/probe_plan.py), timed on batches of
    the first task's kind: a k-task inference cell serves k tasks with the one multi-task model
    (pipeline/serving.py: one encoder pass and k heads, or k adapter sets), heads taken in turn
    from the tasks of that kind with its number of labels (N adapter sets stack their logits);
    other cells time the first task's model. A paired cell's baseline is full fine-tuning of
    the first task (pipeline/paired.py)."""
    from pipeline.probe_plan import run_probes
    from pipeline.serving import TaskGroup
    from pipeline.trial import device_name

    kind, first = kinds[names[0]], models[names[0]]
    served = [models[t] for t in names if kinds[t].name == kind.name
              and models[t].config.num_labels == first.config.num_labels]
    return run_probes(TaskGroup(served), dataclasses.replace(point, task=names[0]),
                      Probes(**point.probes), device, device_name(device), results,
                      device_lease, kind=kind)


def _fill_records(records, models, history, data, drawn, seconds, device_lease, peak,
                  convergence, final: bool) -> None:
    """``final``: the score is the final model's (after a task was added: what the old tasks
    keep), not the best evaluation's."""
    first = next(iter(models.values()))
    shared = {id(p) for p in first.base_model.parameters()}  # the tied body, in every model
    for model in list(models.values())[1:]:
        shared &= {id(p) for p in model.base_model.parameters()}
    shared_trained = sum(p.numel() for p in first.parameters()
                         if p.requires_grad and id(p) in shared)
    for t, model in models.items():
        best = history[t][-1] if final else max(history[t], key=lambda r: r.scores["score"])
        trainable, total = adapters.count_parameters(model)
        own = sum(p.numel() for p in model.parameters() if p.requires_grad and id(p) not in shared)
        records[t].update(
            dev_score=best.scores["score"], best_epoch=best.epoch, dev_scores=best.scores,
            train_samples=data[t][0].meta.get("examples", len(data[t][0])),
            train_split=data[t][0].meta["source"], dev_split=data[t][1].meta["source"],
            trainable_params=trainable, total_params=total,
            storage_params=own + shared_trained // len(models), batches=drawn[t],
            train_time_s=seconds, lease_wait_s=device_lease.waited_s, peak_mem_bytes=peak,
            **convergence(history[t]))
