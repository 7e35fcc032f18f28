"""Read a results directory's Parquet records fast at any scale: one cache for every reader.

Opening 100k small record files costs ~2.5 ms each, so every reader of a local results directory
(``adapterbench tables``, ``plan``, a sweep's start via tracking.records.read_records) keeps what
it has read in a cache of appended segments: ``<results>/.records-cache/<kind>/seg-*.parquet``,
each holding every column of the record files read in one go, with the file each row came from,
and the files' names, sizes and mtimes in its Parquet metadata (its manifest). Record files are
immutable (written under a temporary name and renamed), so a file whose name, size and mtime are
unchanged need not be read again; a read opens only new files (in parallel threads) and appends
them as one new segment; a segment holding a vanished or rewritten file is rewritten without it;
more than ``MAX_SEGMENTS`` segments are merged into one; a temporary segment left by a process
killed mid-write is deleted once it is an hour old. A corrupt or half-written file is
skipped with a warning naming it, and is tried again next time. Delete the cache directory at
any time: the next read rebuilds it from the records. A results directory this process cannot
write is read file by file, without the cache.

Several processes (two sweeps, a sweep and ``tables``) may read and append at once: a segment is
written under a temporary name and renamed, so a reader sees a whole segment or none; a segment
is read through the file handle opened when its manifest was read, so one that another process
deletes meanwhile (merged or rewritten) still reads whole; a file that two segments hold (two
processes appended it at once) is taken from the first and dropped from the other. What a race
can cost is a file read twice, never a row lost or doubled.

Rows are returned sorted by file (stable: a file's rows keep their order), so the row order (and
float sums) never depend on which files happened to be cached already.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tracking.records import SCHEMAS, records_dir

CACHE_DIR = ".records-cache"
CACHE_VERSION = b"3"  # 3: every column of the records, under .records-cache (was .tables-cache)
MAX_SEGMENTS = 8
# A segment's temporary file older than this was left by a process killed mid-write (a write
# takes seconds): the next read deletes it.
STALE_TMP_S = 3600
READ_THREADS = 2  # small files: hides latency on network disks; reads here hold the GIL
FILE_COLUMNS = ["_file", "_size", "_mtime_ns"]

def _cache_schema(schema: pa.Schema) -> pa.Schema:
    return (schema.append(pa.field("_file", pa.string())).append(pa.field("_size", pa.int64()))
            .append(pa.field("_mtime_ns", pa.int64())))


def _listing(folder: Path) -> dict[str, tuple[int, int]]:
    """name -> (size, mtime_ns) of the record files (temporary ``.x.tmp`` names are skipped).
    One stat a file: ~6 µs of the ~10 µs a file costs a warm read here."""
    out = {}
    try:
        entries = os.scandir(folder)
    except FileNotFoundError:
        return out
    with entries:
        for e in entries:
            name = e.name
            if name.endswith(".parquet") and name[0] not in "._" and e.is_file():
                st = e.stat()
                out[name] = (st.st_size, st.st_mtime_ns)
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
            warnings.warn(f"skipping unreadable record file {folder / name}: {error}", stacklevel=4)
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
    names = sorted(files)
    manifest = json.dumps({"names": names, "sizes": [files[n][0] for n in names],
                           "mtimes": [files[n][1] for n in names]}).encode()
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


def _remove_stale_tmp(seg_dir: Path) -> None:
    """Delete segment temporaries older than STALE_TMP_S (a live writer renames its own)."""
    now = time.time()
    for tmp in seg_dir.glob(".seg-*.tmp") if seg_dir.is_dir() else ():
        try:
            if now - tmp.stat().st_mtime > STALE_TMP_S:
                tmp.unlink()
        except FileNotFoundError:  # renamed or removed by another process meanwhile
            pass


def _open_segment(path: Path, schema: pa.Schema):
    """(the open segment, {name: (size, mtime)} of its files), or None if it is unusable. Its
    rows are read later through this handle: whole even if another process deletes the file."""
    try:
        f = pq.ParquetFile(path)
        own = f.schema_arrow
        meta = own.metadata or {}
        if meta.get(b"adapterbench.cache") != CACHE_VERSION or own.remove_metadata() != schema:
            f.close()
            return None
        m = json.loads(meta[b"adapterbench.files"])
        return f, dict(zip(m["names"], zip(m["sizes"], m["mtimes"])))
    except FileNotFoundError:  # merged or rewritten by another process meanwhile
        return None
    except Exception as e:  # noqa: BLE001 - a broken segment is dropped and its files re-read
        warnings.warn(f"dropping the record cache segment {path}: {e}", stacklevel=3)
        return None


def _seq(path: Path) -> int:
    return int(path.name.split("-")[1])


def _only(table: pa.Table, names) -> pa.Table:
    return table.filter(pc.is_in(table["_file"], value_set=pa.array(sorted(names), pa.string())))


def load_kind(results: Path, kind: str, use_cache: bool = True,
              columns: list[str] | None = None, deferred: list | None = None) -> pa.Table:
    """Every readable record of ``kind`` plus ``_file``, ``_size`` and ``_mtime_ns`` columns,
    sorted by file. ``columns``: only these record columns are returned (the cache holds them
    all; a segment is read with only these). ``deferred``: the segment of the newly read files
    is not written now but appended here as a function to call later (regen writes it while it
    waits for the figures; not called: the files are read again next time)."""
    schema = SCHEMAS[kind]  # older files lack newer columns: they read as null
    cache_schema = _cache_schema(schema)
    wanted = (schema.names if columns is None else list(columns)) + FILE_COLUMNS
    folder = records_dir(results, kind)
    listing = _listing(folder)
    seg_dir = Path(results) / CACHE_DIR / kind
    use_cache = use_cache and os.access(results, os.W_OK)  # a read-only copy: no cache
    if use_cache:  # the cache of version 2, for the tables only
        shutil.rmtree(Path(results) / ".tables-cache" / kind, ignore_errors=True)
        _remove_stale_tmp(seg_dir)

    # 1. Which files each segment still holds: its manifest, read from its footer.
    paths = sorted(seg_dir.glob("seg-*.parquet"), key=lambda p: (_seq(p), p.name)) \
        if use_cache and seg_dir.is_dir() else []
    segments, seen, next_seq = [], {}, 0  # (path, open segment, its files still current)
    for path in paths:
        next_seq = max(next_seq, _seq(path) + 1)
        got = _open_segment(path, cache_schema)
        if got is None:
            path.unlink(missing_ok=True)
            continue
        f, files = got
        current = dict(files.items() & listing.items())  # unchanged since (set operations)
        for name in current.keys() & seen.keys():  # appended twice: by two processes at once
            del current[name]
        if not current:  # every file vanished, rewritten or held by an earlier segment
            f.close()
            path.unlink(missing_ok=True)
            continue
        seen.update(current)
        segments.append((path, f, files, current))
    new = sorted(listing.keys() - seen.keys())
    merge = use_cache and len(segments) + bool(new) > MAX_SEGMENTS

    # 2. Their rows (only the wanted columns, unless they are rewritten or merged), then the
    # new files'.
    tables = []
    for path, f, files, current in segments:
        with f:
            partial_segment = len(current) < len(files)
            table = f.read(columns=None if partial_segment or merge else wanted)
        table = table.replace_schema_metadata(None)
        if partial_segment:  # drop the rows of vanished, rewritten or duplicated files
            table = _only(table, current)
            if not merge:
                _write_segment(seg_dir, table, current, _seq(path))
            path.unlink(missing_ok=True)
        tables.append(table)
    fresh, good = _read_new(folder, new, listing, schema)
    if fresh is not None:
        tables.append(fresh)
    if merge:  # reads stay a few large files
        merged = _sorted(pa.concat_tables(tables))
        _write_segment(seg_dir, merged, {**seen, **good}, next_seq)
        for path, *_ in segments:
            path.unlink(missing_ok=True)
        return merged.select(wanted)
    if use_cache and fresh is not None:
        write = partial(_write_segment, seg_dir, fresh, good, next_seq)
        if deferred is None:
            write()
        else:
            deferred.append(write)
    tables = [t.select(wanted) for t in tables]
    if not tables:
        return cache_schema.empty_table().select(wanted)
    if len(tables) == 1:  # a segment is written sorted by file
        return tables[0]
    return _sorted(pa.concat_tables(tables))


def _sorted(table: pa.Table) -> pa.Table:
    return table.take(pc.sort_indices(table["_file"]))  # stable: a file's rows keep their order
