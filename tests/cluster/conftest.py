"""A real multi-node Ray cluster and a real MLflow server, on one machine, for the cluster tests.

Everything binds to 127.0.0.1 on free private ports, lives in its own temp dir, and is stopped
by handle (Cluster.remove_node/shutdown, the server's own process group), never by `ray stop`.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import pytest

from progress import cpu_seconds, wait_advancing
from shared_services import environment

VENV_BIN = Path(sys.executable).parent
MB = 2**20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MlflowServer:
    """`mlflow server` on 127.0.0.1 (one worker, no job runner) that a test can stop and restart
    on the same port and store."""

    def __init__(self, root: Path):
        self.root, self.port, self.proc = root, free_port(), None
        self.uri = f"http://127.0.0.1:{self.port}"

    def launch(self) -> None:
        env = dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
        log = open(self.root / "server.log", "ab")
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", "1", "--backend-store-uri", f"sqlite:///{self.root}/mlflow.db",
             "--artifacts-destination", str(self.root / "artifacts")],
            env=env, stdout=log, stderr=log, start_new_session=True)  # own group: stop by pgid

    def wait_ready(self) -> None:
        """Until /health answers; on a busy machine that is slow, so it fails only when the
        server neither logs nor uses CPU for progress.STALL_S."""
        def answers() -> bool:
            try:
                urllib.request.urlopen(f"{self.uri}/health", timeout=2)
                return True
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"mlflow server exited: {(self.root / 'server.log').read_text()[-2000:]}")
                return False

        try:
            wait_advancing(answers, lambda: ((self.root / "server.log").stat().st_size,
                                             cpu_seconds(self.proc.pid)),
                           "mlflow server /health")
        except BaseException:
            self.stop()
            raise

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory, request):
    server = MlflowServer(tmp_path_factory.mktemp("mlflow-server"))
    server.launch()
    try:
        request.getfixturevalue("ray_cluster")  # the cluster starts while the server does
        server.wait_ready()
        yield server
    finally:
        server.stop()


# Each node believes it owns the machine: give it an explicit share. Its HTTP agent gets a free
# port (the default 52365 may belong to another cluster on this machine).
NODE = dict(memory=1500 * MB, object_store_memory=100 * MB)


class LocalCluster:
    """A head that schedules no trials (CPU 0, dashboard + job server on 127.0.0.1) and worker
    nodes with 1 CPU and 1 logical GPU each."""

    def __init__(self):
        from ray.cluster_utils import Cluster

        from ray._common.utils import get_default_ray_temp_dir

        # Cluster writes the head's address to <system temp>/ray/ray_current_cluster whatever
        # temp_dir says (Cluster.shutdown removes it), and fails with FileNotFoundError where that
        # folder does not exist yet: on a fresh machine, e.g. a clean CI host, it did not.
        os.makedirs(get_default_ray_temp_dir(), exist_ok=True)
        self.temp_dir = tempfile.mkdtemp(prefix="abcl-", dir="/tmp")  # short: socket paths
        self.dashboard_port = free_port()
        try:
            self.cluster = Cluster(initialize_head=True, head_node_args=dict(
                num_cpus=0, include_dashboard=True, dashboard_host="127.0.0.1",
                dashboard_port=self.dashboard_port, temp_dir=self.temp_dir,
                dashboard_agent_listen_port=free_port(), **NODE))
            self.workers = [self.add_worker(), self.add_worker()]
        except BaseException:
            shutil.rmtree(self.temp_dir, ignore_errors=True)
            raise

    @property
    def address(self) -> str:  # the GCS address, for ray.init / --address
        return self.cluster.address

    @property
    def dashboard(self) -> str:  # the job server, for `ray job submit --address`
        return f"http://127.0.0.1:{self.dashboard_port}"

    def add_worker(self):
        return self.cluster.add_node(num_cpus=1, num_gpus=1, dashboard_agent_listen_port=free_port(),
                                     **NODE)

    def kill_worker(self, node) -> None:
        self.cluster.remove_node(node, allow_graceful=False)
        self.workers.remove(node)

    def shutdown(self) -> None:
        self.cluster.shutdown()
        shutil.rmtree(self.temp_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    # A token of this cluster's own, in the environment every process of it inherits (nodes,
    # job drivers, `ray job submit`, test drivers): the shared ~/.ray/auth_token can be rewritten
    # by any other local cluster of this user while the test runs (InvalidAuthToken). The same
    # token also as a file named by RAY_AUTH_TOKEN_PATH: a `ray job submit` driver read a stale
    # ~/.ray/auth_token left by another local cluster instead of the inherited variable.
    token = secrets.token_hex(32)
    token_file = tmp_path_factory.mktemp("ray-auth") / "auth_token"
    token_file.write_text(token)
    token_file.chmod(0o600)
    with environment({"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token,
                      "RAY_AUTH_TOKEN_PATH": str(token_file)}):
        cluster = LocalCluster()
        try:
            yield cluster
        finally:
            cluster.shutdown()
