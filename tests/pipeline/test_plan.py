"""`adapterbench plan`: the forecast from hand-made records equals the hand-computed seconds."""

import textwrap

import pytest

from pipeline.cli import main
from pipeline.grid import expand
from pipeline.plan import CPU_K, plan
from pipeline.spec import load_spec
from tracking.records import ok_trial_keys, write_records

DEVICE = "cpu:test"
SPEC = """
name: t
model: tiny-bert
tasks: [sst2]
seeds: [0, 1, 2]
methods:
  - {name: full, lrs: [1.0e-3]}
  - {name: houlsby, lrs: [1.0e-3]}
  - {name: pfeiffer, lrs: [1.0e-3]}
  - {name: lowrank, lrs: [1.0e-3]}
training: {epochs: 2, max_train_samples: 64, batch_size: 16, max_seq_len: 32}
probes: {cells: [[32, 4]], reps: 3, warmup: 1}
"""


def write(tmp_path, text, name="spec.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def run(point_or_key, method, train_time_s, epochs=2, samples=64, status="ok", device=DEVICE,
        config=None):
    key = getattr(point_or_key, "trial_key", point_or_key)
    config = config if config is not None else point_or_key.method_config
    return dict(trial_key=key, status=status, model="tiny-bert", method=method,
                method_config=config, task="sst2", epochs=epochs, train_samples=samples,
                train_time_s=train_time_s, total_params=1000, device=device)


def probe(key, method, config, phase, ms, seq=32, batch=4, exclusive=True, status="ok"):
    return dict(trial_key=key, model="tiny-bert", method=method, method_config=config,
                phase=phase, seq_len=seq, batch_size=batch, n_tasks=1, dropped_layers=0,
                median_ms=ms, device=DEVICE, exclusive=exclusive, status=status)


def records(tmp_path, spec):
    """full: 3 same-budget runs (10, 12, 14 s; 12 is grid point seed 0: done), one failed run
    of seed 1 (not done) and one on another device (ignored); houlsby: one run at half the
    examples and epochs (5 s: ×4); pfeiffer and lowrank: no runs. Probes: full's train cell
    measured (100 ms, exclusive: not measured again), its inference cell only non-exclusive
    (50 ms), an oom row of it (no time); houlsby's train cell disturbed (300 ms, status
    contended: timed, yet measured again); a lowrank train probe at the training cell
    (32 × 16): 200 ms per step."""
    points = {(p.method, p.seed): p for p in expand(spec)}
    full, houlsby = points["full", 0], points["houlsby", 0]
    cfg = full.method_config
    results = tmp_path / "results"
    rows = [run("old1", "full", 10.0, config=cfg), run("old2", "full", 14.0, config=cfg),
            run(full, "full", 12.0), run(points["full", 1], "full", 1.0, status="failed"),
            run("other", "full", 1000.0, device="cpu:other", config=cfg),
            run("oldh", "houlsby", 5.0, epochs=1, samples=32, config=houlsby.method_config)]
    for r in rows:
        write_records(results, "runs", r["trial_key"], [r])
    low = points["lowrank", 0].method_config
    write_records(results, "probes", "old1", [probe("old1", "full", cfg, "train", 100.0)])
    write_records(results, "probes", "old2",
                  [probe("old2", "full", cfg, "inference", 50.0, exclusive=False)])
    write_records(results, "probes", "oldo",
                  [probe("oldo", "full", cfg, "inference", None, status="oom")])
    write_records(results, "probes", "oldc",
                  [probe("oldc", "houlsby", houlsby.method_config, "train", 300.0,
                         status="contended")])
    write_records(results, "probes", "oldl",
                  [probe("oldl", "lowrank", low, "train", 200.0, seq=32, batch=16)])
    return results


