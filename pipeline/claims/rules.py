"""Verdict rules: a claim holds when every one of its rules holds on our figures.

A rule reads one named figure and compares it with a bound written into the claim's declaration
(pipeline/claims/registry.py). Bounds are inclusive for AtLeast / AtMost / Within and strict for
Above / Below ("faster" means a relative speed above 1, not equal to it).
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
NOT_MEASURED = "not measured here"


OPS = {">": operator.gt, "≥": operator.ge, "<": operator.lt, "≤": operator.le}


@dataclass(frozen=True)
class Rule:
    key: str  # the figure it reads

    def holds(self, value: float) -> bool:
        raise NotImplementedError

    @property
    def text(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class Bound(Rule):
    op: str  # a key of OPS
    bound: float

    def holds(self, value: float) -> bool:
        return OPS[self.op](value, self.bound)

    @property
    def text(self) -> str:
        return f"{self.key} {self.op} {self.bound:g}"


@dataclass(frozen=True)
class Within(Rule):
    lo: float
    hi: float

    def holds(self, value: float) -> bool:
        return self.lo <= value <= self.hi

    @property
    def text(self) -> str:
        return f"{self.lo:g} ≤ {self.key} ≤ {self.hi:g}"


def Above(key: str, bound: float) -> Bound:  # noqa: N802 - reads as a rule in declarations
    return Bound(key, ">", bound)


def AtLeast(key: str, bound: float) -> Bound:  # noqa: N802
    return Bound(key, "≥", bound)


def Below(key: str, bound: float) -> Bound:  # noqa: N802
    return Bound(key, "<", bound)


def AtMost(key: str, bound: float) -> Bound:  # noqa: N802
    return Bound(key, "≤", bound)


def missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def verdict(rules: tuple[Rule, ...], figures: dict) -> tuple[str, str]:
    """(verdict, why): NOT_MEASURED when a figure a rule reads is missing, NOT_REPRODUCED naming
    the rules that fail, else REPRODUCED."""
    absent = sorted({r.key for r in rules if missing(figures.get(r.key))})
    if absent:
        return NOT_MEASURED, "no figure for " + ", ".join(absent)
    failed = [r.text for r in rules if not r.holds(float(figures[r.key]))]
    if failed:
        return NOT_REPRODUCED, "fails " + "; ".join(failed)
    return REPRODUCED, ""


def describe(rules: tuple[Rule, ...]) -> str:
    return " and ".join(r.text for r in rules)
