"""Opt-in: `ray up` / `ray submit` for real, with Ray's `local` provider over SSH to 127.0.0.1.

    ADAPTERBENCH_SSH_E2E=1 .venv/bin/python -m pytest tests/cluster/test_ray_up_ssh.py

Set-up it needs (see docs/cluster.md): Debian's `openssh-server` and `rsync`
(`apt-get install openssh-server rsync`), root, and 127.0.0.1:22 free. The test starts an sshd
of its own on 127.0.0.1:22 only (its own host key, pid file and authorized key; key auth only;
`SetEnv` gives sessions a home of its own whose .bash_profile puts this venv first on PATH,
and the cluster its own Ray token), writes a
`local`-provider cluster YAML whose start commands use private ports and a temp dir of their
own (the provider's default commands begin with `ray stop`, which would kill every Ray process
on the machine), then runs `ray up`, `ray submit … jobs/sweep.py -- SPEC` and checks the
records. It stops the head and sshd by PID; it never runs `ray down` (it also runs `ray stop`).
Without ADAPTERBENCH_SSH_E2E=1 it is skipped, and so it is when sshd is not installed.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from progress import cpu_seconds, run_advancing, wait_advancing
from tracking.records import read_records

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
SSHD = shutil.which("sshd") or "/usr/sbin/sshd"

pytestmark = pytest.mark.skipif(os.environ.get("ADAPTERBENCH_SSH_E2E") != "1",
                                reason="opt-in: set ADAPTERBENCH_SSH_E2E=1 (needs sshd, rsync, "
                                       "root and 127.0.0.1:22 free; see docs/cluster.md)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_22_free() -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", 22)) != 0


@pytest.fixture
def sshd(tmp_path):
    missing = [p for p in (SSHD, shutil.which("rsync")) if not p or not Path(p).exists()]
    if missing or os.geteuid() != 0 or not _port_22_free():
        pytest.skip(f"sshd unavailable: needs {SSHD} and rsync installed "
                    "(apt-get install openssh-server rsync), root, and 127.0.0.1:22 free")
    root = tmp_path / "ssh"
    root.mkdir()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", root / "host_key"], check=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", root / "id"], check=True)
    shutil.copy(root / "id.pub", root / "authorized_keys")
    token = secrets.token_hex(32)
    # A home of its own: Ray runs commands through `bash --login`, whose /etc/profile resets
    # PATH, and then reads ~/.bash_profile from here (ray up also writes its bootstrap files
    # here instead of into /root).
    home = root / "home"
    home.mkdir()
    (home / ".bash_profile").write_text(f'export PATH="{VENV_BIN}:$PATH"\n')
    (home / ".bashrc").write_text("")
    (root / "sshd_config").write_text(textwrap.dedent(f"""\
        ListenAddress 127.0.0.1
        Port 22
        HostKey {root}/host_key
        PidFile {root}/sshd.pid
        AuthorizedKeysFile {root}/authorized_keys
        PasswordAuthentication no
        KbdInteractiveAuthentication no
        PermitRootLogin prohibit-password
        StrictModes no
        UsePAM no
        SetEnv HOME={home} RAY_AUTH_MODE=token RAY_AUTH_TOKEN={token} HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
        """))
    Path("/run/sshd").mkdir(exist_ok=True)  # privilege separation directory
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", root / "sshd_config"],
                            stdout=open(root / "sshd.log", "wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    wait_advancing(lambda: not _port_22_free() or proc.poll() is not None,
                   lambda: ((root / "sshd.log").stat().st_size, cpu_seconds(proc.pid)),
                   "sshd listening on 127.0.0.1:22", poll_s=0.2)
    if proc.poll() is not None:
        pytest.fail(f"sshd did not start: {(root / 'sshd.log').read_text()[-2000:]}")
    yield dict(root=root, key=root / "id", token=token)
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(30)


def test_ray_up_and_ray_submit_over_ssh(sshd, tmp_path):
    gcs, dashboard = _free_port(), _free_port()
    temp_dir = Path(f"/tmp/abssh-{secrets.token_hex(3)}")  # short: Unix socket path limit
    head_pid = tmp_path / "head.pid"
    results = tmp_path / "results"
    config = {
        "cluster_name": f"adapterbench-ssh-{secrets.token_hex(3)}",
        "max_workers": 0,
        "provider": {"type": "local", "head_ip": "127.0.0.1", "worker_ips": []},
        "auth": {"ssh_user": "root", "ssh_private_key": str(sshd["key"])},
        "file_mounts": {},
        "setup_commands": [],
        "head_setup_commands": [],
        "worker_setup_commands": [],
        # Never `ray stop` (the provider's default): start on private ports, remember the PID.
        "head_start_ray_commands": [
            f"nohup ray start --head --block --port={gcs} --num-cpus=1 --num-gpus=0 "
            f"--dashboard-host=127.0.0.1 --dashboard-port={dashboard} --temp-dir={temp_dir} "
            f"--memory={2 * 2**30} --object-store-memory={200 * 2**20} --disable-usage-stats "
            f"> {tmp_path}/head.log 2>&1 & echo $! > {head_pid}; sleep 15"],
        "worker_start_ray_commands": [],
    }
    cfg = tmp_path / "cluster.yaml"
    cfg.write_text(yaml.safe_dump(config))
    spec = tmp_path / "spec.yaml"
    spec.write_text(textwrap.dedent("""
        name: ssh
        model: tiny-bert
        tasks: [sst2]
        seeds: [0]
        methods: [{name: pfeiffer, lrs: [1.0e-3]}]
        training: {epochs: 1, max_train_samples: 16, max_eval_samples: 16, batch_size: 8, max_seq_len: 16}
    """))
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": sshd["token"]}
    ray = str(VENV_BIN / "ray")
    try:
        # no fixed timeouts: `ray up` and `ray submit` print as they go, the sweep writes records
        up = run_advancing([ray, "up", "-y", "--no-config-cache", str(cfg)], env=env)
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        submit = run_advancing(
            [ray, "submit", str(cfg), str(REPO / "jobs" / "sweep.py"), "--", str(spec),
             "--results", str(results), "--address", f"127.0.0.1:{gcs}",
             "--tracking-uri", f"sqlite:///{results}/mlflow.db"],
            progress=lambda: sorted(results.rglob("*.parquet")) if results.exists() else None,
            env=env)
        assert submit.returncode == 0, submit.stdout[-3000:] + submit.stderr[-3000:]
        runs = read_records(results, "runs").to_pylist()
        assert [r["status"] for r in runs] == ["ok"] and runs[0]["ray_node_id"]
    finally:
        if head_pid.exists():  # `ray start --block` stops the processes it started on SIGTERM
            try:
                os.kill(int(head_pid.read_text()), signal.SIGTERM)
            except ProcessLookupError:
                pass
            time.sleep(5)
