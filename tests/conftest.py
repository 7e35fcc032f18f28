"""Shared test settings: offline, private lease and Ray temp dirs."""

import os
import shutil
import sys
import tempfile
import types

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")


@pytest.fixture(autouse=True)
def private_lease_dir(tmp_path_factory, monkeypatch):
    """Each test gets its own device lease, so parallel test runs on one machine don't wait
    for each other's probes."""
    monkeypatch.setenv("ADAPTERBENCH_LEASE_DIR", str(tmp_path_factory.mktemp("lease")))


@pytest.fixture
def ray_tmp(monkeypatch):
    """A short private Ray temp dir (Unix socket paths are limited to ~107 bytes), removed after
    the test (Ray's session logs: 106 of them had piled up in /tmp)."""
    path = tempfile.mkdtemp(prefix="abr-", dir="/tmp")
    monkeypatch.setenv("ADAPTERBENCH_RAY_TMP", path)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def shared_ray():
    """One local Ray head for the session's in-process sweeps (tests/shared_services.py)."""
    from shared_services import SharedRay

    head = SharedRay()
    try:
        yield head
    finally:
        head.shutdown()


@pytest.fixture
def local_ray(shared_ray):
    """This test's sweeps run on the session's Ray head (as with ``--address``); its address."""
    with shared_ray.attached() as address:
        yield address


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory):
    """A migrated, empty MLflow SQLite store to copy into a results directory
    (``mlflow_template.copy_to(results)``) instead of migrating a fresh one there."""
    from shared_services import MlflowTemplate

    return MlflowTemplate(tmp_path_factory.mktemp("mlflow-template"))


class _HubSplit(dict):
    """What ``datasets.load_dataset(..., split=...)`` returns, as far as load_split reads it."""

    @property
    def column_names(self):
        return list(self)


@pytest.fixture
def fake_hub(monkeypatch):
    """A fake ``datasets`` module for the hub paths of pipeline/tasks.py (no hub can be reached
    from these machines): serves hand-made rows by (dataset, config, split) or by data-file URL,
    and records each call as (path or builder, config, data_files, split)."""
    calls, rows = [], {}

    def load_dataset(path, config=None, *, data_files=None, split):
        calls.append((path, config, data_files, split))
        return _HubSplit(rows[data_files[split] if data_files else (path, config, split)])

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    return calls, rows
