"""Spec validation and grid expansion: bad input fails in one line, before anything runs."""

import textwrap

import pytest

from adapters import METHODS
from pipeline.multitask_config import MULTITASK_METHODS
from pipeline.cli import main
from pipeline.grid import expand
from pipeline.spec import SpecError, load_spec

GOOD = """
name: t
model: tiny-bert
tasks: [sst2, rte]
seeds: [0, 1]
methods:
  - {name: full, lrs: [1.0e-4, 5.0e-5]}
  - {name: houlsby, config: {reduction_factor: 8}}
training: {epochs: 1, max_train_samples: 8}
"""


def write(tmp_path, text, name="spec.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_grid_size_and_stable_keys(tmp_path):
    spec = load_spec(write(tmp_path, GOOD))
    points = expand(spec)
    # full: 2 LRs, houlsby: its 1 default LR; × 2 tasks × 2 seeds
    assert len(points) == (2 + 1) * 2 * 2
    assert len({p.trial_key for p in points}) == len(points)
    assert [p.trial_key for p in expand(load_spec(write(tmp_path, GOOD, "b.yaml")))] == \
        [p.trial_key for p in points]
    houlsby = [p for p in points if p.method == "houlsby"][0]
    assert houlsby.method_config["reduction_factor"] == 8
    assert houlsby.lr == 1e-3  # the registry's default LR for adapters


def test_key_ignores_sweep_name_but_not_budget(tmp_path):
    base = {p.run_name: p.trial_key for p in expand(load_spec(write(tmp_path, GOOD)))}
    renamed = {p.run_name: p.trial_key
               for p in expand(load_spec(write(tmp_path, GOOD.replace("name: t", "name: u"))))}
    longer = {p.run_name: p.trial_key
              for p in expand(load_spec(write(tmp_path, GOOD.replace("epochs: 1", "epochs: 2"))))}
    assert base == renamed
    assert not set(base.values()) & set(longer.values())


BAD = {
    "unknown method": (GOOD.replace("name: houlsby", "name: hulsby"),
                       "unknown method 'hulsby'; known methods: "
                       + ", ".join(sorted([*METHODS, *MULTITASK_METHODS]))),
    "unknown task": (GOOD.replace("[sst2, rte]", "[sst2, sst3]"), "unknown task 'sst3'; known tasks: "),
    "bad yaml": ("name: [t\ntasks: x", "invalid YAML at line"),
    "empty file": ("", "got an empty file"),
    "unknown key": (GOOD + "epochz: 3\n", "unknown key(s) epochz; valid: "),
    "unknown training key": (GOOD.replace("epochs: 1", "epoch: 1"), "training: unknown key(s) epoch"),
    "unknown config key": (GOOD.replace("reduction_factor", "reduction"),
                           "unknown config key(s) ['reduction']"),
    "non-positive lr": (GOOD.replace("1.0e-4,", "-1.0e-4,"), "lr must be a positive number"),
    "duplicated seed": (GOOD.replace("[0, 1]", "[0, 0]"), "seeds: duplicated"),
    "empty grid": (GOOD.replace("[sst2, rte]", "[]"), "tasks: must be a non-empty list"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_specs_fail_with_one_clear_line(tmp_path, case, capsys):
    text, message = BAD[case]
    path = write(tmp_path, text)
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert message in str(err.value)
    assert "\n" not in str(err.value)
    # The CLI: exit code 2, one line on stderr, no traceback, nothing written.
    results = tmp_path / "results"
    assert main(["sweep", str(path), "--results", str(results)]) == 2
    stderr = capsys.readouterr().err
    assert stderr.count("\n") == 1 and message in stderr and "Traceback" not in stderr
    assert not results.exists()


def test_missing_file_and_duplicate_method(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err
    dup = GOOD.replace("  - {name: houlsby, config: {reduction_factor: 8}}",
                       "  - {name: houlsby}\n  - {name: houlsby, config: {reduction_factor: 16}}")
    with pytest.raises(SpecError, match="listed twice"):
        load_spec(write(tmp_path, dup))


def test_validate_prints_grid_size(tmp_path, capsys):
    assert main(["validate", str(write(tmp_path, GOOD))]) == 0
    assert "12 grid points" in capsys.readouterr().out
