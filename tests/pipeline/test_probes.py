"""Probe arithmetic on a fake clock, OOM cells, and the exclusive device lease."""

import threading
import time

import numpy as np
import pytest
import torch

from pipeline import lease
from pipeline.models import load_model
from pipeline.probes import probe_cell, summarize
from progress import wait_advancing


def test_summary_statistics():
    median, p10, p90 = summarize([5.0, 1.0, 3.0, 2.0, 4.0])
    assert median == 3.0
    assert p10 == pytest.approx(np.percentile([1, 2, 3, 4, 5], 10)) == pytest.approx(1.4)
    assert p90 == pytest.approx(4.6)


def test_fake_clock_reps_and_warmup():
    ticks = iter([10.0, 30.0, 20.0, 40.0])
    calls = []

    def clock(step):
        step()
        calls.append(1)
        return next(ticks)

    model = load_model("tiny-bert", num_labels=2)
    r = probe_cell(model, "inference", 8, 2, reps=4, warmup=3, device=torch.device("cpu"),
                   clock=clock)
    assert len(calls) == 4  # warm-up steps are run but not timed
    assert (r.median_ms, r.p10_ms, r.p90_ms) == (25.0, 13.0, 37.0)
    assert r.status == "ok" and r.reps == 4 and r.warmup == 3


def test_train_probe_leaves_the_model_untouched():
    model = load_model("tiny-bert", num_labels=2)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    r = probe_cell(model, "train", 8, 2, reps=2, warmup=1, device=torch.device("cpu"))
    assert r.status == "ok" and r.timer == "perf_counter" and r.median_ms > 0
    assert all(torch.equal(p, before[n]) for n, p in model.named_parameters())


def test_a_kinds_batch_maker_builds_the_timed_batch_and_inference_drops_its_targets():
    from pipeline.kinds import get_kind
    from pipeline.tasks import get_task

    qa = get_kind("extractive_qa")
    seen = []

    class Recording:  # the real QA kind, with its batch maker recorded
        name, target_keys = qa.name, qa.target_keys

        def random_batch(self, model, seq_len, batch_size, device):
            seen.append((seq_len, batch_size))
            return qa.random_batch(model, seq_len, batch_size, device)

    model = qa.load_model("tiny-bert", get_task("squad"), seed=0)
    inputs = []
    model.register_forward_pre_hook(lambda m, a, kw: inputs.append(set(kw)), with_kwargs=True)
    for phase in ("train", "inference"):
        r = probe_cell(model, phase, 8, 2, reps=1, warmup=0, device=torch.device("cpu"),
                       kind=Recording())
        assert r.status == "ok"
    assert seen == [(8, 2), (8, 2)]
    assert "start_positions" not in inputs[-1]  # the last call is inference: no QA loss timed


@pytest.mark.parametrize("paired", [False, True])
def test_a_cells_model_copies_are_freed_when_it_returns(monkeypatch, paired):
    """N adapter sets (n_tasks 2) hook back into their own model, a reference cycle: without a
    collection after the cell, its copies stay allocated (on a GPU, under the next cells'
    and the next trial's memory peaks)."""
    import gc
    import weakref

    import adapters
    from pipeline import paired as paired_module
    from pipeline import probes
    from pipeline.paired import paired_cell

    copies, real_prepare = [], probes.prepare

    def recording_prepare(*args):
        prepared = real_prepare(*args)  # full FT's N models are a list: each one counts
        copies.extend(weakref.ref(m) for m in (prepared if isinstance(prepared, list)
                                               else [prepared]))
        return prepared

    monkeypatch.setattr(probes, "prepare", recording_prepare)
    monkeypatch.setattr(paired_module, "prepare", recording_prepare)
    model = load_model("tiny-bert", num_labels=2)
    adapters.apply_method(model, "houlsby")
    try:
        gc.disable()  # only the cell's own collection may free the copies
        if paired:
            r = paired_cell(model, load_model("tiny-bert", num_labels=2), "inference", 8, 2,
                            reps=2, warmup=1, device=torch.device("cpu"), n_tasks=2).times
        else:
            r = probe_cell(model, "inference", 8, 2, reps=2, warmup=1,
                           device=torch.device("cpu"), n_tasks=2)
        assert r.status == "ok" and len(copies) == (3 if paired else 1)
        assert [ref() for ref in copies] == [None] * len(copies)
    finally:
        gc.enable()


def test_oom_cell_is_recorded_not_raised():
    # A fake: a real out-of-memory error cannot be caused safely on a shared CPU machine.
    def clock(step):
        raise torch.OutOfMemoryError("CUDA out of memory (simulated)")

    model = load_model("tiny-bert", num_labels=2)
    r = probe_cell(model, "train", 8, 2, reps=2, warmup=0, device=torch.device("cpu"), clock=clock)
    assert r.status == "oom" and r.median_ms is None


def test_probe_waits_for_steps_in_flight_and_blocks_new_steps():
    """Exclusive lease: a probe starts only when no training step is in flight; a step that
    arrives while a probe waits goes after the probe (writer preference). Threads stand in for
    Ray workers: each DeviceLease opens its own lock files, and flock locks of different open
    files conflict even inside one process."""
    events = []
    step_may_end = threading.Event()

    def step(name, hold):
        device = lease.DeviceLease()
        with device.shared():
            events.append(f"{name} start")
            if hold:
                hold.wait()  # set below, also when an assertion fails first
            events.append(f"{name} end")
        device.close()

    def probe():
        device = lease.DeviceLease()
        with device.exclusive():
            events.append("probe start")
            events.append("probe end")
        device.close()

    first = threading.Thread(target=step, args=("A", step_may_end))
    first.start()
    try:
        while "A start" not in events:
            time.sleep(0.01)
        prober = threading.Thread(target=probe)
        prober.start()
        time.sleep(0.2)  # let the probe queue up behind A's step
        late = threading.Thread(target=step, args=("B", None))
        late.start()
        time.sleep(0.2)
        assert events == ["A start"]  # neither the probe nor B's step got in during A's step
    finally:
        step_may_end.set()
    threads = (first, prober, late)
    wait_advancing(lambda: not any(t.is_alive() for t in threads), lambda: len(events),
                   "the step, the probe and the late step")
    assert events == ["A start", "A end", "probe start", "probe end", "B start", "B end"]


def test_cpu_peak_memory_resets_between_phases():
    """A reused Ray worker must not report an earlier trial's peak: the RSS high-water mark is
    reset per phase (Linux /proc/self/clear_refs)."""
    from pipeline.probes import peak_memory, reset_peak_memory

    cpu = torch.device("cpu")
    big = torch.ones(300 * 2**20 // 8, dtype=torch.float64)  # 300 MiB, touched
    big += 1
    with_big = peak_memory(cpu)
    del big
    reset_peak_memory(cpu)
    assert peak_memory(cpu) < with_big - 200 * 2**20
