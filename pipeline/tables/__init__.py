"""Results tables and figures of the reference papers, regenerated from the Parquet records.

    from pipeline.tables import regenerate
    regenerate("results")  # results/tables/<paper>/tableNN.{md,csv,tex}, results/figures/<paper>/figureNN.png

One file per concern: registry.py (the declarations), published.py (the papers' numbers, in
pipeline/), core.py (shared queries), adapterdrop*.py / compacter.py / efficiency.py (per-paper
queries), figures.py (figure queries), png.py (drawing), render.py (md/csv/tex), load.py (fast,
cached, corruption-tolerant record reading), regen.py (lock, staging, index).
"""

_EXPORTS = {"DASH": "core", "Decl": "core", "Table": "core", "TABLES": "registry",
            "build": "regen", "regenerate": "regen"}


def __getattr__(name: str):
    """Imported on first use, so that the figure-drawing process, which imports only
    pipeline.tables.drawing and .png, never loads pandas and the queries."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'pipeline.tables' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"pipeline.tables.{_EXPORTS[name]}"), name)
