"""Every table and figure, declared once: id, paper, caption, rows, columns, query, sources,
metric direction and the paper's published values (pipeline/published.py)."""

from __future__ import annotations

from pipeline import published as P
from pipeline.tables import adapterdrop as ad
from pipeline.tables import adapterdrop_scores as ads
from pipeline.tables import compacter as cp
from pipeline.tables import efficiency as ef
from pipeline.tables import efficiency_add as ea
from pipeline.tables import efficiency_figures as ef_fig
from pipeline.tables import efficiency_serving as es
from pipeline.tables import efficiency_xling as ex
from pipeline.tables import figures as fg
from pipeline.tables.core import Decl

GLUE8 = ("sst2", "qnli", "mnli", "qqp", "cola", "mrpc", "rte", "stsb")  # AdapterDrop Table 6 order
CELLS_T1 = ((128, 16), (128, 32), (512, 16), (512, 32))
CELLS_T9 = tuple((s, b) for s in (64, 128, 256, 512) for b in (16, 32, 64, 128))
CELLS_T10 = tuple((s, b) for s in (64, 128, 256, 512) for b in (16, 32, 64))
ROWS_T11 = tuple((b, n) for b in (1, 16, 32, 64) for n in (2, 4, 8, 16))
COMPACTER_METHODS = tuple(P.COMPACTER_TABLE1)

