"""What each claim measures: a function of one device's records (a pipeline.tables Data holding
only that device's rows) and the device's name, returning {model: {figure: value}}. A model
without a figure is left out; nothing measured is {}.

They reuse the tables' aggregations (probe medians, LR chosen on dev, per-layer scores, fitted
slopes), so a claim's figure agrees with the table it comes from.
"""

from __future__ import annotations

import pandas as pd

from pipeline.tables import adapterdrop as ad
from pipeline.tables import adapterdrop_scores as ads
from pipeline.tables.compacter import delta_memory, delta_time
from pipeline.tables.core import Data, disturbed_runs, slope_pct
from pipeline.tables.efficiency import REFERENCE_CELL

# Adapter methods (bottleneck, low-rank, hypercomplex, shared, LoRA); not BitFit, prompt tuning,
# Intrinsic-SAID or AdapterFusion.
ADAPTERS = ("houlsby", "pfeiffer", "adapterdrop", "lowrank", "phm", "compacter", "compacterpp",
            "shared_adapter", "lora")
TABLE1_ADAPTERS = ("houlsby", "pfeiffer")  # the adapters AdapterDrop times (§2)
MULTITASK = "multitask_full"


def _label(model: str, objective: str) -> str:
    return model if objective in ("head", None) else f"{model} ({objective})"


def _spread(values: list[float], count: str) -> dict:
    values = [float(v) for v in values if not pd.isna(v)]  # e.g. runs without peak memory
    return {"min": min(values), "max": max(values), count: len(values)} if values else {}


def _by_model(figures: dict) -> dict:
    return {model: f for model, f in figures.items() if f}


def _chosen_by_model(data: Data):
    """(label, chosen rows of one model and objective), method_config nulls as ""."""
    chosen = data.chosen("higher")
    if chosen.empty:
        return []
    chosen = chosen.assign(method_config=chosen["method_config"].fillna(""))
    return [(_label(m, o), f) for (m, o), f in chosen.groupby(["model", "objective"], sort=True)]


def _timing_sweeps(data: Data):
    """One Data per sweep for the claims on training time: times compare only within one sweep
    (one budget, one evaluation interval, one machine at one time), and a run whose training
    loop shared its cores with another process is left out (its time measures that process
    too; tables mark it *)."""
    for _, part in data.by_sweep(~disturbed_runs(data.runs)):
        yield part


def _chosen_per_sweep(data: Data):
    """(label, chosen rows) per sweep and (model, objective), as _timing_sweeps."""
    for sub in _timing_sweeps(data):
        yield from _chosen_by_model(sub)


# --- AdapterDrop ---------------------------------------------------------------------------

def relative_speeds(data: Data, device: str, phase: str) -> dict:
    """§2 / Tables 1, 9: t_full / t_adapter (Houlsby, Pfeiffer) of every single-task cell (no
    dropped layers, no fusion) probed for full fine-tuning; the paired probe's ratio where a
    trial recorded one (as the tables use it), else the ratio of the separate medians."""
    out = {}
    for model, dev in data.probe_groups:
        full = data.probe_by_method.get((model, dev, phase), {}).get("full", [])
        cells = sorted({k[5:7] for k, _ in full if tuple(k[7:]) == (1, 0, 0)})
        values = []
        for seq, batch in cells:
            for method in TABLE1_ADAPTERS:
                r, _ = data.relative_speed(model, dev, method, phase, seq, batch)
                if r:
                    values.append(r)
        if values:
            out[model] = _spread(values, "pairs")
    return out


def train_speed(data: Data, device: str) -> dict:
    return relative_speeds(data, device, "train")


def inference_speed(data: Data, device: str) -> dict:
    return relative_speeds(data, device, "inference")


def dropped_layer_speedup(data: Data, device: str) -> dict:
    """§3 / Table 2: speedup (%) per shared layer of multi-task inference, for every number of
    simultaneous tasks (≥ 2) probed (pipeline.tables.adapterdrop.layer_speedup)."""
    out = {}
    for model, dev in data.probe_groups:
        ns = sorted({k[7] for k, _ in data.probe_by_phase.get((model, dev, "inference"), [])
                     if k[2] in ad.ADAPTER_DROP_METHODS and k[7] >= 2})
        values = [v for n in ns if (v := ad.layer_speedup(data, model, dev, int(n))) is not None]
        if values:
            out[model] = _spread(values, "task counts")
    return out


