"""The claim ledger: every claim of registry.CLAIMS judged on the records of each device.

    adapterbench claims --results DIR     # prints it; `adapterbench tables` writes tables/claims.md

Each device in the records (runs' and probes' ``device``) gets its own slice of the records, so
a figure never mixes a CPU's timings with a GPU's. Per claim and device: one row per model
measured, or one "not measured here" row saying which records the claim needs.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pyarrow.compute as pc

from pipeline.claims.registry import CLAIMS, Claim
from pipeline.claims.rules import NOT_MEASURED, describe, missing, verdict
from pipeline.tables.core import DASH, Data

EXIT_BAD_INPUT = 2


@dataclass(frozen=True)
class Verdict:
    claim: Claim
    device: str
    model: str
    figures: dict  # ours ({} when not measured)
    verdict: str  # reproduced | not reproduced | not measured here
    why: str


def devices(data: Data) -> list[str]:
    runs = set(data.runs["device"].dropna()) if "device" in data.runs else set()
    probes = set(data.probes["device"].drop_null().to_pylist()) if data.probes is not None \
        else set()
    return sorted(runs | probes)


def device_slice(data: Data, device: str) -> Data:
    """The records of one device: its runs, their evals, its probes."""
    runs = data.runs[data.runs["device"] == device]
    evals = data.evals[data.evals["trial_key"].isin(set(runs["trial_key"]))] \
        if len(data.evals) else data.evals
    probes = data.probes.filter(pc.fill_null(pc.equal(data.probes["device"], device), False))
    return Data(runs, evals, probes)


FLAGS = {"contended": "disturbed (contended)", "not_exclusive": "not exclusive",
         "oom": "out of memory", "failed": "failed"}


def left_out(data: Data, sources: tuple[str, ...]) -> str:
    """What this device's records hold but every figure leaves out (the tables' reasons)."""
    flags = list(data.probe_flags.values()) if "probes" in sources else []
    flags += list(data.failed_runs.values()) if "runs" in sources else []
    if not flags:
        return ""
    kind = "probe cells" if "probes" in sources else "run cells"
    counts = ", ".join(f"{flags.count(f)} {FLAGS[f]}" for f in sorted(set(flags)))
    return f"; left out here: {counts} {kind}"


def judge(data: Data) -> list[Verdict]:
    """Every claim × device (× model measured), in declaration, device and model order."""
    slices = {d: device_slice(data, d) for d in devices(data)}
    out = []
    for claim in CLAIMS:
        if not slices:
            out.append(Verdict(claim, DASH, DASH, {}, NOT_MEASURED, "no records"))
        for device, part in slices.items():
            measured = claim.measure(part, device)
            if not measured:
                why = "needs " + claim.needs + left_out(part, claim.sources)
                out.append(Verdict(claim, device, DASH, {}, NOT_MEASURED, why))
            for model in sorted(measured):
                v, why = verdict(claim.rule, measured[model])
                out.append(Verdict(claim, device, model, measured[model], v, why))
    return out


def show(claim: Claim, figures: dict | None) -> str:
    if figures is None:
        return "no number given (abstract only)"
    if not figures:
        return DASH
    return " · ".join(template.format(figures[key]) if not missing(figures.get(key))
                      else f"{key} {DASH}" for key, template in claim.figures
                      if key in figures or key in {r.key for r in claim.rule})


def markdown(data: Data) -> str:
    """A claims × devices summary, then per claim its source, the paper's figures, what is
    measured, the rule and a row per device (and model)."""
    verdicts = judge(data)
    cols = sorted({v.device for v in verdicts})
    lines = ["# Claim ledger", "",
             "The papers' headline claims, each tested on these records, per device: "
             "**reproduced**, **not reproduced** or **not measured here**. Claims, measurements "
             "and verdict rules are declared once in pipeline/claims/registry.py; verdicts are "
             "computed from the Parquet records, never typed.", "",
             "| Claim | Source | " + " | ".join(cols) + " |", "|---|---|" + "---|" * len(cols)]
    for c in CLAIMS:
        cells = []
        for device in cols:
            mine = [v for v in verdicts if v.claim is c and v.device == device]
            if len({v.verdict for v in mine}) == 1:
                cells.append(mine[0].verdict)
            else:  # models disagree: name them
                cells.append(", ".join(f"{v.verdict} ({v.model})" for v in mine))
        lines.append(f"| [{c.id}](#{c.id}) | {c.paper}, {c.where} | " + " | ".join(cells) + " |")
    for c in CLAIMS:
        lines += ["", f"## {c.id}", "", f"{c.claim} ({c.paper}, {c.where})", "",
                  f"Measured: {c.measured}. Reproduced when {describe(c.rule)}.", "",
                  "| Device | Model | Ours | Paper | Verdict |", "|---|---|---|---|---|"]
        for v in verdicts:
            if v.claim is c:
                why = f": {v.why}" if v.why else ""
                lines.append(f"| {v.device} | {v.model} | {show(c, v.figures)} | "
                             f"{show(c, c.paper_figures)} | **{v.verdict}**{why} |")
    return "\n".join(lines) + "\n"


def main(results: str) -> int:
    """Print the ledger of a results directory; a path that is not one: one line, exit 2."""
    path = Path(results)
    if not path.is_dir() or not (path / "records").is_dir():
        why = "no such directory" if not path.exists() else \
            "not a directory" if not path.is_dir() else "no records/ folder in it"
        print(f"adapterbench: error: --results {results}: {why}", file=sys.stderr)
        return EXIT_BAD_INPUT
    from pipeline.tables.regen import load_data, regeneration_lock

    try:
        with regeneration_lock(path.resolve()):  # the tables' record cache, never two writers
            data, _ = load_data(path.resolve())
    except PermissionError:  # a read-only results directory: read the records, cache nothing
        data, _ = load_data(path.resolve(), use_cache=False)
    sys.stdout.write(markdown(data))
    return 0
