"""Every headline claim of the three papers, declared once: where the paper makes it, a short
paraphrase, the measurement that tests it (pipeline/claims/measures.py), the paper's own figures
(from pipeline/published.py, under the same keys as ours), and the rules of its verdict.

Tolerances, and why: probe medians repeat within a CV of ~2–3% (README, probe stability), so a
speed comparison needs a margin of a few % to mean anything; dev scores vary by ~1–2 points over
seeds on the small GLUE tasks, so a score claim allows 1–3 points.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from pipeline import published as P
from pipeline.claims import measures as M
from pipeline.claims.rules import Above, AtLeast, AtMost, Below, Rule, Within

ADAPTERDROP = "AdapterDrop (Rücklé et al., 2021)"
COMPACTER = "Compacter (Karimi Mahabadi et al., 2021)"
MUNDRA = "Mundra et al., 2023"


@dataclass(frozen=True)
class Claim:
    id: str
    paper: str
    where: str  # section / table of the paper
    claim: str  # the claim, paraphrased
    measure: Callable  # (Data of one device, device) -> {model: {figure: value}}
    sources: tuple[str, ...]  # record kinds it reads (runs, evals, probes)
    measured: str  # what the measurement is, in words (the ledger's method notes)
    needs: str  # the records it needs: the reason when a device has none
    figures: tuple[tuple[str, str], ...]  # (figure key, how to print it), ours and the paper's
    paper_figures: dict | None  # the paper's figures under the same keys; None: no number given
    rule: tuple[Rule, ...]  # the claim holds when every rule holds on our figures


_T1 = {phase: [v for (ph, _), cells in P.ADAPTERDROP_TABLE1.items() if ph == phase
               for v in cells.values()] for phase in ("train", "inference")}
_T3_ADAPTERS = [P.COMPACTER_TABLE3[m] for m in M.ADAPTERS if m in P.COMPACTER_TABLE3]
_CPP_T1 = P.COMPACTER_TABLE1["compacterpp phm_dim=4"]
_FULL_T1 = P.COMPACTER_TABLE1["full"]
SPREAD = (("min", "min {:.2f}×"), ("max", "max {:.2f}×"))

CLAIMS: list[Claim] = [
    Claim("adapterdrop-train-faster", ADAPTERDROP, "§2, Table 1",
          "Adapter training steps are faster than full fine-tuning's, up to 60% faster.",
          M.train_speed, ("probes",),
          "relative speed t_full / t_adapter of train steps (Houlsby, Pfeiffer), every "
          "single-task cell probed for both (as adapterdrop table01/09)",
          "ok, exclusive train-step probes of full FT and Houlsby or Pfeiffer at one cell "
          "(jobs/specs/adapterdrop_speed*.yaml)",
          SPREAD + (("pairs", "cell·adapter pairs: {:.0f}"),),
          {"min": min(_T1["train"]), "max": max(_T1["train"])},
          # faster in every cell, and at least half the paper's best speedup (60%) somewhere
          (Above("min", 1.0), AtLeast("max", 1.3))),
    Claim("adapterdrop-inference-slower", ADAPTERDROP, "§2, Table 1",
          "Adapters are 4–6% slower than full fine-tuning at inference.",
          M.inference_speed, ("probes",),
          "relative speed t_full / t_adapter of inference steps (Houlsby, Pfeiffer), every "
          "single-task cell probed for both",
          "ok, exclusive inference probes of full FT and Houlsby or Pfeiffer at one cell "
          "(jobs/specs/adapterdrop_speed*.yaml)",
          SPREAD + (("pairs", "cell·adapter pairs: {:.0f}"),),
          {"min": min(_T1["inference"]), "max": max(_T1["inference"])},
          # every cell 2–8% slower: the paper's 4–6% ± 2 points
          (Within("min", 0.92, 0.98), Within("max", 0.92, 0.98))),
    Claim("adapterdrop-layer-speedup", ADAPTERDROP, "§3, Table 2",
          "Each dropped (shared) layer speeds up multi-task inference by 4–8%.",
          M.dropped_layer_speedup, ("probes",),
          "−fitted slope of the multi-task inference step time over dropped layers, % of the "
          "time at 0, batch 16/32/64, seq 128, per number of simultaneous tasks (as table02)",
          "multi-task inference probes (n_tasks ≥ 2) at ≥ 2 dropped-layer settings "
          "(jobs/specs/adapterdrop_multitask*.yaml)",
          (("min", "min {:.1f}%"), ("max", "max {:.1f}%"), ("task counts", "task counts: {:.0f}")),
          {"min": min(P.ADAPTERDROP_TABLE2.values()), "max": max(P.ADAPTERDROP_TABLE2.values())},
          # every task count within the paper's 4.3–8.4% ± 1 point
          (Within("min", 3.3, 9.4), Within("max", 3.3, 9.4))),
    Claim("adapterdrop-retained-5", ADAPTERDROP, "§3, Table 8",
          "With adapters dropped from the 5 lowest layers, AdapterDrop keeps most of the "
          "performance: specialized 97.1%, robust 95.4% of the standard adapter's score.",
          M.retained_at_5, ("runs", "evals"),
          "% of the standard adapter's dev score (0 dropped layers) kept at 5 dropped layers, "
          "per task, averaged over the tasks measured (as table08)",
          "runs of the standard adapter evaluated at 0 dropped layers and of specialized "
          "(drop_first_n 5) and robust AdapterDrop (jobs/specs/adapterdrop_scores*.yaml)",
          (("specialized", "specialized {:.1f}%"), ("robust", "robust {:.1f}%")),
          {"specialized": P.ADAPTERDROP_TABLE8["specialized"][5],
           "robust": P.ADAPTERDROP_TABLE8["robust"][5]},
          # within 3 points of the paper (seed variation of the small GLUE tasks), or above
          (AtLeast("specialized", round(P.ADAPTERDROP_TABLE8["specialized"][5] - 3, 1)),
           AtLeast("robust", round(P.ADAPTERDROP_TABLE8["robust"][5] - 3, 1)))),
    Claim("adapterdrop-fusion-grows", ADAPTERDROP, "§4, Table 3 (slopes: Table 10)",
          "AdapterFusion's training and inference costs grow with the number of fused adapters.",
          M.fusion_slowdown, ("probes",),
          "% slowdown of the AdapterFusion step per added adapter (fitted slope over every K "
          "probed, iterative fusion, batch 32, seq 128), train and inference",
          "AdapterFusion probes at ≥ 2 numbers of adapters, batch 32, seq 128 "
          "(jobs/specs/adapterdrop_fusion*.yaml)",
          (("train", "train {:.1f}%/adapter"), ("inference", "inference {:.1f}%/adapter")),
          {"train": P.ADAPTERDROP_TABLE10[(128, 32)][("V100", "slowdown_train")],
           "inference": P.ADAPTERDROP_TABLE10[(128, 32)][("V100", "slowdown_inference")]},
          # grows beyond probe noise: at least 1% more time per added adapter
          (AtLeast("train", 1.0), AtLeast("inference", 1.0))),
    Claim("compacterpp-matches-full", COMPACTER, "§5.3, Table 1",
          "Compacter++ performs on par with full fine-tuning while training 0.047% of the "
          "parameters.",
          M.compacterpp_vs_full, ("runs",),
          "Compacter++ (n = 4) minus full FT: mean dev score ×100 over the tasks both have (LR "
          "chosen on dev); Compacter++'s trained share, task head included (shown, not judged: "
          "it follows from the model's size)",
          "ok runs of full FT and Compacter++ (phm_dim 4) on the same tasks "
          "(jobs/specs/compacter_scores*.yaml)",
          (("delta", "Δ {:+.2f} points"), ("share", "{:.3f}% trained"),
           ("tasks", "tasks: {:.0f}")),
          {"delta": float(_CPP_T1.scores["avg"]) - float(_FULL_T1.scores["avg"]),
           "share": float(_CPP_T1.pct)},
          # on par: at most 1 point below full fine-tuning's average
          (AtLeast("delta", -1.0),)),
    Claim("compacter-adapters-epoch-time", COMPACTER, "§5.5, Table 3",
          "Adapter methods train an epoch in less time than full fine-tuning.",
          M.adapter_epoch_time, ("runs",),
          "Δ training time per epoch of every adapter config vs full FT, (m − f) / f, per model "
          "and task (as compacter table03)",
          "ok trained runs of full FT and adapters on the same model and task "
          "(jobs/specs/compacter_memory_time*.yaml)",
          (("min", "min Δ {:+.1f}%"), ("max", "max Δ {:+.1f}%"), ("configs", "configs: {:.0f}")),
          {"min": min(r[4] for r in _T3_ADAPTERS), "max": max(r[4] for r in _T3_ADAPTERS)},
          # every adapter faster per epoch
          (Below("max", 0.0),)),
    Claim("compacter-adapters-memory", COMPACTER, "§5.5, Table 3",
          "Adapter methods need less training memory than full fine-tuning.",
          M.adapter_memory, ("runs",),
          "Δ peak training memory of every adapter config vs full FT, (m − f) / m (as compacter "
          "table03); GPU only",
          "ok trained runs of full FT and adapters on one model and task on a GPU (a CPU's RSS "
          "high-water mark does not compare across methods; compacter table03's note)",
          (("min", "min Δ {:+.1f}%"), ("max", "max Δ {:+.1f}%"), ("configs", "configs: {:.0f}")),
          {"min": min(r[2] for r in _T3_ADAPTERS), "max": max(r[2] for r in _T3_ADAPTERS)},
          (Below("max", 0.0),)),
    Claim("compacter-said-epoch-time", COMPACTER, "§5.5, Table 3",
          "Intrinsic-SAID is much slower to train than full fine-tuning (+242% time per epoch).",
          M.said_epoch_time, ("runs",),
          "Δ training time per epoch of Intrinsic-SAID vs full FT, (m − f) / f, smallest over "
          "tasks and configs",
          "ok trained runs of full FT and Intrinsic-SAID on the same model and task "
          "(jobs/specs/compacter_memory_time*.yaml)",
          (("said", "Δ {:+.1f}%"),),
          {"said": P.COMPACTER_TABLE3["intrinsic_said"][4]},
          # much slower: at least twice full fine-tuning's time per epoch
          (AtLeast("said", 100.0),)),
    Claim("mundra-adapters-converge-slower", MUNDRA, "abstract",
          "Adapters are relatively expensive to train: they take longer to converge than full "
          "fine-tuning.",
          M.convergence_ratio, ("runs",),
          "time to the best dev score of each adapter config / full FT's of the same sweep, "
          "summed over the tasks both have (LR chosen on dev; as efficiency2023 table01)",
          "ok runs of full FT and adapters on the same tasks in one sweep",
          SPREAD + (("adapters", "adapters: {:.0f}"),),
          None,
          (Above("min", 1.0),)),
    Claim("mundra-adapters-slower-inference", MUNDRA, "abstract",
          "Adapters have slightly higher deployment (inference) latency than full fine-tuning.",
          M.latency_ratio, ("probes",),
          f"inference step time of each adapter / full FT's, single task, seq "
          f"{M.REFERENCE_CELL[0]}, batch {M.REFERENCE_CELL[1]}; the paired probe's ratio where "
          f"there is one (as efficiency2023 table01)",
          f"ok, exclusive inference probes of full FT and an adapter at seq "
          f"{M.REFERENCE_CELL[0]}, batch {M.REFERENCE_CELL[1]}",
          SPREAD + (("adapters", "adapters: {:.0f}"),),
          None,
          # slower, but only slightly: every adapter 0–25% slower
          (Above("min", 1.0), AtMost("max", 1.25))),
    Claim("mundra-multitask-trains-faster", MUNDRA, "abstract",
          "Multi-task full fine-tuning gives adapters' maintainability with faster training than "
          "per-task adapters.",
          M.multitask_vs_adapters, ("runs",),
          "multi-task full FT's time to every task's best dev score / the summed times to best "
          "of one adapter per task, per adapter config of the same sweep",
          "ok runs of multitask_full and of adapters on each of its tasks in one sweep",
          SPREAD + (("adapters", "adapters: {:.0f}"),),
          None,
          (Below("max", 1.0),)),
]