def retained_at_5(data: Data, device: str) -> dict:
    """§3 / Table 8: % of the standard adapter's score kept with the 5 lowest layers dropped."""
    scores = ads.per_layer_scores(data)
    out = {}
    for model in sorted(scores["model"].unique()) if not scores.empty else []:
        mine = scores[scores["model"] == model]
        figures = {v: ads.retained(mine, v, 5) for v in ("specialized", "robust")}
        figures = {k: v for k, v in figures.items() if v is not None}
        if figures:
            out[model] = figures
    return out


def fusion_slowdown(data: Data, device: str) -> dict:
    """§4 / Table 3 (cell of Table 10's slowdown columns): % slowdown of an AdapterFusion step per
    added adapter, fitted over every K probed (iterative fusion, batch 32, seq 128)."""
    out = {}
    for model, dev in data.probe_groups:
        figures = {}
        for phase in ("train", "inference"):
            ks = sorted({k[9] for k, _ in data.probe_by_phase.get((model, dev, phase), [])
                         if k[2] == "fusion" and k[9] >= 2})
            pts = [(k, t) for k in ks if (t := data.time(model, dev, "fusion", phase, 128, 32,
                                                         n_fusion=k, where=ad.iterative_fusion))]
            s = slope_pct(*zip(*pts)) if len(pts) >= 2 else None
            if s is not None:
                figures[phase] = s
        if figures:
            out[model] = figures
    return out


# --- Compacter -----------------------------------------------------------------------------

def compacterpp_vs_full(data: Data, device: str) -> dict:
    """§5.3 / Table 1: Compacter++ (n = 4) minus full fine-tuning, mean dev score ×100 over the
    tasks both have (LR chosen on dev), and Compacter++'s trained share (%)."""
    out = {}
    for label, mine in _chosen_by_model(data):
        cpp = mine[(mine["method"] == "compacterpp") & mine["method_config"].map(
            lambda c: data.config(c).get("phm_dim", 4) == 4)]
        full = mine[mine["method"] == "full"]
        cpp_t = cpp.groupby("task")["mean"].mean().dropna()
        full_t = full.groupby("task")["mean"].mean().dropna()
        tasks = sorted(set(cpp_t.index) & set(full_t.index))
        if not tasks:
            continue
        used = cpp[cpp["task"].isin(tasks)]
        out[label] = {"delta": 100 * (cpp_t[tasks].mean() - full_t[tasks].mean()),
                      "share": 100 * (used["trainable_params"] / used["total_params"]).mean(),
                      "tasks": len(tasks)}
    return out


def _epoch_deltas(data: Data) -> dict:
    """Table 3 as pipeline.tables.compacter.t03 computes it, per sweep, (model, task,
    training-set size) and method config: model -> [(method, Δ memory %, Δ time %)] relative
    to full fine-tuning of the same sweep and size (times compare only within one sweep, at one
    epoch size)."""
    def compute() -> dict:
        out: dict = {}
        for sub in _timing_sweeps(data):
            for model, rows in _sweep_epoch_deltas(sub).items():
                out.setdefault(model, []).extend(rows)
        return out

    return data.memo(("claims_epoch_deltas",), compute)  # three claims read it


def _sweep_epoch_deltas(data: Data) -> dict:
    g = data.run_groups
    g = g[g["epochs"].fillna(0) > 0] if not g.empty else g  # probe-only points never trained
    out: dict = {}
    if g.empty:
        return out
    # One grouped pass: seconds per epoch (mean) and peak memory (median) per (model, task,
    # size, method, config), each row against the first full-FT config of its (model, task,
    # size), in sorted order (a loop over groups took 3 s per call on 100k records).
    size = ["model", "task", "train_samples"]
    per = (g.assign(method_config=g["method_config"].fillna(""),
                    sec=g["train_time_s"] / g["epochs"])
           .groupby([*size, "method", "method_config"], sort=True)
           .agg(sec=("sec", "mean"), mem=("peak_mem_bytes", "median")).reset_index())
    full = per[per["method"] == "full"].drop_duplicates(size)
    rows = per[per["method"] != "full"].merge(full[[*size, "sec", "mem"]], on=size,
                                              suffixes=("", "_full"))
    for r in rows.itertuples(index=False):
        out.setdefault(r.model, []).append(
            (r.method, delta_memory(r.mem, r.mem_full), delta_time(r.sec, r.sec_full)))
    return out


def adapter_epoch_time(data: Data, device: str) -> dict:
    """§5.5 / Table 3: Δ training time per epoch of each adapter vs full FT (%)."""
    return _by_model({m: _spread([d for meth, _, d in rows if meth in ADAPTERS], "configs")
                      for m, rows in _epoch_deltas(data).items()})


