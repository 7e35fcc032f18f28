"""Results tables and figures of the reference papers, regenerated from the Parquet records.

    from pipeline.tables import regenerate
    regenerate("results")  # results/tables/<paper>/tableNN.{md,csv,tex}, results/figures/<paper>/figureNN.png

One file per concern: registry.py (the declarations), published.py (the papers' numbers, in
pipeline/), core.py (shared queries), adapterdrop*.py / compacter.py / efficiency.py (per-paper
queries), figures.py (figure queries + rendering), render.py (md/csv/tex), load.py (fast,
cached, corruption-tolerant record reading), regen.py (lock, staging, index).
"""

from pipeline.tables.core import DASH, Decl, Table  # noqa: F401
from pipeline.tables.registry import TABLES  # noqa: F401
from pipeline.tables.regen import build, regenerate  # noqa: F401