TABLES: list[Decl] = [
    # --- AdapterDrop ------------------------------------------------------------------------
    Decl("table01", "adapterdrop", "Relative speed of adapters vs full fine-tuning",
         ("houlsby", "pfeiffer"), CELLS_T1, ad.t01, ("probes",), "higher", P.ADAPTERDROP_TABLE1),
    Decl("table02", "adapterdrop", "Speedup per shared layer, multi-task inference",
         ("speedup",), (2, 4, 8, 16), ad.t02, ("probes",), "higher", P.ADAPTERDROP_TABLE2),
    Decl("table03", "adapterdrop", "Relative speed of AdapterFusion vs full FT and vs one adapter",
         (2, 8, 16), ("vs_ff_train", "vs_ff_inference", "vs_adapter_train", "vs_adapter_inference"),
         ad.t03, ("probes",), "higher", P.ADAPTERDROP_TABLE3),
    Decl("table04", "adapterdrop", "Speedup per dropped AdapterFusion layer",
         (2, 4, 8, 16), ("inference", "train"), ad.t04, ("probes",), "higher", P.ADAPTERDROP_TABLE4),
    Decl("table05", "adapterdrop", "Training speedup per dropped layer (AdapterDrop)",
         tuple(P.ADAPTERDROP_TABLE5), ("speedup",), ad.t05, ("probes",), "higher", P.ADAPTERDROP_TABLE5),
    Decl("table06", "adapterdrop", "Standard adapter vs cross-layer parameter sharing (GLUE dev)",
         GLUE8, P.ADAPTERDROP_TABLE6_VARIANTS, ads.t06, ("runs",), "higher", P.ADAPTERDROP_TABLE6),
    Decl("table07", "adapterdrop", "AdapterFusion with fusion dropout (dev scores, speedup)",
         ("cola", "mrpc", "rte", "stsb"), P.ADAPTERDROP_TABLE7_DROPOUTS, ads.t07, ("runs", "probes"),
         "higher", P.ADAPTERDROP_TABLE7),
    Decl("table08", "adapterdrop", "Retained performance (%) by dropped layers",
         (("standard", "Standard adapter"), ("specialized", "Specialized AdapterDrop (12 models)"),
          ("robust", "Robust AdapterDrop")), tuple(range(12)), ads.t08, ("runs", "evals"),
         "higher", P.ADAPTERDROP_TABLE8),
    Decl("table09", "adapterdrop", "Relative speed of adapters vs full FT, every input size",
         ("houlsby", "pfeiffer"), CELLS_T9, ad.t09, ("probes",), "higher", P.ADAPTERDROP_TABLE9),
    Decl("table10", "adapterdrop", "Relative speed of AdapterFusion (2 adapters), slowdown per adapter",
         CELLS_T10, P.T10_COLUMNS, ad.t10, ("probes",), "higher", P.ADAPTERDROP_TABLE10),
    Decl("table11", "adapterdrop", "Multi-task inference: relative speed and speedup per dropped layer",
         ROWS_T11, ("inference", "speedup"), ad.t11, ("probes",), "higher", P.ADAPTERDROP_TABLE11),
    Decl("table12", "adapterdrop", "AdapterFusion: iterative vs parallel implementation",
         tuple(P.ADAPTERDROP_TABLE12), ("rel_speed",), ad.t12, ("probes",), "higher",
         P.ADAPTERDROP_TABLE12),
    Decl("figure02", "adapterdrop", "Task performance by dropped layers (two tasks)",
         ("standard", "specialized", "robust"), ("dropped_layers",), fg.f02, ("runs", "evals")),
    Decl("figure05", "adapterdrop", "AdapterFusion pruning: score by adapters kept",
         ("cola", "mrpc", "rte", "stsb"), ("n_fusion",), fg.f05, ("evals",)),
    Decl("figure06", "adapterdrop", "Absolute time per training / inference step",
         ("full", "houlsby", "pfeiffer"), ("seq_len",), fg.f06, ("probes",), "lower"),
    Decl("figure08", "adapterdrop", "Multi-task inference time by dropped layers",
         ("n_tasks",), ("dropped_layers",), fg.f08, ("probes",), "lower"),
    Decl("figure09", "adapterdrop", "AdapterFusion time by number of adapters",
         ("fusion",), ("n_fusion",), fg.f09, ("probes",), "lower"),
    Decl("figure10", "adapterdrop", "AdapterFusion with AdapterDrop: time by dropped layers",
         ("fusion", "pfeiffer", "full"), ("dropped_layers",), fg.f10, ("probes",), "lower"),
    Decl("figure11", "adapterdrop", "Iterative minus parallel AdapterFusion inference time",
         ("seq_len × batch",), ("n_fusion",), fg.f11, ("probes",), "lower"),
    Decl("figure13", "adapterdrop", "Task performance by dropped layers (all tasks)",
         ("standard", "specialized", "robust"), ("dropped_layers",), fg.f13, ("runs", "evals")),
    # --- Compacter --------------------------------------------------------------------------
    Decl("table01", "compacter", "GLUE dev scores per method, % trained parameters",
         COMPACTER_METHODS, P.COMPACTER_TASKS, cp.t01, ("runs",), "higher", P.COMPACTER_TABLE1),
    Decl("table02", "compacter", "SuperGLUE dev scores per method",
         tuple(P.COMPACTER_TABLE2), P.SUPERGLUE_TASKS, cp.t02, ("runs",), "higher", P.COMPACTER_TABLE2),
    Decl("table03", "compacter",
         "Memory and training time per epoch (Δ as the paper: memory (m − f) / m, time (m − f) / f)",
         tuple(P.COMPACTER_TABLE3), ("pct", "memory", "d_memory", "time", "d_time"), cp.t03,
         ("runs",), "lower", P.COMPACTER_TABLE3),
    Decl("table06", "compacter", "Variants of n (PHM-Adapter, Compacter, Compacter++) and d (Intrinsic-SAID)",
         tuple(P.COMPACTER_TABLE6), P.COMPACTER_TASKS, cp.t06, ("runs",), "higher", P.COMPACTER_TABLE6),
    Decl("table07", "compacter", "GLUE with the output layer trained",
         tuple(P.COMPACTER_TABLE7), P.COMPACTER_TASKS, cp.t07, ("runs",), "higher", P.COMPACTER_TABLE7),
    Decl("table09", "compacter", "GLUE with the small model (T5-small)",
         tuple(P.COMPACTER_TABLE9), P.COMPACTER_TASKS, cp.t09, ("runs",), "higher", P.COMPACTER_TABLE9),
    Decl("figure04", "compacter", "Low-resource fine-tuning: dev score by training-set size",
         ("full", "compacterpp"), ("train_samples",), fg.cf04, ("runs",)),
    # --- efficiency2023 ---------------------------------------------------------------------
    Decl("table01", "efficiency2023",
         "Full FT vs adapters vs multi-task FT: time to best dev, inference latency, storage per task",
         ("full", "adapters…", "multitask_full"), ("time_to_best_s", "latency_ms", "storage_mb"),
         ef.t01, ("runs", "probes"), "lower"),
    Decl("table02", "efficiency2023", "Cross-lingual zero-shot score per language and method",
         ("full", "adapters…", "multitask_full", "multitask_adapter"), ("languages…", "mean"),
         ex.t02, ("runs",)),
    Decl("table03", "efficiency2023",
         "Adding a task: multi-task full FT with replay vs one new single-task model",
         ("multitask_add", "adapters…"), tuple(ea.COLUMNS[1:]), ea.t03, ("runs",)),
    Decl("figure01", "efficiency2023", "Dev score against training time, per task",
         ("methods…",), ("train_seconds",), ef_fig.f01, ("runs", "evals")),
    Decl("figure02", "efficiency2023",
         "Pareto: best dev score vs time to reach it (marker area ∝ log trainable parameters)",
         ("methods…",), ("time_to_best_s",), ef_fig.f02, ("runs",)),
    Decl("table04", "efficiency2023",
         "Serving k tasks: k full models vs one backbone with k adapter sets vs one multi-task model",
         ("full", "adapters…", "multitask_full"), ("latency_ms per k", "memory_mb per k"), es.t04,
         ("probes",), "lower"),
]
