"""A per-node device lease: training trials share the device, a timing probe has it alone.

Readers-writer lock over two lock files (fcntl.flock, so it works across Ray worker processes
and is released by the kernel if a worker dies):
- training holds the *device* lock shared;
- a probe holds the *device* lock exclusively.
A waiting probe first takes the *turnstile* exclusively and keeps it until it is done; training
passes through the turnstile before taking its shared lock, so new training cannot starve a
waiting probe (writer preference).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from pathlib import Path

LEASE_DIR_ENV = "ADAPTERBENCH_LEASE_DIR"


def lease_dir() -> Path:
    path = Path(os.environ.get(LEASE_DIR_ENV) or Path(tempfile.gettempdir()) / "adapterbench-lease")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _open(name: str) -> int:
    return os.open(lease_dir() / name, os.O_RDWR | os.O_CREAT, 0o666)


@contextlib.contextmanager
def shared_device():
    """Held by a training trial for its whole training phase."""
    turnstile, device = _open("turnstile.lock"), _open("device.lock")
    try:
        fcntl.flock(turnstile, fcntl.LOCK_EX)
        fcntl.flock(device, fcntl.LOCK_SH)
        fcntl.flock(turnstile, fcntl.LOCK_UN)
        yield
    finally:
        os.close(device)  # closing releases the flock
        os.close(turnstile)


@contextlib.contextmanager
def exclusive_device():
    """Held by a probe: no training or other probe uses the device meanwhile."""
    turnstile, device = _open("turnstile.lock"), _open("device.lock")
    try:
        fcntl.flock(turnstile, fcntl.LOCK_EX)
        fcntl.flock(device, fcntl.LOCK_EX)
        yield
    finally:
        os.close(device)
        os.close(turnstile)
