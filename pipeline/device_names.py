"""How the records name the CPU a trial ran on (pipeline.trial.device_name; plan.local_device).

A CPU is named by its architecture and, where the kernel says it (/proc/cpuinfo's "model
name"), its model: "cpu:x86_64 Intel(R) Xeon(R) Processor". Records named only "cpu:x86_64"
(before this) pooled every x86 host, and this project's own hosts differ 3.9× per MiniLM
training step (README, the demo on two hosts): their probes shared table cells, a cell probed on
one host was never measured on the other (the probe dedup is per device), and `plan` forecast a
host from another's records. Torch-free: `plan` names the device without importing torch.
"""

from __future__ import annotations

import platform
from functools import lru_cache
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")


@lru_cache(maxsize=None)
def cpu_name() -> str:
    arch = platform.processor() or platform.machine()
    model = cpu_model()
    return f"cpu:{arch}" + (f" {model}" if model else "")


def cpu_model(cpuinfo: Path = CPUINFO) -> str | None:
    """The first "model name" of /proc/cpuinfo, spaces collapsed; None where there is none
    (no /proc, or an ARM kernel that does not report one)."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and value.strip():
            return " ".join(value.split())
    return None
