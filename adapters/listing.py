"""`adapterbench methods --model M [--json]`: every registered method with its parameter counts.

    python -c 'from adapters.listing import main; main(["--model", "t5-base"])'

Each method is applied with its defaults to its own copy of the model (random init for built-in
configs). Counts include the task head (which every method trains) and, in the total, the
modules a method adds. Counting needs no weights and no forward pass. ``--json`` also gives
``head_params`` (the task head's share of the trainable count), ``base_params`` (the model
before any method) and ``base_model_params`` (the same without the task head's classifier: the
pretrained model papers divide by), for comparisons with papers that count differently.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json

from adapters import METHODS, apply_method, count_parameters, head_parameters


def rows(model_name: str, num_labels: int = 2) -> list[dict]:
    from pipeline.models import load_model  # imported here: adapters/ must not need pipeline/

    base = load_model(model_name, num_labels=num_labels, seed=0)
    base_total = sum(p.numel() for p in base.parameters())
    pretrained = sum(p.numel() for p in base.base_model.parameters())
    out = []
    for name in sorted(METHODS):
        model = copy.deepcopy(base)
        try:
            config = apply_method(model, name)
        except (ValueError, TypeError) as e:  # e.g. a default that needs more layers than M has
            out.append(dict(method=name, trainable_params=None, total_params=None,
                            head_params=None, base_params=base_total,
                            base_model_params=pretrained, pct_trainable=None,
                            description=METHODS[name].description, config=None, error=str(e)))
            continue
        trainable, total = count_parameters(model)
        head = sum(p.numel() for p in head_parameters(model))
        out.append(dict(method=name, trainable_params=trainable, total_params=total,
                        head_params=head, base_params=base_total, base_model_params=pretrained,
                        pct_trainable=100.0 * trainable / total,
                        description=METHODS[name].description,
                        config=dataclasses.asdict(config), error=None))
        del model
    return out


def format_table(model_name: str, table: list[dict]) -> str:
    lines = [f"model: {model_name}", "",
             "| method | trainable params | total params | % trainable |",
             "|---|---:|---:|---:|"]
    for r in table:
        if r["error"]:
            lines.append(f"| {r['method']} | - | - | - |")
        else:
            lines.append(f"| {r['method']} | {r['trainable_params']:,} | {r['total_params']:,} "
                         f"| {r['pct_trainable']:.3f} |")
    errors = [f"- {r['method']}: not applicable with its defaults: {r['error']}"
              for r in table if r["error"]]
    if errors:
        lines += [""] + errors
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="adapterbench methods",
                                     description="List methods with trainable/total parameters.")
    parser.add_argument("--model", default="minilm",
                        help="HF id or path, or a built-in config: tiny-bert, bert-base, "
                             "roberta-base, xlm-r-base, t5-base, t5-small (random init); "
                             "minilm = the offline all-MiniLM-L6-v2 weights (default)")
    parser.add_argument("--num-labels", type=int, default=2, help="size of the task head")
    parser.add_argument("--json", action="store_true", help="print JSON rows instead of a table")
    args = parser.parse_args(argv)
    table = rows(args.model, args.num_labels)
    print(json.dumps(table, indent=2) if args.json else format_table(args.model, table))
    return 0
