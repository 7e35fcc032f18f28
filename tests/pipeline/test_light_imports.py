"""Reading, validating and forecasting a spec import neither torch nor transformers (issue 12:
`plan` answers in <= 2 s; importing the two took 5.4 of the command's 7.0 s on a 2-core CPU).
Each check runs in a fresh interpreter, since this test process has long imported both."""

import json
import subprocess
import sys
from pathlib import Path

import adapters
from pipeline.spec import load_spec
from tests.pipeline.test_plan import DEVICE, SPEC, records, write

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "transformers", "datasets")


def heavy_modules_after(code: str) -> list[str]:
    """The heavy modules a fresh interpreter holds after running ``code`` in the repository."""
    probe = (code + "\nimport sys, json\n"
             f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True,
                         env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_spec_grid_plan_and_cli_modules_import_no_torch():
    assert heavy_modules_after("import adapters, pipeline.spec, pipeline.grid, pipeline.plan, "
                               "pipeline.cli, pipeline.multitask_config, pipeline.kinds") == []


def test_validate_plan_and_tasks_commands_import_no_torch(tmp_path):
    spec_path = write(tmp_path, SPEC)
    results = records(tmp_path, load_spec(spec_path))  # records give the model size: no guess
    code = (f"from pipeline.cli import main\n"
            f"assert main(['validate', {str(spec_path)!r}]) == 0\n"
            f"assert main(['plan', {str(spec_path)!r}, '--results', {str(results)!r}, "
            f"'--device', {DEVICE!r}]) == 0\n"
            f"assert main(['tasks']) == 0")
    assert heavy_modules_after(code) == []


def test_local_device_needs_torch_only_with_a_gpu_driver():
    gpu_driver = any(Path(p).exists() for p in ("/proc/driver/nvidia/version", "/dev/kfd"))
    heavy = heavy_modules_after("from pipeline.plan import local_device\nprint(local_device())")
    assert ("torch" in heavy) == gpu_driver


def test_every_registered_apply_function_resolves():
    """The registry names each method's apply function as "module:function" (adapters/configs.py):
    a typo there would only surface when a trial applies the method."""
    for method in adapters.METHODS.values():
        module, function = method.apply_ref.split(":")
        assert callable(getattr(__import__(module, fromlist=[function]), function)), method.name
