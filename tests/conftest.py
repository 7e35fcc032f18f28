"""Shared test settings: offline, private lease and Ray temp dirs."""

import os
import tempfile

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
    """A short private Ray temp dir (Unix socket paths are limited to ~107 bytes)."""
    path = tempfile.mkdtemp(prefix="abr-", dir="/tmp")
    monkeypatch.setenv("ADAPTERBENCH_RAY_TMP", path)
    return path
