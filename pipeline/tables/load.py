"""Read the Parquet records fast at any scale, skipping broken files with a warning.

Reading 100k small files costs ~1 ms each, so a regeneration keeps a compacted copy of what it
has read: ``<results>/.tables-cache/<kind>.parquet`` holds every row so far with the file it came
from. Record files are immutable (written under a temporary name and renamed), so a file whose
name, size and mtime are unchanged need not be read again; new files are read (pyarrow.dataset,
multi-threaded), vanished files' rows are dropped. A corrupt or half-written file is skipped with
a warning naming it, and is tried again next time. Delete the cache directory at any time: the
next regeneration rebuilds it from the records.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from tracking.records import SCHEMAS, records_dir

CACHE_DIR = ".tables-cache"
CACHE_VERSION = b"1"

# Columns the tables read that not every producer writes yet; files without them read as null.
OPTIONAL = {
    "evals": [("n_fusion", pa.int64())],  # adapters kept after AdapterFusion pruning
}


def read_schema(kind: str) -> pa.Schema:
    schema = SCHEMAS[kind]
    for name, typ in OPTIONAL.get(kind, []):
        if name not in schema.names:
            schema = schema.append(pa.field(name, typ))
    return schema


def _listing(folder: Path) -> dict[str, tuple[int, int]]:
    """name -> (size, mtime_ns) of the record files (temporary ``.x.tmp`` names are skipped)."""
    out = {}
    try:
        entries = os.scandir(folder)
    except FileNotFoundError:
        return out
    with entries:
        for e in entries:
            if e.name.endswith(".parquet") and not e.name.startswith((".", "_")) and e.is_file():
                st = e.stat()
                out[e.name] = (st.st_size, st.st_mtime_ns)
    return out


def _with_source(table: pa.Table, name: str, meta: tuple[int, int]) -> pa.Table:
    n = table.num_rows
    return (table.append_column("_file", pa.array([name] * n, pa.string()))
                 .append_column("_size", pa.array([meta[0]] * n, pa.int64()))
                 .append_column("_mtime_ns", pa.array([meta[1]] * n, pa.int64())))


def _read_new(folder: Path, names: list[str], listing: dict, schema: pa.Schema) -> tuple[pa.Table, list[str]]:
    """Rows of the given files plus the names read successfully."""
    if not names:
        return None, []
    paths = [str(folder / n) for n in names]
    try:  # fast path: one multi-threaded scan; the row's file comes from the __filename field
        scan = ds.dataset(paths, schema=schema, format="parquet")
        cols = {f: ds.field(f) for f in schema.names}
        cols["_path"] = ds.field("__filename")
        t = scan.to_table(columns=cols)
        base = pc.replace_substring_regex(t["_path"], r"^.*/", "")
        sizes = pa.array([listing[n][0] for n in names], pa.int64())
        mtimes = pa.array([listing[n][1] for n in names], pa.int64())
        idx = pc.index_in(base, value_set=pa.array(names))
        t = t.drop_columns(["_path"]).append_column("_file", base)
        t = t.append_column("_size", pc.take(sizes, idx))
        return t.append_column("_mtime_ns", pc.take(mtimes, idx)), names
    except Exception:  # noqa: BLE001 - some file is broken: read one by one to name it
        pass
    parts, good = [], []
    for name, path in zip(names, paths):
        try:
            parts.append(_with_source(pq.read_table(path, schema=schema), name, listing[name]))
            good.append(name)
        except Exception as e:  # noqa: BLE001 - corruption is skipped, never fatal
            warnings.warn(f"skipping unreadable record file {path}: {e}", stacklevel=3)
    return (pa.concat_tables(parts) if parts else None), good


def _load_cache(path: Path, schema: pa.Schema) -> tuple[pa.Table | None, dict]:
    try:
        t = pq.read_table(path)
        meta = t.schema.metadata or {}
        if meta.get(b"adapterbench.cache") != CACHE_VERSION or \
                t.schema.remove_metadata() != _cache_schema(schema):
            return None, {}
        # The cache is its own manifest: each row carries its file's name, size and mtime.
        per_file = t.group_by("_file").aggregate([("_size", "min"), ("_mtime_ns", "min")])
        files = dict(zip(per_file["_file"].to_pylist(),
                         zip(per_file["_size_min"].to_pylist(), per_file["_mtime_ns_min"].to_pylist())))
        return t.replace_schema_metadata(None), files
    except FileNotFoundError:
        return None, {}
    except Exception as e:  # noqa: BLE001 - a broken cache is rebuilt from the records
        warnings.warn(f"rebuilding the table cache {path}: {e}", stacklevel=3)
        return None, {}


def _cache_schema(schema: pa.Schema) -> pa.Schema:
    return (schema.append(pa.field("_file", pa.string())).append(pa.field("_size", pa.int64()))
            .append(pa.field("_mtime_ns", pa.int64())))


def _atomic_write(table: pa.Table, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


def load_kind(results: Path, kind: str, use_cache: bool = True) -> pa.Table:
    """Every readable record of ``kind`` plus ``_file`` and ``_mtime_ns`` columns."""
    schema = read_schema(kind)
    folder = records_dir(results, kind)
    listing = _listing(folder)
    cache_path = Path(results) / CACHE_DIR / f"{kind}.parquet"
    cached, files = _load_cache(cache_path, schema) if use_cache else (None, {})
    if cached is None:
        cached, files = _cache_schema(schema).empty_table(), {}
    keep = {n for n, meta in files.items() if listing.get(n) == meta}
    new = sorted(n for n in listing if n not in keep)
    if len(keep) < len(files):  # vanished or rewritten files: drop their rows
        cached = cached.filter(pc.is_in(cached["_file"], value_set=pa.array(sorted(keep), pa.string())))
    fresh, good = _read_new(folder, new, listing, schema)
    table = cached
    if fresh is not None:  # kept sorted by file, so row order (and float sums) never depend
        # on which files happened to be cached already
        table = pa.concat_tables([cached, fresh.select(cached.schema.names).cast(cached.schema)])
        table = table.take(pc.sort_indices(table["_file"]))  # stable: row order within a file
    if use_cache and (good or len(keep) < len(files) or not cache_path.exists()):
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(table.replace_schema_metadata({b"adapterbench.cache": CACHE_VERSION}),
                      cache_path)
    return table
