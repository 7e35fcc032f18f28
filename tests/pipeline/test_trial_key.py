"""trial_key across code versions (the rule in pipeline/grid.py): a new field with a neutral
default keeps every key, a changed default re-runs the points that use it (and only those), a
version bump re-runs the method, and nothing else moves a key."""

import dataclasses

import pytest

import adapters
from pipeline import grid, key_baseline, spec as spec_module
from pipeline.spec import Probes, Training, parse_spec

SPEC = dict(name="keys", model="tiny-bert", tasks=["sst2"], seeds=[0],
            methods=[{"name": "compacter", "lrs": [1e-3]},
                     {"name": "compacter", "config": {"phm_dim": 8}, "lrs": [1e-3]},
                     {"name": "houlsby", "lrs": [1e-3]}],
            training={"epochs": 2, "max_train_samples": 64})


def keys(raw=SPEC) -> dict:
    """(method, phm_dim or None) -> trial_key."""
    return {(p.method, p.method_config.get("phm_dim")): p.trial_key
            for p in grid.expand(parse_spec(raw))}


def with_fields(cls, **fields):
    """``cls`` with extra (or re-defaulted) fields, as a later code version would have it."""
    return dataclasses.make_dataclass(
        cls.__name__, [(k, type(v), dataclasses.field(default=v)) for k, v in fields.items()],
        bases=(cls,), frozen=cls.__dataclass_params__.frozen)


def patch_method(monkeypatch, name, **changes):
    monkeypatch.setitem(adapters.METHODS, name, dataclasses.replace(adapters.METHODS[name], **changes))


def patch_training(monkeypatch, cls):
    for module in (spec_module, grid):
        monkeypatch.setattr(module, "Training", cls)


def test_keys_are_pinned():
    # Records on disk are found by these: a change here re-runs every sweep's points.
    assert keys() == {("compacter", 4): "8521863d5ea48cea", ("compacter", 8): "e9d62b8972c18fb2",
                      ("houlsby", None): "68defdca13f9e73a"}


def test_a_new_method_field_with_a_neutral_default_reuses_every_key(monkeypatch):
    before = keys()
    cls = adapters.METHODS["compacter"].config_cls
    patch_method(monkeypatch, "compacter", config_cls=with_fields(cls, share_fast_weights=False))
    assert keys() == before
    # setting it to anything else is a different training: a new key
    raw = {**SPEC, "methods": [{"name": "compacter", "config": {"share_fast_weights": True}}]}
    assert set(keys(raw).values()).isdisjoint(before.values())


def test_a_new_training_field_with_a_neutral_default_reuses_every_key(monkeypatch):
    before = keys()
    patch_training(monkeypatch, with_fields(Training, label_smoothing=0.0, train_split_seed=0))
    assert keys() == before
    moved = keys({**SPEC, "training": {**SPEC["training"], "label_smoothing": 0.1}})
    assert set(moved.values()).isdisjoint(before.values())


def test_a_changed_method_default_reruns_the_points_that_use_it(monkeypatch):
    before = keys()
    cls = adapters.METHODS["compacter"].config_cls
    patch_method(monkeypatch, "compacter", config_cls=with_fields(cls, phm_dim=8))  # was 4
    after = keys({**SPEC, "methods": [{"name": "compacter"}, {"name": "compacter",
                                                              "config": {"phm_dim": 4}},
                                      {"name": "houlsby"}]})
    # the default point now trains n = 8: the key of the n = 8 records, not of the old n = 4 ones
    assert after[("compacter", 8)] == before[("compacter", 8)]
    # a spec that asks for the old value explicitly finds the records of the old default
    assert after[("compacter", 4)] == before[("compacter", 4)]
    assert after[("houlsby", None)] == before[("houlsby", None)]


def test_a_changed_training_default_reruns_every_point_that_uses_it(monkeypatch):
    before = keys()
    patch_training(monkeypatch, with_fields(Training, warmup_ratio=0.06))  # was 0.1
    assert set(keys().values()).isdisjoint(before.values())
    explicit = keys({**SPEC, "training": {**SPEC["training"], "warmup_ratio": 0.1}})
    assert explicit == before


def test_a_version_bump_reruns_that_method_only(monkeypatch):
    before = keys()
    patch_method(monkeypatch, "compacter", config_version=2)
    after = keys()
    assert after[("compacter", 4)] != before[("compacter", 4)]
    assert after[("compacter", 8)] != before[("compacter", 8)]
    assert after[("houlsby", None)] == before[("houlsby", None)]
    monkeypatch.setattr(key_baseline, "TRAINING_VERSION", 2)
    assert set(keys().values()).isdisjoint(after.values())


def test_equal_values_written_differently_are_one_key():
    base = {**SPEC, "methods": [{"name": "shared_adapter"}, {"name": "lora"}]}
    same = {**SPEC, "methods": [{"name": "shared_adapter", "config": {"reduction_factor": 16}},
                                {"name": "lora", "config": {"target_modules": ["query", "value"],
                                                            "alpha": 8}}]}
    assert list(keys(base).values()) == list(keys(same).values())


def test_what_does_not_change_the_result_does_not_change_the_key():
    before = keys()
    assert keys({**SPEC, "name": "other", "resources": {"max_concurrent_trials": 1}}) == before
    assert keys({**SPEC, "training": {**SPEC["training"], "epochs": 3}}) != before


@pytest.mark.parametrize("section", ["methods", "training", "probes"])
def test_every_field_has_a_baseline_value(section):
    """A field missing from pipeline/key_baseline.py is compared with its current default: add it
    (with the value that trains as before the field existed) before its default ever changes."""
    if section == "methods":
        missing = {name: sorted({f.name for f in dataclasses.fields(m.config_cls)}
                                - set(key_baseline.METHODS.get(name, {})))
                   for name, m in adapters.METHODS.items()}
        missing = {k: v for k, v in missing.items() if v or k not in key_baseline.METHODS}
    else:
        cls, baseline = {"training": (Training, key_baseline.TRAINING),
                         "probes": (Probes, key_baseline.PROBES)}[section]
        missing = sorted({f.name for f in dataclasses.fields(cls)} - set(baseline))
    assert not missing, f"add to pipeline/key_baseline.py ({section}): {missing}"
