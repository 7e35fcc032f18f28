"""Hand-built records for the table tests (small, with known answers)."""

import json

from tracking.records import write_records


def probe(method, phase, median, seq=128, batch=16, n_tasks=1, dropped=0, n_fusion=0,
          config=None, status="ok", exclusive=True, model="m", device="cpu"):
    return dict(sweep="s", trial_key=f"{method}-{phase}", model=model, method=method,
                method_config=json.dumps(config or {}, sort_keys=True), phase=phase, seq_len=seq,
                batch_size=batch, n_tasks=n_tasks, dropped_layers=dropped, n_fusion=n_fusion,
                reps=3, warmup=1, median_ms=median, p10_ms=median, p90_ms=median,
                peak_mem_bytes=1, device=device, timer="perf_counter", exclusive=exclusive,
                status=status)


def run(method, lr, seed, score, task="sst2", config=None, model="m", status="ok", key=None,
        best_epoch=2, epochs=2, train_time_s=100.0, trainable=25, total=1000, train_samples=None):
    config = json.dumps(config or {}, sort_keys=True)
    return dict(sweep="s", trial_key=key or f"{method}{config}{lr}{seed}{task}{model}{train_samples}",
                status=status, model=model, method=method, method_config=config, task=task,
                metric="accuracy", lr=lr, seed=seed, epochs=epochs, best_epoch=best_epoch,
                dev_score=score, trainable_params=trainable, total_params=total,
                train_time_s=train_time_s, peak_mem_bytes=2**20, train_samples=train_samples,
                finished_at=f"2026-01-0{seed + 1}T00:00:00+00:00")


def evals(trial_key, method, task, scores_by_dropped, epoch=2, seed=0, lr=1e-3):
    return [dict(sweep="s", trial_key=trial_key, method=method, task=task, lr=lr, seed=seed,
                 epoch=epoch, step=10, dropped_layers=k, metric="accuracy", score=v)
            for k, v in scores_by_dropped.items()]


def write(tmp_path, kind, rows, name="t"):
    return write_records(tmp_path, kind, name, rows)


def md_rows(path, first_cells: int = 1) -> dict:
    """Markdown table rows keyed by their first cell(s) -> the remaining cells."""
    out = {}
    for line in path.read_text().splitlines():
        if line.startswith("| ") and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
            out[tuple(cells[:first_cells]) if first_cells > 1 else cells[0]] = cells[first_cells:]
    return out