def test_forecast_equals_hand_computed_seconds(tmp_path):
    spec = load_spec(write(tmp_path, SPEC))
    results = records(tmp_path, spec)
    forecast = plan(spec, expand(spec), results, device=DEVICE)
    done = {p.trial_key for p in expand(spec)} & ok_trial_keys(results)  # the sweep's rule
    assert len(done) == 1 and forecast.done == 1
    rows = {r.method: r for r in forecast.rows}
    # k (s per param·token; the model's runs say 1000 params): train, the median of full's
    # 0.1 s, houlsby's 0.3 s over 1000·32·4 and lowrank's 0.2 s over 1000·32·16: full's;
    # inference, full's 0.05 s over 1000·32·4. Steps per point: ceil(64 / 16) × 2 epochs = 8.
    expected = {  # method: (done, train s per point, probe s, train guessed, probes guessed)
        "full": (1, 12.0, 4 * 0.05, False, False),  # train cell measured; inference: (1+3) × 50 ms
        "houlsby": (0, 5.0 * 4, 4 * 0.3 + 4 * 0.05, False, True),  # runs ×4; inference guessed
        "pfeiffer": (0, 8 * 0.1 * (32 * 16) / (32 * 4), 4 * 0.1 + 4 * 0.05, True, True),
        "lowrank": (0, 8 * 0.2, 4 * 0.1 + 4 * 0.05, False, True),  # probe × steps
    }
    for method, (done, per_point, probe_s, train_guess, probe_guess) in expected.items():
        r = rows[method]
        assert (r.points, r.done, r.todo) == (3, done, 3 - done), method
        assert r.train.seconds == pytest.approx(per_point, rel=1e-12), method
        assert r.train_s == pytest.approx(per_point * (3 - done), rel=1e-12), method
        assert r.probes.seconds == pytest.approx(probe_s, rel=1e-12), method
        assert (r.train.guess, r.probes.guess) == (train_guess, probe_guess), method
    assert rows["houlsby"].train.source.startswith("runs (1) ×4 ")
    assert rows["lowrank"].train.source == "probe×steps (8 steps)"
    assert rows["houlsby"].probes.source == "guess, probe records"
    total = 2 * 12.0 + 0.2 + 3 * 20.0 + 1.4 + 3 * 3.2 + 0.6 + 3 * 1.6 + 0.6
    assert forecast.total_s == pytest.approx(total, rel=1e-12)
    assert (forecast.grid, forecast.done) == (12, 1)
    line = forecast.line()
    assert f"12 grid points, 1 done, 11 to run: ≈ 1 min {round(total) - 60} s" in line
    assert "of it a first-order guess" in line


def test_records_from_before_a_config_field_still_forecast(tmp_path):
    """A run and a probe written before houlsby's config had train_output_layer (the field at
    its key-baseline value trains the same) give the forecast their times."""
    import json

    spec = load_spec(write(tmp_path, SPEC))
    houlsby = next(p for p in expand(spec) if p.method == "houlsby")
    old = dict(houlsby.method_config)
    assert old.pop("train_output_layer") is False  # today's config records the field
    old = json.dumps(old, sort_keys=True)
    results = tmp_path / "results"
    write_records(results, "runs", "oldh", [run("oldh", "houlsby", 7.0, config=old)])
    write_records(results, "probes", "oldh", [probe("oldh", "houlsby", old, "train", 300.0)])
    rows = {r.method: r for r in plan(spec, expand(spec), results, device=DEVICE).rows}
    assert rows["houlsby"].train.seconds == 7.0 and rows["houlsby"].train.source == "runs (1)"
    assert not rows["houlsby"].train.guess


def test_force_probes_every_trial_and_done_points_are_excluded(tmp_path):
    spec = load_spec(write(tmp_path, SPEC.replace("warmup: 1", "warmup: 1, force: true")))
    results = records(tmp_path, spec)
    for p in expand(spec):  # every full point done now
        if p.method == "full" and p.seed:
            write_records(results, "runs", p.trial_key, [run(p, "full", 12.0)])
    rows = {r.method: r for r in plan(spec, expand(spec), results, device=DEVICE).rows}
    full, houlsby = rows["full"], rows["houlsby"]
    assert (full.done, full.todo, full.train_s, full.total_s) == (3, 0, 0.0, 0.0)
    # force: each of the 3 trials measures both cells, (1 + 3) reps each; inference guessed
    assert houlsby.probes.seconds == pytest.approx(3 * (4 * 0.3 + 4 * 0.05), rel=1e-12)


