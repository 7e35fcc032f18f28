"""A per-node device lease: training trials share the device, a timing probe has it alone.

Readers-writer lock over two lock files (fcntl.flock, so it works across Ray worker processes
and the kernel releases it if a worker dies):
- training takes the *device* lock shared around every step (a few µs per step), so a probe
  waits at most for the steps in flight, not for whole trials;
- a probe takes the *device* lock exclusively for all its reps.
A waiting probe first takes the *turnstile* exclusively and keeps it until it is done; training
passes through the turnstile before each shared acquisition, so training cannot starve a waiting
probe (writer preference).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import time
from pathlib import Path

LEASE_DIR_ENV = "ADAPTERBENCH_LEASE_DIR"
# When set, every held interval is appended to this file as "<S|X> <pid> <start> <end>"
# (CLOCK_MONOTONIC seconds, comparable across processes of one machine): tests check with it that
# no training step overlapped a probe.
TRACE_ENV = "ADAPTERBENCH_LEASE_TRACE"


def lease_dir() -> Path:
    path = Path(os.environ.get(LEASE_DIR_ENV) or Path(tempfile.gettempdir()) / "adapterbench-lease")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _trace(kind: str, start: float) -> None:
    path = os.environ.get(TRACE_ENV)
    if path:  # one short O_APPEND write per interval: lines from many processes do not mix
        with open(path, "a") as f:
            f.write(f"{kind} {os.getpid()} {start:.6f} {time.monotonic():.6f}\n")


class DeviceLease:
    def __init__(self, folder: Path | None = None):
        folder = Path(folder or lease_dir())
        # flock locks belong to the open file: every DeviceLease opens its own descriptors, so two
        # leases conflict even inside one process (tests use threads as stand-ins for workers).
        self._turnstile = os.open(folder / "turnstile.lock", os.O_RDWR | os.O_CREAT, 0o666)
        self._device = os.open(folder / "device.lock", os.O_RDWR | os.O_CREAT, 0o666)
        self.waited_s = 0.0  # time training spent waiting for probes (not training time)

    @contextlib.contextmanager
    def shared(self):
        """Around one training step (or eval batch)."""
        t0 = time.perf_counter()
        fcntl.flock(self._turnstile, fcntl.LOCK_EX)
        fcntl.flock(self._device, fcntl.LOCK_SH)
        fcntl.flock(self._turnstile, fcntl.LOCK_UN)
        self.waited_s += time.perf_counter() - t0
        start = time.monotonic()
        try:
            yield
        finally:
            _trace("S", start)
            fcntl.flock(self._device, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def exclusive(self):
        """Around a whole probe cell: nothing else runs on the device meanwhile."""
        fcntl.flock(self._turnstile, fcntl.LOCK_EX)
        try:
            fcntl.flock(self._device, fcntl.LOCK_EX)
            start = time.monotonic()
            try:
                yield
            finally:
                _trace("X", start)
                fcntl.flock(self._device, fcntl.LOCK_UN)
        finally:
            fcntl.flock(self._turnstile, fcntl.LOCK_UN)

    def close(self) -> None:
        os.close(self._device)
        os.close(self._turnstile)
