"""Issue 6's list of bad input: one line on stderr, exit code 2, no trial, no record."""

import textwrap

import pytest

from pipeline.cli import main

GOOD = """
name: t
model: tiny-bert
tasks: [sst2]
seeds: [0, 1]
methods:
  - {name: full, lrs: [1.0e-4]}
  - {name: pfeiffer}
training: {epochs: 1, max_train_samples: 8}
"""

CASES = {
    "malformed yaml": ("name: t\nmethods: [full\n", "invalid YAML at line"),
    "empty file": ("", "an empty file"),
    "unknown key": (GOOD + "resource: {}\n", "spec: unknown key(s) resource; valid:"),
    "unknown method": (GOOD.replace("pfeiffer", "pfeifer"), "unknown method 'pfeifer'"),
    "unknown task": (GOOD.replace("[sst2]", "[sst5]"), "unknown task 'sst5'"),
    "unknown model name": (GOOD.replace("tiny-bert", "tiny-bertt"),
                           "model: 'tiny-bertt' is neither a built-in name"),
    "model id with spaces": (GOOD.replace("tiny-bert", "'my org/my model'"),
                             "nor an HF id (owner/name)"),
    "model path missing": (GOOD.replace("tiny-bert", "./models/nope"),
                           "model: local path './models/nope' does not exist"),
    "zero lr": (GOOD.replace("1.0e-4", "0"), "lr must be a positive number, got 0"),
    "negative lr": (GOOD.replace("1.0e-4", "-1.0e-4"), "lr must be a positive number"),
    "empty methods": (GOOD.split("methods:")[0] + "methods: []\n", "methods: must be a non-empty list"),
    "empty seeds": (GOOD.replace("[0, 1]", "[]"), "seeds: must be a non-empty list"),
    "duplicated lr": (GOOD.replace("[1.0e-4]", "[1.0e-4, 1.0e-4]"), "duplicated learning rate"),
    "duplicated task": (GOOD.replace("[sst2]", "[sst2, sst2]"), "tasks: duplicated entries"),
    "data dir without the task": (GOOD + "data_dir: {empty}\n",
                                  "has no sst2 train split (expected"),
    "data dir missing": (GOOD + "data_dir: {empty}/nope\n", "is not a directory"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_line_exit_2_and_nothing_runs(tmp_path, case, capsys):
    text, message = CASES[case]
    empty = tmp_path / "data"
    (empty / "glue" / "rte").mkdir(parents=True)  # a mirror that holds another task only
    (empty / "glue" / "rte" / "train.parquet").write_bytes(b"")
    spec = tmp_path / "spec.yaml"
    spec.write_text(textwrap.dedent(text).replace("{empty}", str(empty)))
    results = tmp_path / "results"
    for argv in (["validate", str(spec)], ["sweep", str(spec), "--results", str(results)]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err and "Traceback" not in err, err
    assert not results.exists()  # no record, no MLflow store, no Ray session


def test_missing_spec_file(tmp_path, capsys):
    results = tmp_path / "results"
    assert main(["sweep", str(tmp_path / "nope.yaml"), "--results", str(results)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not exist" in err and not results.exists()


def test_results_uri_without_a_tracking_server(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    spec = tmp_path / "spec.yaml"
    spec.write_text(textwrap.dedent(GOOD))
    assert main(["sweep", str(spec), "--results", "s3://bucket/results"]) == 2
    assert "give --tracking-uri" in capsys.readouterr().err


def test_plausible_models_pass(tmp_path, capsys):
    for model in ("google-bert/bert-base-uncased", "sentence-transformers/all-MiniLM-L6-v2",
                  str(tmp_path)):
        spec = tmp_path / "spec.yaml"
        spec.write_text(textwrap.dedent(GOOD.replace("tiny-bert", model)))
        assert main(["validate", str(spec)]) == 0, capsys.readouterr().err


# Issue 12: anything from a spec that reaches a path. The sweep name becomes Ray Tune's
# experiment directory (<results>/ray/<name>-<time>) and an MLflow experiment.
HOSTILE_NAMES = {
    "traversal": '"../../etc"',
    "absolute": '"/tmp/x"',
    "separator": '"a/b"',
    "backslash": '"a\\\\b"',
    "dot-dot inside": '"a..b"',
    "hidden": '".hidden"',
    "empty": '""',
    "not a string": "[a, b]",
    "nul byte": '"a\\0b"',
    "too long": "a" * 101,
}


def _tree(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize("case", list(HOSTILE_NAMES))
def test_hostile_sweep_name_writes_nothing_anywhere(tmp_path, monkeypatch, case, capsys):
    work = tmp_path / "a" / "b" / "c"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)  # a relative escape would land inside tmp_path, where we look
    spec = work / "spec.yaml"
    spec.write_text(textwrap.dedent(GOOD).replace("name: t", f"name: {HOSTILE_NAMES[case]}"))
    before = _tree(tmp_path)
    for argv in (["validate", str(spec)], ["sweep", str(spec), "--results", "results"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "is not a valid sweep name" in err, err
    assert _tree(tmp_path) == before
    assert not any(p.name.startswith("x-") for p in (tmp_path.parent).iterdir())


def test_binary_spec_file_is_one_line_exit_2(tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_bytes(b"name: t\n\xff\xfe\x00\x81binary" + bytes(range(256)))
    results = tmp_path / "results"
    for argv in (["validate", str(spec)], ["sweep", str(spec), "--results", str(results)]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "not UTF-8 text" in err and "Traceback" not in err, err
    assert not results.exists()


def test_spec_path_that_is_a_directory_is_one_line_exit_2(tmp_path, capsys):
    assert main(["validate", str(tmp_path)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
