"""Probe aggregations over the Arrow probe table, vectorised (numpy / pyarrow, no Python loop
over rows): the median step time per probe cell, the cells flagged oom / not exclusive, and the
(model, device) groups.

The result is the same as pandas' ``groupby(PROBE_KEYS, observed=True, sort=True).median()``
over categorical strings: groups ordered by the keys, strings in order of first appearance
(pandas' category order), numbers ascending; rows with a null key left out; the median of an
even count is the mean of the two middle values; NaN values ignored.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def _codes(column: pa.ChunkedArray) -> tuple[np.ndarray, list]:
    """(code per row, -1 for null; the values in code order) of one key column."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    enc = pc.dictionary_encode(column)  # hashing: dictionary in order of first appearance
    codes = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    values = enc.dictionary.to_pylist()
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return codes, values  # pandas' category order: first appearance
    rank = np.argsort(np.argsort(np.asarray(values), kind="stable"))  # numbers: ascending
    codes = np.where(codes >= 0, rank[np.maximum(codes, 0)] if len(rank) else codes, -1)
    labels = sorted(values)
    if column.null_count > 0:  # pandas reads an int column with nulls as float
        labels = [float(v) for v in labels]
    return codes, labels


def _as_objects(values: list) -> np.ndarray:
    out = np.empty(len(values), object)
    out[:] = values
    return out


def _group_code(codes: list[np.ndarray], sizes: list[int]) -> np.ndarray:
    """One int64 per row whose order is the lexicographic order of the codes (mixed radix,
    re-densified before it could overflow)."""
    code = np.zeros(len(codes[0]), np.int64)
    span = 1
    for c, n in zip(codes, sizes):
        if span * max(n, 1) >= 2**62:
            code = np.unique(code, return_inverse=True)[1].astype(np.int64)
            span = int(code.max()) + 1 if len(code) else 1
        code = code * max(n, 1) + c
        span *= max(n, 1)
    return code


def medians(table: pa.Table, keys: list[str], mask: pa.ChunkedArray | None,
            value: str) -> "Groups":
    """Groups of the masked rows by ``keys`` in sorted order, with the median of ``value``."""
    cols = [_codes(table[k]) for k in keys]
    keep = np.ones(table.num_rows, bool) if mask is None else \
        np.asarray(pc.fill_null(mask, False).combine_chunks() if isinstance(mask, pa.ChunkedArray)
                   else pc.fill_null(mask, False))
    for c, _ in cols:
        keep &= c >= 0  # a null key: pandas drops the row (dropna)
    rows = np.flatnonzero(keep)
    if len(rows) == 0:
        return Groups([], [], [], [])
    code = _group_code([c[rows] for c, _ in cols], [len(v) for _, v in cols])
    vals = table[value].to_numpy().astype(np.float64)[rows]
    order = pc.sort_indices(pa.table({"g": code, "v": vals}),  # by group, then value (NaN last)
                            sort_keys=[("g", "ascending"), ("v", "ascending")]).to_numpy()
    code, vals, rows = code[order], vals[order], rows[order]
    starts = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
    n_valid = np.add.reduceat((~np.isnan(vals)).astype(np.int64), starts)
    hi = starts + n_valid // 2
    lo = starts + np.maximum(n_valid - 1, 0) // 2
    med = np.where(n_valid > 0, (vals[np.minimum(lo, len(vals) - 1)] +
                                 vals[np.minimum(hi, len(vals) - 1)]) / 2, np.nan)
    odd = n_valid % 2 == 1
    med[odd] = vals[hi[odd]]  # odd count: the middle value itself (no (x + x) / 2 rounding)
    first = rows[starts]
    labels = [_as_objects(values)[c[first]].tolist() for c, values in cols]
    return Groups(list(zip(*labels)), med.tolist(), [c[first] for c, _ in cols],
                  [values for _, values in cols])


class Groups:
    """Aggregated groups in sorted order: key tuples, values, and per key column the group's
    code and the column's values (for ``buckets``)."""

    def __init__(self, keys: list[tuple], values: list[float], codes: list[np.ndarray],
                 labels: list[list]):
        self.keys, self.values, self.codes, self.labels = keys, values, codes, labels

    def buckets(self, columns: list[int]) -> dict[tuple, list[tuple]]:
        """(values of the given key columns) -> [(key, value)] of its groups, in group order."""
        if not self.keys:
            return {}
        code = _group_code([self.codes[i] for i in columns], [len(self.labels[i]) for i in columns])
        order = np.argsort(code, kind="stable")
        code = code[order]
        starts = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
        ends = np.r_[starts[1:], len(code)]
        keys, values, out = self.keys, self.values, {}
        for s, e in zip(starts.tolist(), ends.tolist()):
            idx = order[s:e].tolist()
            first = keys[idx[0]]
            out[tuple(first[i] for i in columns)] = [(keys[i], values[i]) for i in idx]
        return out


def distinct(table: pa.Table, keys: list[str], mask: pa.ChunkedArray | None = None) -> list[tuple]:
    """The distinct key tuples of the (masked) rows, in no particular order."""
    t = table.select(keys)
    if mask is not None:
        t = t.filter(pc.fill_null(mask, False))
    if t.num_rows == 0:
        return []
    u = t.group_by(keys, use_threads=False).aggregate([])
    return list(zip(*[u[k].to_pylist() for k in keys]))
