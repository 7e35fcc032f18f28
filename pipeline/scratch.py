"""A trial's scratch folders in the system temp dir, and the removal of those a killed trial left.

A trial writes its trained weights and its MLflow artifacts to temp folders and removes them once
MLflow has its copy. A trial killed in between (Ctrl-C on the sweep, a node or driver killed,
``ray.cancel``) cannot: each such folder stayed in /tmp (11 MB of weights for MiniLM; one per
test-suite run, whose interrupt tests kill trials). So every folder is named after the process
that owns it, ``adapterbench-<label>-<pid>-<random>``, and a trial, when it starts, removes the
folders of processes that no longer exist on this machine. A live owner's folder is never
touched (a reused PID only keeps a stale folder a little longer).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

# label: a trial key (16 hex digits) or "artifacts"; never matches the lease dir
# ("adapterbench-lease") or the tables' own temp folders ("adapterbench-drawing-…").
_NAME = re.compile(r"^adapterbench-(?:[0-9a-f]{16}|artifacts)-(\d+)-")


def scratch_dir(label: str) -> Path:
    """A new temp folder owned by this process (``label``: a trial key or "artifacts")."""
    return Path(tempfile.mkdtemp(prefix=f"adapterbench-{label}-{os.getpid()}-"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_orphans(folder: str | Path | None = None) -> list[Path]:
    """Remove the scratch folders in ``folder`` (default: the system temp dir) whose owning
    process is gone; returns what was removed."""
    removed = []
    for path in Path(folder or tempfile.gettempdir()).glob("adapterbench-*"):
        match = _NAME.match(path.name)
        if match and path.is_dir() and not _alive(int(match.group(1))):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed
