"""Records from before a config field existed group with their re-runs (the tables fill an
absent field with its key-baseline value, the value the old training used), and trials without a
dev score (probe-only) never show as a score."""

import json
import math

import pyarrow as pa
from tables_records import md_rows, run, write

from pipeline.tables import regenerate
from pipeline.config_fields import complete_configs, with_absent_fields

OLD = {"activation": "relu", "reduction_factor": 16, "train_layer_norm": False}  # before the field
NEW = {**OLD, "train_output_layer": False}  # the same training, recorded after it was added


def _table01(tmp_path):
    return md_rows(tmp_path / "tables" / "compacter" / "table01.md")


def test_a_record_from_before_a_field_groups_with_its_rerun(tmp_path):
    write(tmp_path, "runs", [
        run("houlsby", 1e-3, 0, 0.80, task="sst2", config=OLD),
        run("houlsby", 1e-3, 0, 0.60, task="rte", config=NEW),
        run("houlsby", 1e-3, 0, 0.70, task="cola", config={**OLD, "reduction_factor": 32}),
    ])
    regenerate(tmp_path)
    t1 = _table01(tmp_path)
    # one row for rf 16 with both tasks; the other size keeps its own row
    row = t1["houlsby reduction_factor=16 [Adapter]"]
    assert row[3] == "80.00 ± 0.00 (n=1) (93.81)" and row[9] == "60.00 ± 0.00 (n=1) (71.94)"
    assert row[-1] == "70.00 (85.78)"  # the average over both
    assert t1["houlsby reduction_factor=32 [Adapter]"][2].startswith("70.00 ± 0.00 (n=1)")
    assert not [k for k in t1 if "train_output_layer" in k]


def test_absent_fields_take_the_baseline_and_nothing_else_changes():
    assert json.loads(with_absent_fields("houlsby", json.dumps(OLD, sort_keys=True))) == NEW
    complete = json.dumps({**NEW, "train_output_layer": True}, sort_keys=True)
    assert with_absent_fields("houlsby", complete) == complete  # a set value is kept as it is
    assert with_absent_fields("full", "{}") == "{}"
    assert with_absent_fields("not_registered", '{"a": 1}') == '{"a": 1}'
    probes = pa.table({"method": ["houlsby", "houlsby", "full", "lora"],
                       "method_config": [json.dumps(OLD, sort_keys=True),
                                         json.dumps(NEW, sort_keys=True), "{}", None]})
    configs = complete_configs(probes)["method_config"].to_pylist()
    assert configs[0] == configs[1] == json.dumps(NEW, sort_keys=True)
    assert configs[2:] == ["{}", None]


def test_a_probe_only_trial_is_no_score(tmp_path):
    write(tmp_path, "runs", [
        run("pfeiffer", 1e-3, 0, 0.80, task="sst2"),
        run("pfeiffer", 1e-3, 0, math.nan, task="rte", epochs=0, best_epoch=0),  # probes only
    ])
    regenerate(tmp_path)
    row = _table01(tmp_path)["pfeiffer [Pfeiffer-Adapter]"]
    assert row[9] == "– (76.26)" and row[-1] == "80.00 (86.32)"  # rte: no nan, not averaged
    assert "nan" not in (tmp_path / "tables" / "compacter" / "table01.md").read_text()
