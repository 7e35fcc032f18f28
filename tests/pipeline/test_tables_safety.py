"""Safe regeneration: corrupt files skipped, no interleaving, byte-identical, incremental cache."""

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import pipeline.tables.regen as regen
from pipeline.tables import regenerate
from progress import cpu_seconds, wait_advancing
from tables_records import md_rows, probe, run, write

ROOT = Path(__file__).resolve().parents[2]


def _records(tmp_path):
    write(tmp_path, "runs", [run("full", 1e-4, 0, 0.9), run("pfeiffer", 1e-3, 0, 0.8)])
    write(tmp_path, "probes", [probe("full", "train", 10.0, seq=s) for s in (64, 128)]
          + [probe("pfeiffer", "train", 8.0, seq=s) for s in (64, 128)], name="p")


def _snapshot(results: Path) -> dict:
    return {p.relative_to(results): p.read_bytes()
            for root in ("tables", "figures") for p in sorted((results / root).rglob("*")) if p.is_file()}


def test_corrupt_and_half_written_files_are_skipped_with_a_warning(tmp_path):
    _records(tmp_path)
    folder = tmp_path / "records" / "runs"
    (folder / "broken-0001.parquet").write_bytes(b"PAR1 this is not parquet")
    good = next(folder.glob("t-*.parquet")).read_bytes()
    (folder / "half-0002.parquet").write_bytes(good[: len(good) // 2])  # a torn copy
    (folder / ".t-x.parquet.tmp").write_bytes(b"being written")  # writer's temp name: ignored
    with pytest.warns(UserWarning) as caught:
        regenerate(tmp_path)
    messages = " ".join(str(w.message) for w in caught)
    assert "broken-0001.parquet" in messages and "half-0002.parquet" in messages
    assert ".t-x.parquet.tmp" not in messages
    t1 = md_rows(tmp_path / "tables/adapterdrop/table01.md", 2)
    assert t1[("Training", "Pfeiffer")][0] == "1.25 (1.57)"  # the good records still count
    with pytest.warns(UserWarning, match="broken-0001.parquet"):  # retried (not cached) next time
        regenerate(tmp_path)


def test_twice_on_the_same_records_is_byte_identical_png_included(tmp_path):
    _records(tmp_path)
    first = _snapshot(tmp_path) if regenerate(tmp_path) else None
    second = _snapshot(tmp_path) if regenerate(tmp_path) else None
    assert first == second
    assert any(p.suffix == ".png" for p in first) and any(p.suffix == ".tex" for p in first)
    cold = tmp_path / "cold"  # no cache at all: still the same bytes
    (cold / "records").mkdir(parents=True)
    for p in (tmp_path / "records").rglob("*.parquet"):
        dest = cold / p.relative_to(tmp_path)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(p.read_bytes())
    regenerate(cold, use_cache=False)
    cold_snap = _snapshot(cold)
    index = Path("tables/index.md")  # the probe files' mtimes differ in the copy
    assert {k: v for k, v in cold_snap.items() if k != index} == \
        {k: v for k, v in first.items() if k != index}
    assert not list(tmp_path.glob(".tables-staging-*"))


def test_new_and_removed_record_files_are_picked_up(tmp_path):
    _records(tmp_path)
    regenerate(tmp_path)
    extra = write(tmp_path, "probes", [probe("houlsby", "train", 5.0)], name="h")
    regenerate(tmp_path)
    assert md_rows(tmp_path / "tables/adapterdrop/table01.md", 2)[("Training", "Houlsby")][0] == "2.00 (1.48)"
    extra.unlink()
    regenerate(tmp_path)
    assert md_rows(tmp_path / "tables/adapterdrop/table01.md", 2)[("Training", "Houlsby")][0] == "– (1.48)"


def test_regenerations_in_threads_never_interleave(tmp_path, monkeypatch):
    _records(tmp_path)
    inside, overlaps, real_build = [], [], regen.build

    def traced_build(results, use_cache=True):
        inside.append(1)
        if len(inside) > 1:
            overlaps.append(len(inside))
        time.sleep(0.05)  # widen the window an unlocked version would interleave in
        try:
            return real_build(results, use_cache)
        finally:
            inside.pop()

    monkeypatch.setattr(regen, "build", traced_build)
    threads = [threading.Thread(target=regenerate, args=(tmp_path,)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps == []


def test_a_held_lock_blocks_a_second_regeneration(tmp_path):
    _records(tmp_path)
    done = threading.Event()
    with regen.regeneration_lock(tmp_path.resolve()):
        t = threading.Thread(target=lambda: (regenerate(tmp_path), done.set()))
        t.start()
        assert not done.wait(0.5)  # waits for the lock holder
        assert not (tmp_path / "tables").exists()
    t.join()
    assert done.is_set() and (tmp_path / "tables/index.md").exists()


def test_two_processes_at_once_give_the_same_files_as_one(tmp_path):
    _records(tmp_path)
    code = "import sys; from pipeline.tables import regenerate; regenerate(sys.argv[1])"
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], cwd=ROOT)
             for _ in range(2)]
    wait_advancing(lambda: all(p.poll() is not None for p in procs),  # as long as they compute
                   lambda: [cpu_seconds(p.pid) for p in procs], "two regenerations")
    assert [p.wait() for p in procs] == [0, 0]
    together = _snapshot(tmp_path)
    regenerate(tmp_path)
    assert _snapshot(tmp_path) == together
    assert not list(tmp_path.glob(".tables-staging-*"))


def test_watch_loop_regenerates_each_round(tmp_path, capsys):
    from pipeline.tables.schedule import watch

    _records(tmp_path)
    assert watch(tmp_path, 0, rounds=2) == 0
    assert capsys.readouterr().out.count("regenerated") == 2
    assert (tmp_path / "tables/index.md").exists()
