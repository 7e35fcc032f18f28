"""Real services the slow end-to-end tests share instead of each starting its own.

- One local Ray head for the whole test session. `ray.init(address="local")` starts a fresh Ray
  (GCS, raylet, its workers) for every sweep: 15-50 s each on a busy 2-core machine, more than
  the tiny trials themselves. A sweep pointed at this head (``RAY_ADDRESS``, exactly what
  ``--address`` / a cluster user does) connects as a new job in a second or two; its workers are
  its own (Ray starts workers per job, with the job's runtime env) and end with it.
- A migrated, empty MLflow SQLite store to copy: a fresh store's schema migration takes 5-15 s
  per store here; a copy of one made by the same MLflow in the same working directory is the same
  empty store (the Default experiment included) in well under a second.

The embedded ``address="local"`` path stays covered by the tests that run the CLI in a
subprocess (tests/pipeline/test_interrupt.py) and by tests/cluster/test_security.py.

The head starts as `ray.init(address="local")` would start one (same node address, no
dashboard), in its own temp dir, without writing Ray's "current cluster" file (a bare
`ray.init()` elsewhere on the machine does not find it), and is stopped by handle (its own
processes; a reaper ends them if pytest dies), never by `ray stop`.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import tempfile
from contextlib import contextmanager
from pathlib import Path

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def environment(values: dict[str, str | None]):
    """Set (value) or unset (None) environment variables, then put every one back; Ray's cached
    auth token and config are reloaded on both sides (they are read once per process)."""
    from ray._private.authentication_test_utils import reset_auth_token_state

    def apply(settings: dict[str, str | None]):
        for key, value in settings.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        reset_auth_token_state()

    saved = {k: os.environ.get(k) for k in values}
    try:
        apply(values)
        yield
    finally:
        apply(saved)


def _kill_children_under(temp_dir: str) -> None:
    """Kill this process's children started for a Ray head in ``temp_dir`` (by PID, only ours)."""
    import psutil

    for child in psutil.Process().children(recursive=True):
        try:
            if any(temp_dir in part for part in child.cmdline()):
                child.kill()
        except psutil.Error:
            pass


class SharedRay:
    """A local Ray head node (CPUs and GPUs detected as `ray.init(address="local")` does, no
    dashboard) with a token of its own: the shared ~/.ray/auth_token can be rewritten by any
    other local cluster of this user (see tests/cluster/conftest.py)."""

    def __init__(self):
        from ray._private.node import Node
        from ray._private.parameter import RayParams

        self.token = secrets.token_hex(32)
        # On a very busy machine a raylet can give up waiting for its dashboard agent (seen at
        # load 12: "Timed out waiting for file .../metrics_agent_port_..."), as ray.init's own
        # start can; one test's Ray failing so is one error, this head failing would be many:
        # a start that fails is cleaned up (its own processes) and tried again.
        for attempt in range(3):
            self.temp_dir = tempfile.mkdtemp(prefix="abrs-", dir="/tmp")  # short: socket paths
            params = RayParams(include_dashboard=False, temp_dir=self.temp_dir,
                               dashboard_agent_listen_port=free_port(),  # not 52365: others'
                               min_worker_port=0, max_worker_port=0)
            try:
                # The head's processes (so every worker) inherit the token from this environment.
                with self._auth():
                    self.node = Node(params, head=True, shutdown_at_exit=True, spawn_reaper=True)
                break
            except Exception:
                _kill_children_under(self.temp_dir)
                shutil.rmtree(self.temp_dir, ignore_errors=True)
                if attempt == 2:
                    raise
        self.address = self.node.gcs_address

    def _auth(self):
        return environment({"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": self.token,
                             "RAY_AUTH_TOKEN_PATH": None})

    @contextmanager
    def attached(self):
        """While inside: every sweep of this process (and its subprocesses) runs on this head."""
        with environment({"RAY_ADDRESS": self.address, "RAY_AUTH_MODE": "token",
                           "RAY_AUTH_TOKEN": self.token, "RAY_AUTH_TOKEN_PATH": None}):
            yield self.address

    def shutdown(self) -> None:
        self.node.kill_all_processes(check_alive=False, allow_graceful=True)
        shutil.rmtree(self.temp_dir, ignore_errors=True)


class MlflowTemplate:
    """One freshly migrated, empty MLflow SQLite store; ``copy_to`` puts a copy where a test's
    tracking URI (``sqlite:///<results>/mlflow.db``) will open it."""

    def __init__(self, folder: Path):
        from mlflow.tracking import MlflowClient

        self.path = Path(folder) / "mlflow.db"
        MlflowClient(f"sqlite:///{self.path}").search_experiments()  # runs the migration

    def copy_to(self, folder: Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / "mlflow.db"
        assert not target.exists(), f"{target} exists: the test's store would not be fresh"
        shutil.copyfile(self.path, target)
        return target