def test_probe_cells_are_per_task_kind(tmp_path):
    """Full's cells measured on classification batches (sst2, cb) are not those of COPA's
    multiple-choice batches: COPA's trials measure theirs (guessed), once for the kind."""
    text = SPEC.replace("tasks: [sst2]", "tasks: [sst2, cb, copa]").replace("seeds: [0, 1, 2]",
                                                                          "seeds: [0]")
    spec = load_spec(write(tmp_path, text))
    cfg = expand(spec)[0].method_config
    results = tmp_path / "results"
    write_records(results, "runs", "old1", [run("old1", "full", 10.0, config=cfg)])
    write_records(results, "probes", "old1", [
        probe("old1", "full", cfg, "train", 100.0), probe("old1", "full", cfg, "inference", 50.0),
        dict(probe("old1", "full", cfg, "inference", 70.0, seq=32, batch=16),
             batch_kind="multiple_choice")])  # COPA's only: not its (32, 4) cell
    rows = {(r.method, r.task): r for r in plan(spec, expand(spec), results, device=DEVICE).rows}
    assert rows["full", "sst2"].probes.seconds == rows["full", "cb"].probes.seconds == 0.0
    assert rows["full", "sst2"].probes.source == "measured before"
    copa = rows["full", "copa"].probes
    # guessed with k: train 0.1 s over 1000·32·4; inference the median of 0.05 s over 1000·32·4
    # and 0.07 s over 1000·32·16 (every kind's probes fit k). (1 + 3) reps each.
    assert copa.guess and copa.seconds == pytest.approx(4 * 0.1 + 4 * (0.05 + 0.07 / 4) / 2,
                                                        rel=1e-12)


