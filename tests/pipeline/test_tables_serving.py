"""efficiency2023 table04 (serving k tasks) on hand-made probe records with hand-computed cells."""

from pipeline.tables import regenerate
from pipeline.tables.efficiency_serving import NO_K, PAIRED_ONLY
from tables_records import md_rows, probe, write

FULL = "full fine-tuning (k models)"
PFEIFFER = "pfeiffer (one backbone, k adapter sets)"
BITFIT = "bitfit (one backbone, k adapter sets)"
MULTI = "multi-task full FT (one model, k heads)"


def row(method, median, mb, n_tasks=1, **kw):
    return {**probe(method, "inference", median, n_tasks=n_tasks, **kw),
            "peak_mem_bytes": int(mb * 1e6)}


def _md(tmp_path):
    return tmp_path / "tables" / "efficiency2023" / "table04.md"


def test_latency_and_memory_per_k_for_each_way_of_serving(tmp_path):
    write(tmp_path, "probes", [
        row("full", 10.0, 100, 1),
        row("full", 20.0, 200, 2), row("full", 22.0, 210, 2),  # medians: 21 ms, 205 MB
        row("full", 0.0, 0, 4, status="oom"),
        row("full", 1.0, 1, 2, batch=32),  # another cell: 128 × 16 is the reference
        row("pfeiffer", 11.0, 101, 1), row("pfeiffer", 13.0, 103, 2), row("pfeiffer", 15.0, 104, 4),
        # a paired row: its own time counts (median 13, 17 -> 15), its memory holds the baseline too
        {**row("pfeiffer", 17.0, 999, 2), "paired_with": "full", "ratio_median": 1.5,
         "ratio_status": "ok"},
        row("pfeiffer", 5.0, 5, 2, dropped=1),  # dropped layers: another setting
        row("bitfit", 12.0, 102, 1),  # never probed with k > 1
        row("multitask_full", 10.0, 150, 1), row("multitask_full", 11.0, 151, 2),
        row("multitask_full", 12.0, 153, 4),
        row("multitask_full", 1.0, 1, 4, exclusive=False),  # shared its device: left out
    ])
    regenerate(tmp_path)
    md = _md(tmp_path).read_text()
    assert ("| Serving k tasks | k=1 latency (ms) | k=1 memory (MB) | k=2 latency (ms) | "
            "k=2 memory (MB) | k=4 latency (ms) | k=4 memory (MB) |") in md
    rows = md_rows(_md(tmp_path))
    assert rows[FULL] == ["10.00", "100.0", "21.00", "205.0", "–", "–"]
    assert rows[PFEIFFER] == ["11.00", "101.0", "15.00", "103.0", "15.00", "104.0"]
    assert rows[BITFIT] == ["12.00", "102.0", "–", "–", "–", "–"]
    assert rows[MULTI] == ["10.00", "150.0", "11.00", "151.0", "12.00", "153.0"]
    assert list(rows)[1:] == [FULL, BITFIT, PFEIFFER, MULTI]
    assert "- –: OOM" in md and f"- –: {NO_K}" in md
    assert "Cell: seq 128, batch 16" in md


def test_smallest_cell_with_k_tasks_and_paired_only_memory(tmp_path):
    write(tmp_path, "probes", [
        row("full", 30.0, 300, 2, seq=64, batch=8),
        row("full", 3.0, 30, 2, seq=64, batch=4),  # smaller: this cell is shown
        {**row("multitask_full", 2.0, 99, 2, seq=64, batch=4), "paired_with": "full"},
    ])
    regenerate(tmp_path)
    md = _md(tmp_path).read_text()
    rows = md_rows(_md(tmp_path))
    assert rows[FULL] == ["3.00", "30.0"]
    assert rows[MULTI] == ["2.00", "–"]
    assert f"- –: {PAIRED_ONLY}" in md and "Cell: seq 64, batch 4" in md


def test_no_probes_yet(tmp_path):
    regenerate(tmp_path)
    rows = md_rows(_md(tmp_path))
    assert rows[FULL] == [] and rows[MULTI] == []
    assert "not run: no records" in _md(tmp_path).read_text()
