"""Static guards for what the cluster tests cannot see: weights never load through pickle, and
the servers the project starts bind to loopback unless a file says why not."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOURCES = [p for d in ("pipeline", "adapters", "tracking", "jobs", "benchmarks")
           for p in (REPO / d).rglob("*.py")]


def test_no_pickle_based_weight_loading():
    assert SOURCES
    for path in SOURCES:
        text = path.read_text()
        for call in re.findall(r"torch\.load\([^)]*\)", text):
            assert "weights_only=True" in call, f"{path}: {call}"
        assert not re.search(r"\bpickle\.loads?\(", text), f"{path} unpickles data"


def test_embedded_ray_starts_no_dashboard_and_servers_bind_loopback():
    sweep = (REPO / "pipeline" / "sweep.py").read_text()
    assert "include_dashboard=False" in sweep
    cluster = (REPO / "ray_cluster.yaml").read_text()
    assert "--dashboard-host=127.0.0.1" in cluster and "0.0.0.0" not in cluster
