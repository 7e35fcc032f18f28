"""Records written before a config field existed, read as the training they describe.

A record lacks the fields added after it was written; it describes the same training as a re-run
that records each such field at its key-baseline value (pipeline/key_baseline.py: the value that
trains as before the field existed), and has the same trial_key. Whatever groups or matches
records by method_config (the tables, `plan`'s forecast) completes each config first, so the two
are one. Torch- and pandas-free: `plan` uses it.
"""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.compute as pc

from pipeline import key_baseline


def config_of(text) -> dict:
    """A JSON object of the records (method_config, xling_scores) as a dict; {} for anything
    else."""
    try:
        value = json.loads(text) if text else {}
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def with_absent_fields(method: str, text):
    """A record's method_config (JSON text) with each absent field set to its key-baseline
    value; text as the records write it (json.dumps, sorted keys); unchanged when nothing is
    missing, for an empty or unreadable config and for a method without a baseline."""
    baseline = key_baseline.METHODS.get(method)
    config = config_of(text)
    if not baseline or not config or baseline.keys() <= config.keys():
        return text
    return json.dumps({**baseline, **config}, sort_keys=True)


def complete_configs(table: pa.Table) -> pa.Table:
    """``table`` (columns method, method_config: run or probe records) with every config
    completed: looked up once per distinct (method, config), a million probe rows included."""
    if table.num_rows == 0 or not {"method", "method_config"} <= set(table.column_names):
        return table
    key = pc.binary_join_element_wise(table["method"], pc.fill_null(table["method_config"], ""),
                                      "\x00")
    distinct = pc.unique(key)
    completed = []
    for text in distinct.to_pylist():
        method, config = text.split("\x00", 1)
        completed.append(with_absent_fields(method, config) if config else None)
    column = pa.array(completed, pa.string()).take(pc.index_in(key, distinct))
    return table.set_column(table.column_names.index("method_config"), "method_config", column)
