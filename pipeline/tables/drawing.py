"""Draw figures in a child process while the regeneration goes on with the tables.

matplotlib needs 20-30 ms per panel (ticks and text layout): ~4 s for every figure at scale, all
of it CPU in one thread. On a machine with two or more cores a child process draws the figures
while the parent computes the tables; when the parent is done with them it draws the figures
the child has not started yet (from the end of the queue), so both cores draw until the last
one. The PNG bytes are the same wherever a figure is drawn (png.render_png).

The child is a plain ``python -c`` that calls ``_child(DIR)`` (no multiprocessing: that would
re-import the caller's main script, or fork a process that has Arrow threads). Protocol: the
parent writes each job as ``DIR/<n>.json`` (the figure and the reason shown when it is empty;
JSON, not pickle: nothing here unpickles, see tests/cluster/test_security.py)
and sends ``<n>`` as a line on the child's stdin. Whoever renames ``<n>.json`` to ``<n>.taken``
first draws it (a rename is atomic: a job is drawn once); the child writes ``DIR/<n>.png`` and,
after stdin closes, one JSON line with how many it drew and the seconds spent. Job files instead
of pipe contents: a large figure never blocks the parent on a full pipe while the child still
imports matplotlib. If the child fails, the parent draws what it did not finish.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Callable

from pipeline.tables.png import Figure, render_png

ROOT = Path(__file__).resolve().parents[2]
CHILD = "import sys; from pipeline.tables.drawing import _child; sys.exit(_child(*sys.argv[1:]))"
# Drawn once and thrown away by a child started before there is anything to draw: loading the
# font and filling matplotlib's text caches take ~0.15 s of the first figure otherwise.
WARM_UP = Figure("warm-up", [dict(title="t", xlabel="x", ylabel="y", xscale="log",
                                  lines=[dict(label="a", x=[1, 10], y=[0.5, 1.0], yerr=[0.1, 0.1])],
                                  hlines=[dict(label="b", y=0.7)])])


def _plain(value):
    """numpy scalars and arrays in the figure data -> Python numbers and lists. A float64 goes
    through JSON exactly (repr round-trips), NaN included, so the child draws the same PNG."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class Drawer:
    """``submit`` figures, then ``finish`` -> {job: PNG bytes}. One core: draws in-process."""

    def __init__(self, in_process: bool | None = None):
        self.in_process = _cores() < 2 if in_process is None else in_process
        self.dir = Path(tempfile.mkdtemp(prefix="adapterbench-drawing-"))
        self.jobs: dict[int, tuple[Figure, str]] = {}
        self.child: subprocess.Popen | None = None
        self.drawn, self.seconds, self.waited = 0, 0.0, 0.0

    def submit(self, fig: Figure, reason: str) -> int:
        n = len(self.jobs)
        self.jobs[n] = (fig, reason)
        self.start()  # on the first figure to draw, unless started before
        if self.in_process:
            return n
        (self.dir / f"{n}.json").write_text(json.dumps({**vars(fig), "reason": reason},
                                                       default=_plain))
        try:
            self.child.stdin.write(f"{n}\n")
            self.child.stdin.flush()
        except OSError:  # the child died: finish() draws what it did not
            pass
        return n

    def start(self, warm_up: bool = False) -> None:
        """Start the child now (it imports matplotlib, draws WARM_UP if asked, then waits for
        figures)."""
        if self.in_process or self.child is not None:
            return
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p])}
        try:
            self.child = subprocess.Popen([sys.executable, "-c", CHILD, str(self.dir)]
                                          + (["warm-up"] if warm_up else []),
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                                          text=True)
        except OSError as e:
            warnings.warn(f"cannot start the figure drawing process ({e}); drawing here",
                          stacklevel=2)
            self.in_process = True

    def finish(self, meanwhile: Callable[[], None] | None = None) -> dict[int, bytes]:
        """Draw here what the child has not started, from the end of the queue; then call
        ``meanwhile`` (while the child draws its last figures) and collect the child's PNGs."""
        started = time.perf_counter()
        out = {}
        if self.child is not None:
            try:
                self.child.stdin.close()
            except OSError:
                pass
        for n in reversed(self.jobs):  # the child works from the front
            if self.in_process or self.child is None or _take(self.dir, n):
                out[n] = self._draw_here(n)
        if meanwhile is not None:
            meanwhile()
        if self.child is not None:
            try:
                report = self.child.stdout.read()
                if self.child.wait() == 0:
                    got = json.loads(report.strip().splitlines()[-1])
                    self.drawn += got["drawn"]
                    self.seconds += got["seconds"]
                else:
                    warnings.warn(f"figure drawing process exited with {self.child.returncode}; "
                                  "drawing the rest here", stacklevel=2)
            except (OSError, ValueError, KeyError, IndexError) as e:
                warnings.warn(f"figure drawing process failed ({e}); drawing the rest here",
                              stacklevel=2)
        for n in self.jobs:
            if n not in out:
                path = self.dir / f"{n}.png"
                out[n] = path.read_bytes() if path.exists() else self._draw_here(n)
        self.waited = time.perf_counter() - started
        return out

    def _draw_here(self, n: int) -> bytes:
        t0 = time.perf_counter()
        png = render_png(*self.jobs[n])
        self.drawn += 1
        self.seconds += time.perf_counter() - t0
        return png

    def close(self) -> None:
        if self.child is not None and self.child.poll() is None:
            self.child.kill()
            self.child.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "Drawer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _take(folder: Path, n: int) -> bool:
    """Claim job n (True once, for whichever process renames its file first)."""
    try:
        os.rename(folder / f"{n}.json", folder / f"{n}.taken")
        return True
    except FileNotFoundError:
        return False


def _child(folder: str, warm_up: str = "") -> int:
    import matplotlib.backends.backend_agg  # noqa: F401 - import while the parent queries

    if warm_up:
        render_png(WARM_UP, "")

    folder = Path(folder)
    drawn, seconds = 0, 0.0
    for line in sys.stdin:
        n = int(line)
        if not _take(folder, n):  # the parent drew it
            continue
        t0 = time.perf_counter()
        job = json.loads((folder / f"{n}.taken").read_text())
        reason = job.pop("reason")
        fig = Figure(**job)
        tmp = folder / f".{n}.png.tmp"
        tmp.write_bytes(render_png(fig, reason))
        os.replace(tmp, folder / f"{n}.png")  # the parent never reads a partial PNG
        drawn += 1
        seconds += time.perf_counter() - t0
    print(json.dumps({"drawn": drawn, "seconds": seconds}), flush=True)
    return 0

