"""Published numbers of the reference papers, as data (copied from ../shared/papers/)."""

# AdapterDrop (Rücklé et al., 2021) Table 1: relative speed t_full / t_adapter, BERT-base,
# measured on a V100 (paper §2 / A.1). Keys: (phase, method) -> {(seq_len, batch): value}.
ADAPTERDROP_TABLE1 = {
    ("train", "houlsby"): {(128, 16): 1.48, (128, 32): 1.53, (512, 16): 1.36, (512, 32): 1.33},
    ("train", "pfeiffer"): {(128, 16): 1.57, (128, 32): 1.60, (512, 16): 1.41, (512, 32): 1.37},
    ("inference", "houlsby"): {(128, 16): 0.94, (128, 32): 0.94, (512, 16): 0.96, (512, 32): 0.96},
    ("inference", "pfeiffer"): {(128, 16): 0.95, (128, 32): 0.95, (512, 16): 0.96, (512, 32): 0.96},
}

# Compacter (Karimi Mahabadi et al., 2021) Table 1: GLUE dev on T5-base. Our method name ->
# (paper row, % trained params, {task: score as printed}); MRPC/QQP print acc/F1, STS-B
# Pearson/Spearman, CoLA Matthews, the rest accuracy.
COMPACTER_TASKS = ("cola", "sst2", "mrpc", "qqp", "stsb", "mnli", "qnli", "rte")
_T1 = {
    "full": ("T5-base", "100", "61.76 94.61 90.20/93.06 91.63/88.84 89.68/89.97 86.78 93.01 71.94 86.50"),
    "houlsby": ("Adapter", "0.832", "64.02 93.81 85.29/89.73 90.18/87.20 90.73/91.02 86.49 93.21 71.94 85.78"),
    "pfeiffer": ("Pfeiffer-Adapter", "0.427", "62.9 93.46 86.76/90.85 90.14/87.15 91.13/91.34 86.26 93.30 76.26 86.32"),
    "adapterdrop": ("AdapterDrop", "0.494", "62.7 93.58 86.27/90.60 90.2/87.25 91.37/91.61 86.27 93.23 71.22 85.85"),
    "lowrank": ("Adapter-LowRank", "0.073", "59.19 93.69 88.24/91.49 90.23/87.01 90.8/91.33 85.8 92.9 73.38 85.82"),
    "prompt_tuning": ("Prompt Tuning-R", "0.034", "0.47 87.61 68.14/81.05 88.93/85.55 90.25/90.59 46.83 92.33 54.68 71.49"),
    "intrinsic_said": ("Intrinsic-SAID", "0.009", "58.69 94.15 88.24/91.78 90.28/87.13 90.06/90.45 85.23 93.39 70.50 85.45"),
    "bitfit": ("BitFit", "0.126", "58.16 94.15 86.76/90.53 90.06/86.99 90.88/91.26 85.31 92.99 67.63 84.97"),
    "phm": ("PHM-Adapter", "0.179", "57.35 94.50 91.67/93.86 90.25/87.05 90.45/90.84 85.97 92.92 75.54 86.40"),
    "compacter": ("Compacter", "0.073", "63.75 93.00 89.22/92.31 90.23/87.03 90.31/90.74 85.61 92.88 77.70 86.62"),
    "compacterpp": ("Compacter++", "0.047", "61.27 93.81 90.69/93.33 90.17/86.93 90.46/90.93 85.71 93.08 74.82 86.47"),
}
COMPACTER_TABLE1 = {
    method: (row, pct, dict(zip((*COMPACTER_TASKS, "avg"), values.split())))
    for method, (row, pct, values) in _T1.items()
}
