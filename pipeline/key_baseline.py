"""The values a trial_key leaves out: for every config field, the value that trains exactly as the
keys were minted (see pipeline/grid.py for the rule). Data only; written once, then only added to.

- A new field: add it here with the value that reproduces the training from before the field
  existed (usually its default). Keys stay the same for every point that does not set it.
- A changed default: change nothing here. Points that use the new default now differ from the
  baseline, get new keys and re-run; records of the old value keep theirs.
- A default whose *meaning* changes (same value, different training): bump the method's
  ``config_version`` (adapters/registry.py) or TRAINING_VERSION / PROBES_VERSION below.
tests/pipeline/test_trial_key.py fails when a field is missing here.
"""

from __future__ import annotations

# Hashed when != 1: bump when the training code behind unchanged values changes its result.
TRAINING_VERSION = 1
PROBES_VERSION = 1

_BOTTLENECK = {"reduction_factor": 16, "activation": "relu", "train_layer_norm": False,
               "train_output_layer": False}
_PHM = {"reduction_factor": 32, "activation": "gelu", "train_layer_norm": True,
        "train_output_layer": False}

METHODS: dict[str, dict] = {
    "adapterdrop": {**_BOTTLENECK, "architecture": "pfeiffer", "drop_first_n": None, "robust": False},
    "bitfit": {"add_missing_biases": True, "train_output_layer": False},
    "compacter": {**_PHM, "phm_dim": 4, "rank": 1},
    "compacterpp": {**_PHM, "phm_dim": 4, "rank": 1},
    "full": {},
    "fusion": {**_BOTTLENECK, "num_adapters": 8, "fusion_dropout": 0.0, "drop_first_n": 0,
               "robust": False, "implementation": "iterative", "source_tasks": (),
               "source_lr": 1e-4},
    "houlsby": dict(_BOTTLENECK),
    "intrinsic_said": {"dimension": 20000, "said": True, "projection_seed": 0},
    "lora": {"rank": 8, "alpha": 8.0, "dropout": 0.0, "target_modules": ("query", "value")},
    "lowrank": {**_PHM, "rank": 1},
    "pfeiffer": dict(_BOTTLENECK),
    "phm": {**_PHM, "phm_dim": 12},
    "prompt_tuning": {"num_tokens": 100, "init": "random", "init_range": 0.5},
    "shared_adapter": {**_BOTTLENECK, "reduction_factor": 16.0},
}

TRAINING = {
    "epochs": 1, "max_steps": None, "max_train_samples": None, "max_eval_samples": None,
    "batch_size": 32, "eval_batch_size": 128, "max_seq_len": 128, "warmup_ratio": 0.1,
    "weight_decay": 0.0,
    # added with the task kinds (issue 13); their defaults train as before they existed
    "objective": "head", "train_split": None, "dev_split": None, "eval_languages": (),
    "eval_split": None, "eval_every_steps": None,
}

PROBES = {
    "phases": ("train", "inference"), "cells": (), "reps": 10, "warmup": 3,
    "dropped_layers": (0,), "n_tasks": (1,), "force": False,
    "paired": False,  # added with paired probes (issue 12): unpaired, as before it existed
}