def test_no_records_is_a_marked_guess_from_the_cpu_constant(tmp_path, capsys):
    spec = write(tmp_path, SPEC)
    assert main(["plan", str(spec), "--results", str(tmp_path / "empty"), "--device", DEVICE]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    rows = [line for line in out if line.startswith("| full") or line.startswith("| pfeiffer")]
    assert rows and all("| guess: 2-core CPU constant × 8 steps |" in r and "| ~" in r
                        for r in rows)
    assert any(line.startswith("note: no train probe records on cpu:test") for line in out)
    assert out[-1].startswith("forecast 't' on cpu:test: 12 grid points, 0 done, 12 to run")
    assert "first-order guess" in out[-1]
    forecast = plan(load_spec(spec), expand(load_spec(spec)), tmp_path / "empty", device=DEVICE)
    full = forecast.rows[0]
    from pipeline.plan import base_params

    params = base_params("tiny-bert")
    assert full.train.seconds == pytest.approx(CPU_K["train"] * params * 32 * 16 * 8, rel=1e-12)


def test_builtin_model_sizes_equal_a_count_of_the_model():
    """The forecast reads built-in models' sizes from a table (no transformers import): each
    entry must be what the model really has."""
    from pipeline.models import BASE_PARAMS, BUILTIN_CONFIGS, count_base_params

    assert set(BASE_PARAMS) == {"minilm", *BUILTIN_CONFIGS}
    assert {name: count_base_params(name) for name in BASE_PARAMS} == BASE_PARAMS


def test_bad_spec_is_one_line_and_exit_2(tmp_path, capsys):
    spec = write(tmp_path, SPEC.replace("name: full", "name: fulll"))
    assert main(["plan", str(spec), "--results", str(tmp_path / "r")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1
    assert err.startswith("adapterbench: error: methods[0]: unknown method 'fulll'")
    assert not (tmp_path / "r").exists()


def test_sweep_prints_the_forecast_line_at_start(tmp_path, capsys):
    from pipeline.sweep import run_sweep

    spec_path = write(tmp_path, SPEC)
    spec = load_spec(spec_path)
    results = tmp_path / "results"
    for p in expand(spec):  # all done: the sweep stops before Ray, after its start lines
        write_records(results, "runs", p.trial_key, [run(p, p.method, 1.0)])
    counts = run_sweep(str(spec_path), str(results))
    assert counts["skipped"] == 12
    out = capsys.readouterr().out
    assert "forecast 't' on " in out and ": 12 grid points, 12 done, 0 to run: ≈ 0.0 s" in out


def test_a_gpu_spec_on_a_driver_without_gpu_is_not_forecast_from_its_cpu(tmp_path):
    from pipeline.plan import forecast_line, local_device

    spec = load_spec(write(tmp_path, SPEC + "resources: {gpus_per_trial: 1}\n"))
    line = forecast_line(spec, expand(spec), tmp_path / "r", set())
    if local_device().startswith("cpu:"):  # this machine, CI's too: no GPU
        assert line.startswith(f"forecast skipped: trials ask for GPUs and this driver has none "
                               f"({local_device()})")
    else:  # a GPU driver forecasts for its own GPU
        assert line.startswith(f"forecast 't' on {local_device()}")
    cpu_spec = load_spec(write(tmp_path, SPEC, "cpu.yaml"))
    assert forecast_line(cpu_spec, expand(cpu_spec), tmp_path / "r", set()).startswith(
        f"forecast 't' on {local_device()}: 12 grid points")


def test_multi_task_points_are_forecast_with_their_tasks_examples(tmp_path):
    """A multi-task point ("sst2+rte") is one grid point: the forecast counts it (before, its rows
    were dropped: 9 grid points swept, 6 forecast) and trains on both tasks' examples per epoch."""
    text = SPEC.replace("tasks: [sst2]", "tasks: [sst2, rte]").replace(
        "seeds: [0, 1, 2]", "seeds: [0]").replace(
        "  - {name: lowrank, lrs: [1.0e-3]}\n",
        "  - {name: lowrank, lrs: [1.0e-3]}\n  - {name: multitask_full, lrs: [1.0e-3]}\n")
    spec = load_spec(write(tmp_path, text))
    points = expand(spec)
    forecast = plan(spec, points, tmp_path / "empty", device=DEVICE)
    assert forecast.grid == len(points) == 4 * 2 + 1
    rows = {(r.method, r.task): r for r in forecast.rows}
    group, single = rows["multitask_full", "sst2+rte"], rows["full", "sst2"]
    assert group.points == 1 and group.train.guess
    # 64 + 64 examples in batches of 16, 2 epochs: 16 steps against a single task's 8
    assert group.train.seconds == pytest.approx(2 * single.train.seconds, rel=1e-12)
    assert "× 16 steps" in group.train.source


def test_a_multitask_adapter_point_is_forecast_and_labelled_with_its_adapter(tmp_path):
    """multitask_adapter must name its adapter, so its defaults cannot be built from {}: plan
    crashed with "needs an adapter method" on efficiency2023_serving_cpu.yaml."""
    text = SPEC.replace("tasks: [sst2]", "tasks: [sst2, rte]").replace(
        "seeds: [0, 1, 2]", "seeds: [0]").replace(
        "  - {name: lowrank, lrs: [1.0e-3]}\n",
        "  - {name: lowrank, lrs: [1.0e-3]}\n"
        "  - {name: multitask_adapter, config: {adapter: pfeiffer}, lrs: [1.0e-3]}\n")
    spec = load_spec(write(tmp_path, text))
    forecast = plan(spec, expand(spec), tmp_path / "empty", device=DEVICE)
    rows = {(r.method, r.task): r for r in forecast.rows}
    assert rows["multitask_adapter(adapter=pfeiffer)", "sst2+rte"].points == 1


def test_fusion_source_adapters_are_forecast_once_and_not_when_cached(tmp_path):
    """AdapterFusion over trained adapters: each distinct source adapter is one row (trained
    once for every fusion point that needs it), estimated as a trial of its size, not a grid
    point; a cached one costs nothing; done fusion points need none."""
    from pipeline.fusion_sources import cache_dir, source_key
    import adapters

    text = SPEC.replace("tasks: [sst2]", "tasks: [rte]").replace("seeds: [0, 1, 2]", "seeds: [0]")
    text = text.replace("  - {name: full, lrs: [1.0e-3]}\n", "".join(
        f"  - {{name: fusion, config: {{num_adapters: 2, fusion_dropout: {p}, "
        "source_tasks: [sst2, rte]}, lrs: [1.0e-3]}\n" for p in (0.0, 0.5)))
    spec = load_spec(write(tmp_path, text))
    points = expand(spec)
    results = tmp_path / "results"
    forecast = plan(spec, points, results, device=DEVICE)
    assert forecast.grid == len(points) == 2 + 3
    sources = [r for r in forecast.rows if not r.grid]
    assert [(r.task, r.points, r.done) for r in sources] == [("sst2", 1, 0), ("rte", 1, 0)]
    fusion_rte = next(r for r in forecast.rows if r.method.startswith("fusion") and r.grid)
    # 64 examples, batches of 16, 2 epochs on both: the same first-order guess per trial
    assert sources[1].train.guess and \
        sources[1].train.seconds == pytest.approx(fusion_rte.train.seconds, rel=1e-12)
    assert "2 AdapterFusion source adapter(s) to train first" in forecast.line()

    fusion = [p for p in points if p.method == "fusion"]
    config = adapters.make_config("fusion", fusion[0].method_config)
    key = source_key(spec.model, "sst2", config, 0, fusion[0].training)
    for suffix in (".safetensors", ".json"):
        (cache_dir(results) / f"{key}{suffix}").write_text("x")
    cached = [r for r in plan(spec, points, results, device=DEVICE).rows if not r.grid]
    assert [(r.task, r.done) for r in cached] == [("sst2", 1), ("rte", 0)]
    assert cached[0].train_s == 0.0 and cached[1].train_s > 0
    assert not [r for r in plan(spec, points, results, done={p.trial_key for p in fusion},
                                device=DEVICE).rows if not r.grid]
