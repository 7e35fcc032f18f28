"""Tables from hand-built records with known answers."""

from pipeline.tables import regenerate
from tracking.records import write_records


def probe(method, phase, median, seq=128, batch=16, status="ok", exclusive=True):
    return dict(sweep="s", trial_key=f"{method}-{phase}", model="m", method=method,
                method_config="{}", phase=phase, seq_len=seq, batch_size=batch, n_tasks=1,
                dropped_layers=0, n_fusion=0, reps=3, warmup=1, median_ms=median, p10_ms=median,
                p90_ms=median, peak_mem_bytes=1, device="cpu", timer="perf_counter",
                exclusive=exclusive, status=status)


def run(method, lr, seed, score, task="sst2"):
    return dict(sweep="s", trial_key=f"{method}{lr}{seed}{task}", status="ok", model="m",
                method=method, method_config="{}", task=task, metric="accuracy", lr=lr, seed=seed,
                dev_score=score, trainable_params=25, total_params=1000,
                finished_at=f"2026-01-0{seed + 1}T00:00:00+00:00")


def test_relative_speed_is_t_full_over_t_method(tmp_path):
    write_records(tmp_path, "probes", "p", [
        probe("full", "train", 300.0), probe("full", "train", 100.0),  # median of medians: 200
        probe("houlsby", "train", 160.0), probe("pfeiffer", "train", 125.0),
        probe("full", "inference", 50.0), probe("houlsby", "inference", 52.0),
        probe("pfeiffer", "inference", 40.0, exclusive=False),  # not exclusive: left out
        probe("houlsby", "train", 1.0, seq=512, batch=32, status="oom"),
    ])
    regenerate(tmp_path)
    md = (tmp_path / "tables/adapterdrop/table01.md").read_text()
    rows = {tuple(c.strip() for c in line.split("|")[1:3]): [c.strip() for c in line.split("|")[3:-1]]
            for line in md.splitlines() if line.startswith("| Training") or line.startswith("| Inference")}
    # columns: 128/16 128/32 512/16 512/32
    assert rows[("Training", "Houlsby")][0] == "1.25 (1.48)"  # 200 / 160
    assert rows[("Training", "Pfeiffer")][0] == "1.60 (1.57)"  # 200 / 125
    assert rows[("Inference", "Houlsby")][0] == "0.96 (0.94)"  # 50 / 52
    assert rows[("Inference", "Pfeiffer")][0] == "– (0.95)"
    assert rows[("Training", "Houlsby")][3] == "– (1.33)"
    assert "OOM" in md and "not run" in md
    csv_text = (tmp_path / "tables/adapterdrop/table01.csv").read_text()
    assert "1.25 (1.48)" in csv_text


def test_scores_mean_std_and_lr_selection(tmp_path):
    write_records(tmp_path, "runs", "r", [
        run("houlsby", 1e-3, 0, 0.80), run("houlsby", 1e-3, 1, 0.90),  # mean 85.00, std 7.07
        run("houlsby", 1e-4, 0, 0.84), run("houlsby", 1e-4, 1, 0.84),  # mean 84: not chosen
        run("houlsby", 1e-3, 0, 0.60, task="rte"),
    ])
    regenerate(tmp_path)
    md = (tmp_path / "tables/compacter/table01.md").read_text()
    row = [line for line in md.splitlines() if line.startswith("| houlsby")][0]
    cells = [c.strip() for c in row.split("|")[1:-1]]
    assert cells[2] == "2.500 (0.832)"
    assert cells[4] == "85.00 ± 7.07 (n=2) (93.81)"  # sst2 column
    assert cells[10] == "60.00 ± 0.00 (n=1) (71.94)"  # rte column
    assert cells[3] == "– (64.02)"  # cola: not run
    assert cells[-1] == "72.50 (85.78)"  # avg over measured tasks: (85 + 60) / 2
    assert "houlsby/sst2: lr=0.001" in md


def test_regeneration_is_byte_identical_and_indexed(tmp_path):
    write_records(tmp_path, "runs", "r", [run("full", 1e-4, 0, 0.9)])
    first = {p: p.read_bytes() for p in regenerate(tmp_path)}
    second = {p: p.read_bytes() for p in regenerate(tmp_path)}
    assert first == second
    index = (tmp_path / "tables/index.md").read_text()
    assert "| 1 runs | 2026-01-01T00:00:00+00:00 |" in index
    assert not list(tmp_path.glob(".tables-staging-*"))  # staging directory removed
