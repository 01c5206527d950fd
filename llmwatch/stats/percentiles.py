"""The one percentile definition used everywhere in llmwatch.

Definition (nearest rank; Hyndman & Fan 1996 type 1, the inverse of the empirical CDF):
for ``n`` non-missing values sorted ascending as ``x[1] <= ... <= x[n]`` and a level
``0 <= p <= 1``, the p-th percentile is ``x[k]`` with ``k = max(1, ceil(p * n))`` - the
smallest observed value such that at least a fraction ``p`` of the data is ``<=`` it.

Why this one:

* it is always an observed value (a p99 latency that some request really had), so ties
  and tiny windows have an obvious answer (one value: every percentile is that value);
* it is computed exactly inside both warehouses: PostgreSQL's
  ``percentile_disc(p) WITHIN GROUP (ORDER BY x)`` *is* this definition, and on SQLite
  the same row is picked with window functions: the smallest value whose row number
  ``r`` satisfies ``r >= p * n`` (see ``llmwatch.aggregation.queries``);
* ``p * n`` is evaluated in IEEE double precision on every side (PostgreSQL does
  ``ceil(p * n)`` on float8, SQLite multiplies doubles, so does Python), so the three
  agree bit for bit, including on levels such as 0.07 where ``p * n`` rounds above an
  integer.

Missing values (``None``) are ignored, as SQL aggregates ignore NULL; no data gives
``None``, never an invented 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

__all__ = [
    "grouped_nearest_ranks",
    "nearest_rank",
    "nearest_rank_index",
    "percentile",
    "percentiles",
]


def nearest_rank_index(p: float, n: int) -> int:
    """The 1-based rank ``max(1, ceil(p * n))`` of the p-th percentile among ``n`` values."""
    _check_level(p)
    if n <= 0:
        raise ValueError("no values: the percentile is undefined")
    return min(n, max(1, math.ceil(p * n)))


def nearest_rank(sorted_values: Sequence[float], p: float) -> float | None:
    """The p-th percentile of values already sorted ascending (no ``None`` inside)."""
    if not sorted_values:
        _check_level(p)
        return None
    return sorted_values[nearest_rank_index(p, len(sorted_values)) - 1]


def percentile(values: Iterable[float | None], p: float) -> float | None:
    """The p-th percentile of ``values`` (any order, ``None`` ignored); ``None`` if empty."""
    return nearest_rank(sorted(v for v in values if v is not None), p)


def percentiles(values: Iterable[float | None], levels: Sequence[float]) -> list[float | None]:
    """Several percentiles of the same values with a single sort."""
    ordered = sorted(v for v in values if v is not None)
    return [nearest_rank(ordered, p) for p in levels]


def _check_level(p: float) -> None:
    if not 0.0 <= p <= 1.0 or math.isnan(p):
        raise ValueError(f"percentile level must be in [0, 1], got {p!r}")


def grouped_nearest_ranks(
    batches: Iterable[Sequence[Sequence[float]]],
    group_sizes: Sequence[int],
    levels: Sequence[float],
) -> list[list[float | None]]:
    """Percentiles of several groups from one stream of sorted values, in constant memory.

    ``batches`` yields lists of rows whose first item is the value (e.g. DB-API
    ``fetchmany`` results), ordered by group and, within a group, ascending, with no
    missing values; ``group_sizes`` are the groups' value counts in the same order. Only
    the rows at the wanted ranks are looked at, so the Python cost is per batch, not per
    row. A stream that does not hold exactly ``sum(group_sizes)`` rows is an error: the
    counts and the values must come from the same snapshot of the data.
    """
    wanted: list[tuple[int, int, int]] = []  # (position in the stream, group, level)
    offset = 0
    for group, size in enumerate(group_sizes):
        if size > 0:
            for index, p in enumerate(levels):
                wanted.append((offset + nearest_rank_index(p, size) - 1, group, index))
        offset += size
    wanted.sort()
    out: list[list[float | None]] = [[None] * len(levels) for _ in group_sizes]
    position = 0  # stream position of the current batch's first row
    cursor = 0
    for batch in batches:
        end = position + len(batch)
        while cursor < len(wanted) and wanted[cursor][0] < end:
            at, group, index = wanted[cursor]
            out[group][index] = batch[at - position][0]
            cursor += 1
        position = end
    if position != offset:
        raise RuntimeError(
            f"sorted stream had {position} values where the group counts say {offset}"
        )
    return out
