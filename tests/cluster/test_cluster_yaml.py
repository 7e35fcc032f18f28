"""ray_cluster.yaml is a valid AWS cluster-launcher config (Ray's own checks, no cloud)."""

import copy
from pathlib import Path

import pytest
import yaml
from ray.autoscaler._private.util import prepare_config, validate_config

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def config():
    return yaml.safe_load((REPO / "ray_cluster.yaml").read_text())


def test_cluster_yaml_passes_rays_validation(config):
    prepared = prepare_config(copy.deepcopy(config))
    validate_config(prepared)
    assert prepared["provider"]["type"] == "aws"
    types = prepared["available_node_types"]
    assert types[prepared["head_node_type"]]["resources"] == {"CPU": 0}  # no trials on the head
    gpu_types = {n: t for n, t in types.items() if t.get("resources", {}).get("GPU")}
    assert {"gpu_a10g", "gpu_v100"} <= set(gpu_types)
    assert {t["node_config"]["InstanceType"] for t in gpu_types.values()} == {"g5.xlarge",
                                                                               "p3.2xlarge"}
    assert all(t["min_workers"] == 0 and t["max_workers"] >= 1 for t in gpu_types.values())
    assert "cu12" in prepared["docker"]["image"]
    assert any("constraints.txt" in c for c in prepared["setup_commands"])
    assert any("torch==2.13.0" in c for c in prepared["worker_setup_commands"])
    assert "/home/ray/adapterbench" in prepared["file_mounts"]


def test_servers_bind_privately(config):
    start = " ".join(config["head_start_ray_commands"])
    assert "--dashboard-host=127.0.0.1" in start
    assert "mlflow server --host $(hostname -I" in start and "0.0.0.0" not in start


def test_validation_rejects_a_typo(config):
    config["available_node_types"]["gpu_a10g"]["max_worker"] = 3
    import jsonschema

    with pytest.raises(jsonschema.ValidationError, match="max_worker"):
        validate_config(prepare_config(config))


def test_kuberay_rayjob_runs_the_same_job():
    docs = list(yaml.safe_load_all((REPO / "jobs" / "kuberay-rayjob.yaml").read_text()))
    assert len(docs) == 1 and docs[0]["kind"] == "RayJob"
    spec = docs[0]["spec"]
    assert "jobs/sweep.py" in spec["entrypoint"] and spec["shutdownAfterJobFinishes"] is True
    cluster = spec["rayClusterSpec"]
    assert cluster["rayVersion"] == "2.60.0"
    assert cluster["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"
    gpus = [g["template"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"]
            for g in cluster["workerGroupSpecs"]]
    assert gpus == [1, 1]
    assert "ADAPTERBENCH_RESULTS" in spec["runtimeEnvYAML"]
