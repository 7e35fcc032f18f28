"""Trials of a local sweep run at the driver's priority, not at Ray's default worker nice 15
(pipeline/sweep.py `_run_ray`): a niced trial loses the CPU to every other tenant, and its
timings say more about the neighbours than about the method."""

import os
import sys
import textwrap
import types
from pathlib import Path

from pipeline.grid import expand
from pipeline.spec import load_spec


def _report_niceness(config, ctx):
    """Stand-in trainable: writes the worker process's niceness, then reports like a trial."""
    from ray import tune

    point = config["point"]
    (Path(ctx.out) / point["trial_key"]).write_text(str(os.nice(0)))
    tune.report({"done_trial": True, "status": "ok"})


def test_local_sweep_trials_run_at_the_drivers_niceness(tmp_path, ray_tmp):
    from ray import cloudpickle  # Ray's own copy pickles what workers receive

    from pipeline.sweep import _run_ray

    (tmp_path / "spec.yaml").write_text(textwrap.dedent("""
        name: niceness
        model: tiny-bert
        tasks: [sst2]
        seeds: [0, 1]
        methods: [{name: pfeiffer, lrs: [1.0e-3]}]
        training: {epochs: 1, max_train_samples: 8}
        resources: {cpus_per_trial: 1, max_concurrent_trials: 2}
    """))
    spec = load_spec(tmp_path / "spec.yaml")
    points = expand(spec)
    out = tmp_path / "niceness"
    out.mkdir()
    (tmp_path / "results").mkdir()
    ctx = types.SimpleNamespace(results=str(tmp_path / "results"), out=str(out))
    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers can't import tests
    try:
        _run_ray(spec, points, ctx, "local", 2, trainable=_report_niceness)
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    seen = {p.name: int(p.read_text()) for p in out.iterdir()}
    assert set(seen) == {p.trial_key for p in points}
    assert set(seen.values()) == {os.nice(0)}  # Ray's default would give os.nice(0) + 15
