"""A per-node device lease: training trials share the device, a timing probe has it alone.

Readers-writer lock over two lock files (fcntl.flock, so it works across Ray worker processes
and the kernel releases it if a worker dies):
- training takes the *device* lock shared around every step (a few µs per step), so a probe
  waits at most for the steps in flight, not for whole trials;
- a probe takes the *device* lock exclusively for all its reps.
A waiting probe first takes the *turnstile* exclusively and keeps it until it is done; training
passes through the turnstile before each shared acquisition, so training cannot starve a waiting
probe (writer preference).

The lease folder also holds *probe claims* (``claims/<name>``, see ``claim``): a trial claims a
probe cell under the exclusive lease before it measures it, so two trials that reach the same cell
at once measure it once. And it lists the processes that use the lease (``members/``): during a
probe they wait for it, so the probe does not count them as other tenants of its device.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import tempfile
import time
from pathlib import Path
from typing import Callable

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
        self._claims = folder / "claims"
        self._members = folder / "members"
        for sub in (self._claims, self._members):
            sub.mkdir(exist_ok=True)
        self._member = self._members / f"{os.getpid()}-{id(self):x}"
        self._member.touch()

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

    def claim(self, name: str, note: dict, stands: Callable[[dict, bool], bool]) -> bool:
        """Call while holding ``exclusive()``: that makes check-and-claim one step. Claim ``name``
        for this process (``note`` is stored with it) and return True, unless a claim on it
        stands: ``stands(its note, whether its owner process is alive)`` decides."""
        path = self._claims / name
        try:
            held = json.loads(path.read_text())
        except (OSError, ValueError):
            held = None  # none, or unreadable: nobody holds it
        if held is not None and stands(held, owner_alive(held)):
            return False
        write_json(path, {**note, **_me()})
        return True

    def release_claim(self, name: str) -> None:
        """Give up a claim of this process (its measurement will not reach the records)."""
        path = self._claims / name
        try:
            held = json.loads(path.read_text())
        except (OSError, ValueError):
            return
        if {k: held.get(k) for k in ("host", "pid", "start")} == _me():
            path.unlink(missing_ok=True)

    def members(self) -> set[int]:
        """PIDs of the live processes on this host that use the lease."""
        out = set()
        for entry in os.scandir(self._members):
            head = entry.name.split("-")[0]
            if head.isdigit() and (int(head) == os.getpid() or _process_start(int(head))):
                out.add(int(head))
        return out

    def close(self) -> None:
        self._member.unlink(missing_ok=True)
        os.close(self._device)
        os.close(self._turnstile)


def _process_start(pid: int) -> str | None:
    """The start time of process ``pid`` (clock ticks after boot, /proc/<pid>/stat field 22), so
    a reused PID is not taken for the claim's owner; None: no such process (or no /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _me() -> dict:
    return {"host": socket.gethostname(), "pid": os.getpid(), "start": _process_start(os.getpid())}


def owner_alive(note: dict) -> bool:
    """Whether the process that wrote a claim still runs. A claim from another host (a lease
    folder shared over the network) cannot be checked and counts as alive."""
    if note.get("host") != socket.gethostname():
        return True
    pid = note.get("pid")
    if not isinstance(pid, int):
        return False
    if os.path.isdir("/proc"):
        return _process_start(pid) == note.get("start")
    try:  # no /proc (macOS): the PID exists
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


@contextlib.contextmanager
def exclusive_lock(path: Path):
    """An exclusive flock on ``path``, created if missing; the kernel drops it if the process
    dies. For one writer at a time (table regeneration, training one fusion source)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            # unlocked explicitly: closing releases it only if no copy of the descriptor
            # (a child forked in the body) still refers to the open file
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def write_json(path: Path, data: dict) -> None:
    """``data`` as JSON under a temporary name, renamed into place: readers see all or none."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, sort_keys=True))
    os.replace(tmp, path)