def adapter_memory(data: Data, device: str) -> dict:
    """§5.5 / Table 3: Δ peak training memory of each adapter vs full FT (%); GPU only."""
    if str(device).startswith("cpu"):
        return {}
    return _by_model({m: _spread([d for meth, d, _ in rows if meth in ADAPTERS], "configs")
                      for m, rows in _epoch_deltas(data).items()})


def said_epoch_time(data: Data, device: str) -> dict:
    """§5.5 / Table 3: Δ training time per epoch of Intrinsic-SAID vs full FT (%), smallest."""
    out = {}
    for model, rows in _epoch_deltas(data).items():
        values = [d for meth, _, d in rows if meth == "intrinsic_said" and not pd.isna(d)]
        if values:
            out[model] = {"said": min(values)}
    return out


# --- Mundra et al. 2023 --------------------------------------------------------------------

def convergence_ratio(data: Data, device: str) -> dict:
    """Time to the best dev score of each adapter over full FT's of the same sweep, summed over
    the tasks both have (LR chosen on dev; time to best as efficiency2023 table01 computes it)."""
    per_label: dict = {}
    for label, mine in _chosen_per_sweep(data):
        full = mine[mine["method"] == "full"].groupby("task")["time_to_best_s"].mean().dropna()
        ratios = []
        for _, f in mine[mine["method"].isin(ADAPTERS)].groupby(["method", "method_config"]):
            t = f.groupby("task")["time_to_best_s"].mean().dropna()
            tasks = sorted(set(t.index) & set(full.index))
            if tasks and full[tasks].sum() > 0:
                ratios.append(float(t[tasks].sum() / full[tasks].sum()))
        per_label.setdefault(label, []).extend(ratios)
    return _by_model({label: _spread(r, "adapters") for label, r in per_label.items()})


def latency_ratio(data: Data, device: str) -> dict:
    """Inference step time of each adapter over full FT's, single task, at efficiency2023's
    reference cell (seq 128, batch 16): 1 / the paired ratio where a trial timed the adapter and
    full FT in turn (as table01 does; separate medians taken minutes apart carry the host's
    drift: 843–1,256 ms for cells the pairs put within 6% on one quiet 2-core run), else the
    ratio of the separate probes' medians."""
    out = {}
    for model, dev in data.probe_groups:
        probed = data.probe_by_method.get((model, dev, "inference"), {})
        ratios = []
        for method in sorted(set(probed) & set(ADAPTERS)):
            r, _ = data.relative_speed(model, dev, method, "inference", *REFERENCE_CELL)
            if r:
                ratios.append(1 / r)
        if ratios:
            out[model] = _spread(ratios, "adapters")
    return out


def multitask_vs_adapters(data: Data, device: str) -> dict:
    """Time for multi-task full FT to reach every task's best dev score (the group's training
    time at the last task's best; the group's LR chosen by mean dev over its tasks) over the
    time per-task adapters need for the same tasks (Σ of their times to best), per adapter of
    the same sweep."""
    per_label: dict = {}
    for sub in _timing_sweeps(data):
        for label, ratios in _multitask_ratios(sub).items():
            per_label.setdefault(label, []).extend(ratios)
    return _by_model({label: _spread(r, "adapters") for label, r in per_label.items()})


def _multitask_ratios(data: Data) -> dict:
    """label -> [multi-task full FT's time / the per-task adapters'] within these runs."""
    g = data.run_groups
    out: dict = {}
    if g.empty:
        return out
    g = g.assign(method_config=g["method_config"].fillna(""))
    chosen = dict(_chosen_by_model(data))
    for (model, objective), mt in g[g["method"] == MULTITASK].groupby(["model", "objective"]):
        mine = chosen.get(_label(model, objective))
        if mine is None:
            continue
        ratios = []
        for _, cfg_rows in mt.groupby("method_config", sort=True):
            by_lr = cfg_rows.groupby("lr")
            score = by_lr["mean"].mean().dropna()
            if score.empty:
                continue
            group = by_lr.get_group(score.idxmax())  # ties: the smaller LR, as Data.chosen
            tasks, mt_time = sorted(set(group["task"])), group["time_to_best_s"].max()
            for _, f in mine[mine["method"].isin(ADAPTERS)].groupby(["method", "method_config"]):
                t = f.groupby("task")["time_to_best_s"].mean()
                if set(tasks) <= set(t.dropna().index) and t[tasks].sum() > 0:
                    ratios.append(float(mt_time / t[tasks].sum()))
        out.setdefault(_label(model, objective), []).extend(ratios)
    return out
