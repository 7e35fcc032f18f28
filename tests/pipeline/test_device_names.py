"""A CPU's records name its model, and the forecast names this machine as the trials do."""

import platform

import torch

from pipeline.device_names import cpu_model, cpu_name
from pipeline.plan import local_device
from pipeline.trial import device_name

INTEL = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R)   Processor
flags\t\t: fpu avx2

processor\t: 1
model name\t: Intel(R) Xeon(R)   Processor
"""
ARM = """processor\t: 0
BogoMIPS\t: 50.00
CPU implementer\t: 0x41
"""


def test_cpu_model_from_cpuinfo(tmp_path):
    (tmp_path / "intel").write_text(INTEL)
    (tmp_path / "arm").write_text(ARM)
    assert cpu_model(tmp_path / "intel") == "Intel(R) Xeon(R) Processor"
    assert cpu_model(tmp_path / "arm") is None  # no model name: the architecture alone
    assert cpu_model(tmp_path / "missing") is None


def test_trials_and_the_forecast_name_this_cpu_alike():
    name = cpu_name()
    assert name.startswith(f"cpu:{platform.processor() or platform.machine()}")
    model = cpu_model()
    assert name.endswith(model) if model else name.count(" ") == 0
    assert device_name(torch.device("cpu")) == name
    if not torch.cuda.is_available():
        assert local_device() == name
