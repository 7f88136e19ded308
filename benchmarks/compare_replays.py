"""Two revisions' monitor replays of the same worlds, side by side.

Reads the Markdown files ``benchmarks/replay_monitor.py`` wrote (``--out``) for each
world at two revisions and prints one table per measure: per world, the lineage churn
(split and merged rows over all updates), the worst false-positive rate of each
population over the updates, the flagged accounts (ring accounts among them) at the
last update, the daily updates' median wall time, and per labelled ring
the time to its first flag, the share of its exchanges made before it, how often the
monitor ring holding most of it changed id and the most pieces it was in; per world, those
times summed up (rings flagged within 24 hours, never flagged, flagged earlier or later).

Usage::

    python benchmarks/compare_replays.py --old old_1000.md old_11000.md --new new_1000.md new_11000.md
"""

from __future__ import annotations

import argparse
import re
from statistics import median
from pathlib import Path


def _table(text: str, heading: str) -> list[list[str]]:
    """Rows (cells) of the first Markdown table after ``heading``."""
    part = text.split(heading, 1)[1]
    rows = [ln for ln in part.split("\n\n", 2)[1].splitlines() if ln.startswith("|")]
    return [[c.strip() for c in r.strip("|").split("|")] for r in rows[2:]]


def _title(text: str) -> str:
    return re.sub(r" at [0-9a-f]{7,}$", "", text.splitlines()[0].removeprefix("# Monitor replay: "))


def _summary(text: str) -> dict[str, str]:
    rows = {r[0]: r for r in _table(text, "## Summary over updates")}
    splits = sum(int(r[12]) for k, r in rows.items() if k in ("hourly", "daily"))
    merges = sum(int(r[13]) for k, r in rows.items() if k in ("hourly", "daily"))
    every = _table(text, "## Every update")
    worst = [max(float(r[i]) for r in every) for i in (8, 9, 10)]
    daily = rows.get("daily", ["", "", "", "nan"])
    return {"churn": f"{splits} / {merges}", "fpr": " / ".join(f"{100 * w:.3f} %" for w in worst),
            "daily_s": daily[3], "last": f"{every[-1][11]} ({every[-1][12]})"}


def _hours(cell: str) -> float:
    """Hours in a pandas Timedelta cell (``"1 days 02:03:04.5"``); inf for ``NaT`` (never flagged)."""
    m = re.match(r"(-?\d+) days (\d+):(\d+):(\d+)", cell)
    if not m:
        return float("inf")
    d, h, mi, se = (int(x) for x in m.groups())
    return d * 24 + h + mi / 60 + se / 3600


def timeliness(old: list[list[str]], new: list[list[str]]) -> dict[str, object]:
    """Per-ring time to first flag of two replays of one world, summed up.

    ``old`` and ``new`` are the "Per ring" rows (same rings, same order). Returns the rings
    flagged within 24 hours of their first exchange at each revision, the rings never flagged,
    the median share of a ring's exchanges made before its first flag, and how many rings
    were flagged earlier or later by the new revision.
    """
    ho, hn = [_hours(r[5]) for r in old], [_hours(r[5]) for r in new]
    so, sn = [float(r[7]) for r in old], [float(r[7]) for r in new]
    return {"rings": len(old), "day_old": sum(h <= 24 for h in ho), "day_new": sum(h <= 24 for h in hn),
            "never_old": sum(h == float("inf") for h in ho), "never_new": sum(h == float("inf") for h in hn),
            "share_old": median(so) if so else float("nan"), "share_new": median(sn) if sn else float("nan"),
            "earlier": sum(b < a for a, b in zip(ho, hn)), "later": sum(b > a for a, b in zip(ho, hn))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--old", type=Path, nargs="+", required=True)
    ap.add_argument("--new", type=Path, nargs="+", required=True)
    ap.add_argument("--labels", nargs=2, default=("old", "new"))
    a = ap.parse_args()
    o, n = a.labels
    print(f"| world | splits / merges, {o} | {n} | worst FPR legit / ent / auto, {o} | {n} | "
          f"flagged (ring) at the last update, {o} | {n} | daily update s (median), {o} | {n} |")
    print("|---|---|---|---|---|---|---|---|---|")
    for fo, fn in zip(a.old, a.new):
        to, tn = fo.read_text(), fn.read_text()
        so, sn = _summary(to), _summary(tn)
        print(f"| {_title(tn)} | {so['churn']} | {sn['churn']} | {so['fpr']} | {sn['fpr']} | {so['last']} | "
              f"{sn['last']} | {so['daily_s']} | {sn['daily_s']} |")
    print()
    print(f"| world | rings | flagged within 24 h, {o} | {n} | never flagged, {o} | {n} | median share of a ring's "
          f"exchanges before its flag, {o} | {n} | flagged earlier by {n} | later |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for fo, fn in zip(a.old, a.new):
        to, tn = fo.read_text(), fn.read_text()
        t = timeliness(_table(to, "## Per ring"), _table(tn, "## Per ring"))
        print(f"| {_title(tn)} | {t['rings']} | {t['day_old']} | {t['day_new']} | {t['never_old']} | {t['never_new']} | "
              f"{t['share_old']:.4f} | {t['share_new']:.4f} | {t['earlier']} | {t['later']} |")
    print()
    print(f"| world | ring | accounts | time to first flag, {o} | {n} | share before flag, {o} | {n} | "
          f"id changes, {o} | {n} | pieces max, {o} | {n} |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for fo, fn in zip(a.old, a.new):
        to, tn = fo.read_text(), fn.read_text()
        for ro, rn in zip(_table(to, "## Per ring"), _table(tn, "## Per ring")):
            print(f"| {_title(tn)} | {rn[0]} | {rn[1]} | {ro[5].split('.')[0]} | {rn[5].split('.')[0]} | {ro[7]} | "
                  f"{rn[7]} | {ro[8]} | {rn[8]} | {ro[9]} | {rn[9]} |")


if __name__ == "__main__":
    main()
