"""Read the Parquet records fast at any scale, skipping broken files with a warning.

Reading 100k small files costs ~1 ms each, so a regeneration keeps what it has read in a cache
of appended segments: ``<results>/.tables-cache/<kind>/seg-*.parquet``, each holding the rows of
the record files read in one regeneration, with the file each row came from, and the files'
names, sizes and mtimes in its Parquet metadata (its manifest). Record files are immutable
(written under a temporary name and renamed), so a file whose name, size and mtime are unchanged
need not be read again; a regeneration reads only new files (in parallel threads) and appends
them as one new segment; a segment holding a vanished or rewritten file is rewritten without it;
more than ``MAX_SEGMENTS`` segments are merged into one. A corrupt or half-written file is
skipped with a warning naming it, and is tried again next time. Delete the cache directory at
any time: the next regeneration rebuilds it from the records.

Rows are returned sorted by file (stable: a file's rows keep their order), so the row order (and
float sums) never depend on which files happened to be cached already.
"""

from __future__ import annotations

import json
import os
import secrets
import warnings
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tracking.records import SCHEMAS, records_dir

CACHE_DIR = ".tables-cache"
CACHE_VERSION = b"2"
MAX_SEGMENTS = 8
READ_THREADS = 2  # small files: hides latency on network disks; reads here hold the GIL

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


def _cache_schema(schema: pa.Schema) -> pa.Schema:
    return (schema.append(pa.field("_file", pa.string())).append(pa.field("_size", pa.int64()))
            .append(pa.field("_mtime_ns", pa.int64())))


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


def _read_one(path: Path, schema: pa.Schema):
    """(rows of one record file, None) or (None, error)."""
    try:
        return _read_file(path, schema), None
    except Exception as e:  # noqa: BLE001 - corruption is skipped, never fatal
        return None, e


def _read_file(path: Path, schema: pa.Schema) -> pa.Table:
    """The file's rows in ``schema`` (missing columns null, others cast). ParquetFile.read is
    ~2x cheaper per small file than pq.read_table(schema=...), which builds a dataset; and
    parsing the file from memory ~25% cheaper again than from its path (one read() instead of
    a small read per column chunk)."""
    with pq.ParquetFile(pa.BufferReader(path.read_bytes())) as f:
        present = set(f.schema_arrow.names)
        t = f.read(columns=[c for c in schema.names if c in present], use_threads=False)
    if t.schema.equals(schema):
        return t
    return pa.table([t[c] if c in present else pa.nulls(t.num_rows, schema.field(c).type)
                     for c in schema.names], names=schema.names).cast(schema)


def _read_new(folder: Path, names: list[str], listing: dict, schema: pa.Schema):
    """(rows of the given files sorted by file, with their _file/_size/_mtime_ns,
    {name: (size, mtime)} of those read)."""
    if not names:
        return None, {}
    with ThreadPoolExecutor(min(READ_THREADS, len(names))) as pool:
        results = list(pool.map(lambda n: _read_one(folder / n, schema), names))
    parts, good = [], {}
    for name, (table, error) in zip(names, results):  # names are sorted: so are the parts
        if error is not None:
            warnings.warn(f"skipping unreadable record file {folder / name}: {error}", stacklevel=3)
            continue
        parts.append(table)
        good[name] = listing[name]
    if not parts:
        return None, {}
    # The file columns for all rows at once (per file they cost more than reading it).
    rows = pa.array(np.repeat(np.arange(len(parts)), [t.num_rows for t in parts]))
    sizes, mtimes = zip(*good.values())
    table = pa.concat_tables(parts).combine_chunks()  # one chunk a column: faster queries
    columns = table.columns + [pa.array(list(good), pa.string()).take(rows),
                               pa.array(sizes, pa.int64()).take(rows),
                               pa.array(mtimes, pa.int64()).take(rows)]
    return pa.Table.from_arrays(columns, schema=_cache_schema(schema)), good


# --- the segment cache ---------------------------------------------------------------------

