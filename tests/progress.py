"""Deadlines that follow progress: on a loaded machine (a shared CI runner, a demo sweep beside
the tests) work is slow, not stuck, so a test waits as long as something advances (output, CPU
time, records) and fails only when nothing has for STALL_S seconds."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from typing import Callable

import pytest

STALL_S = 600.0  # ten minutes without any sign of progress: stuck, not slow


def wait_advancing(done: Callable[[], bool], progress: Callable[[], object], what: str,
                   stall_s: float = STALL_S, poll_s: float = 0.5) -> None:
    """Wait until ``done()``; fail when ``progress()`` returned the same value for ``stall_s``."""
    last, since = progress(), time.monotonic()
    while not done():
        time.sleep(poll_s)
        now = progress()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since > stall_s:
            pytest.fail(f"{what}: nothing advanced for {stall_s:.0f} s")


def cpu_seconds(pid: int) -> float:
    """CPU time a process has used (user + system, /proc/<pid>/stat); 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_advancing(cmd: list[str], progress: Callable[[], object] = lambda: None,
                  cpu: bool = False, stall_s: float = STALL_S,
                  **popen_kwargs) -> subprocess.CompletedProcess:
    """``subprocess.run(cmd, capture_output=True, text=True)`` without a fixed timeout: it fails
    only when the command prints nothing and ``progress()`` stays the same (and, with ``cpu``,
    the command uses no CPU time: for commands that compute silently; a command that polls would
    never look stuck) for ``stall_s``; then its process group is killed."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, **popen_kwargs)
    out: dict[str, list[str]] = {"stdout": [], "stderr": []}
    readers = [threading.Thread(target=lambda s=stream, k=key: out[k].extend(iter(s.readline, "")),
                                daemon=True)
               for stream, key in ((proc.stdout, "stdout"), (proc.stderr, "stderr"))]
    for r in readers:
        r.start()
    try:
        wait_advancing(lambda: proc.poll() is not None,
                       lambda: (len(out["stdout"]), len(out["stderr"]),
                                cpu_seconds(proc.pid) if cpu else None, progress()),
                       f"{' '.join(map(str, cmd))[:200]}", stall_s)
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)  # its own session: this command and its children
        proc.wait()
        raise
    for r in readers:
        r.join()
    return subprocess.CompletedProcess(cmd, proc.returncode, "".join(out["stdout"]),
                                       "".join(out["stderr"]))