def _write_segment(folder: Path, table: pa.Table, files: dict, seq: int) -> Path:
    """Write rows + their manifest atomically as segment ``seq``."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest = json.dumps(sorted([n, s, m] for n, (s, m) in files.items())).encode()
    path = folder / f"seg-{seq:08d}-{secrets.token_hex(4)}.parquet"
    tmp = folder / f".{path.name}.tmp"
    # No compression and no column statistics: nothing filters on them, and a cold build
    # writes 1.1M rows here (~0.1 s less; the probes' segment is as small, its strings are
    # dictionary-encoded either way).
    pq.write_table(table.replace_schema_metadata({b"adapterbench.cache": CACHE_VERSION,
                                                  b"adapterbench.files": manifest}), tmp,
                   compression="none", write_statistics=False)
    os.replace(tmp, path)
    return path


def _read_segment(path: Path, schema: pa.Schema):
    """(rows, {name: (size, mtime)}) of a segment, or None if it is unusable."""
    try:
        f = pq.ParquetFile(path)
        meta = f.schema_arrow.metadata or {}
        if meta.get(b"adapterbench.cache") != CACHE_VERSION or \
                f.schema_arrow.remove_metadata() != schema:
            return None
        t = f.read(use_threads=False)
        files = {n: (s, m) for n, s, m in json.loads(meta[b"adapterbench.files"])}
        return t.replace_schema_metadata(None), files
    except FileNotFoundError:
        return None
    except Exception as e:  # noqa: BLE001 - a broken segment is dropped and its files re-read
        warnings.warn(f"dropping the table cache segment {path}: {e}", stacklevel=3)
        return None


def _seq(path: Path) -> int:
    return int(path.name.split("-")[1])


def _only(table: pa.Table, names) -> pa.Table:
    return table.filter(pc.is_in(table["_file"], value_set=pa.array(sorted(names), pa.string())))


def load_kind(results: Path, kind: str, use_cache: bool = True,
              columns: list[str] | None = None, deferred: list | None = None) -> pa.Table:
    """Every readable record of ``kind`` plus ``_file``, ``_size`` and ``_mtime_ns`` columns,
    sorted by file. ``columns``: only these record columns are read and cached (a cache made
    for other columns no longer matches its schema and is rebuilt). ``deferred``: the segment
    of the newly read files is not written now but appended here as a function to call later
    (regen writes it while it waits for the figures; not called: the files are read again
    next time)."""
    schema = read_schema(kind)
    if columns is not None:
        schema = pa.schema([schema.field(c) for c in columns])
    cache_schema = _cache_schema(schema)
    folder = records_dir(results, kind)
    listing = _listing(folder)
    seg_dir = Path(results) / CACHE_DIR / kind
    old = Path(results) / CACHE_DIR / f"{kind}.parquet"  # the single-file cache of version 1
    if use_cache and old.exists():
        old.unlink(missing_ok=True)

    paths = sorted(seg_dir.glob("seg-*.parquet"), key=lambda p: (_seq(p), p.name)) \
        if use_cache and seg_dir.is_dir() else []
    with ThreadPoolExecutor(min(READ_THREADS, max(1, len(paths)))) as pool:
        loaded = list(pool.map(lambda p: _read_segment(p, cache_schema), paths))
    tables, seen, next_seq = [], {}, 0
    for path, got in zip(paths, loaded):
        next_seq = max(next_seq, _seq(path) + 1)
        if got is None:
            path.unlink(missing_ok=True)
            continue
        table, files = got
        current = {n: m for n, m in files.items() if listing.get(n) == m and n not in seen}
        if len(current) < len(files):  # vanished, rewritten or duplicated files: drop their rows
            if current:
                table = _only(table, current)
                _write_segment(seg_dir, table, current, _seq(path))
            path.unlink(missing_ok=True)
            if not current:
                continue
        seen.update(current)
        tables.append(table)

    new = sorted(n for n in listing if n not in seen)
    fresh, good = _read_new(folder, new, listing, schema)
    if fresh is not None:
        tables.append(fresh)
    if use_cache and len(tables) > MAX_SEGMENTS:  # merge: reads stay a few large files
        merged = _sorted(pa.concat_tables(tables))
        _write_segment(seg_dir, merged, {**seen, **good}, next_seq)
        for p in seg_dir.glob("seg-*.parquet"):
            if _seq(p) < next_seq:
                p.unlink(missing_ok=True)
        return merged
    if use_cache and fresh is not None:
        write = partial(_write_segment, seg_dir, fresh, good, next_seq)
        if deferred is None:
            write()
        else:
            deferred.append(write)
    if not tables:
        return cache_schema.empty_table()
    if len(tables) == 1:  # a segment is written sorted by file
        return tables[0]
    return _sorted(pa.concat_tables(tables))


def _sorted(table: pa.Table) -> pa.Table:
    return table.take(pc.sort_indices(table["_file"]))  # stable: a file's rows keep their order
