"""Detection quality over randomised worlds (a distribution, not eight points).

Runs ``accountgraph.detect(events, accounts, seed=0)`` at its defaults on
``accountgraph.synth`` worlds of the ``random`` scenario and writes one Markdown table
with every world, the worst world and the medians. The seed sets are fixed in
``benchmarks/PROTOCOL.md`` (tuning 1000-1019, evaluation 2000-2039)::

    .venv/bin/python benchmarks/random_worlds.py --set tuning --max-accounts 150000
    .venv/bin/python benchmarks/random_worlds.py --seeds 1000 1001 --max-accounts 20000 --out /tmp/x.md
    .venv/bin/python benchmarks/random_worlds.py --set evaluation --out benchmarks/results/random_worlds_evaluation.md

Worlds are generated once into ``--data-root`` (``random-seed<N>-scale<X>``) with
``synth.write`` and reused; each detect runs in a fresh subprocess
(``_measure.measure``: wall/CPU time and peak RSS of the call alone). Worlds are run
one at a time (the machine is shared). ``--max-accounts`` caps a world's size by
generating it at ``scale = min(1, cap / accounts)`` (every count is multiplied);
capped worlds are marked in the table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import shlex
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

import _measure  # noqa: E402
from run_benchmarks import _fmt, git_revision, machine_description  # noqa: E402

__all__ = ["HELD_OUT", "SEED_SETS", "main", "world_summary"]

logger = logging.getLogger("random_worlds")

#: Fixed in PROTOCOL.md before any tuning; never edit.
SEED_SETS: dict[str, list[int]] = {
    "tuning": list(range(1000, 1020)),
    "evaluation": list(range(2000, 2040)),
    # committed 2026-12-05 after a capped run on "evaluation" (PROTOCOL.md, log of evaluation runs)
    "evaluation-2": list(range(3000, 3040)),
    # committed 2026-12-05 07:15 UTC when evaluation-2 failures were opened for inspection
    "evaluation-3": list(range(4000, 4040)),
    # committed 2026-12-05 10:15 UTC when evaluation-3 failures were opened for inspection
    "evaluation-4": list(range(5000, 5040)),
    # committed 2026-12-05 13:55 UTC, before evaluation-4's second run (of e95a7e2), for the change after it
    "evaluation-5": list(range(6000, 6040)),
    # committed 2026-12-05 19:55 UTC, before any run on it (PROTOCOL.md)
    "evaluation-6": list(range(7000, 7040)),
    # committed 2026-12-05 23:50 UTC after evaluation-6's capped run was opened, before any run on it
    "evaluation-7": list(range(8000, 8040)),
    # committed 2026-12-06 00:40 UTC after evaluation-7's run was opened, before any run on it
    "evaluation-8": list(range(9000, 9040)),
    # committed 2026-12-06 05:00 UTC after evaluation-8 worlds 9004 and 9022 were opened, before any run on it
    "evaluation-9": list(range(10000, 10040)),
    # committed 2026-12-06 06:05 UTC after evaluation-9's runs were opened, before any run on it
    "evaluation-10": list(range(11000, 11040)),
    # committed 2026-12-06 10:05 UTC after evaluation-10's runs were seen, before any run on it
    "evaluation-11": list(range(12000, 12040)),
    # committed 2026-12-07 04:10 UTC while evaluation-11's first run (67870cd) was under way, before any run on it
    "evaluation-12": list(range(13000, 13040)),
}
#: Seeds only ever scored for reporting (every evaluation set).
HELD_OUT: frozenset[int] = frozenset(s for k, v in SEED_SETS.items() if k.startswith("evaluation") for s in v)
_ABBR = {"residential": "res", "datacenter": "dc", "mixed": "mix", "cells": "cell",
         "virtual-bin": "vbin", "none": "none", "shared": "stack", "spoofed": "spoof",
         "scripted": "24/7", "mimic": "diurnal"}


def _n_accounts(spec: Any) -> int:
    return (spec.n_legit + sum(spec.enterprise_sizes) + spec.n_automation
            + sum(r.n_accounts for r in spec.rings))


def _counts(values: list[str]) -> str:
    c = Counter(values)
    return " ".join(f"{_ABBR.get(k, k)}{'' if len(c) == 1 else ':' + str(n)}"
                    for k, n in sorted(c.items(), key=lambda kv: -kv[1]))


def world_summary(spec: Any) -> str:
    """One-cell summary of a world's drawn ring tactics (counts of rings per choice)."""
    rs = spec.rings
    req = sum(r.device_rotation == "request" and r.devices != "shared" for r in rs)
    aged = [r.aged_share for r in rs]
    camo = [r.camouflage for r in rs]
    rate = [r.n_events / (r.n_accounts * (r.end_day - r.start_day)) for r in rs]
    return (f"pay {_counts([r.payment for r in rs])}; px {_counts([r.proxy for r in rs])}; "
            f"dev {_counts([r.devices for r in rs])}{f' ({req} per-req)' if req else ''}; "
            f"time {_counts([r.timing for r in rs])}; heads ≤{max(r.heads for r in rs)}; "
            f"aged ≤{max(aged):.0%}; camo ≤{max(camo):.0%}; "
            f"req/acct-day {min(rate):.0f}–{max(rate):.0f}")


def _ring_recall_min_size(assign: Any, labels: Any, min_size: int) -> float:
    """Ring recall (≥ 80% of accounts flagged) over rings with at least ``min_size`` accounts."""
    import pyarrow.compute as pc
    from accountgraph.metrics import evaluate

    lab = labels.to_pandas()
    size = lab[lab.kind == "ring"].groupby("ring_id").size()
    small = set(size[size < min_size].index)
    if len(small) == len(size):
        return float("nan")
    keep = ~lab.ring_id.isin(small).to_numpy()
    return evaluate(assign, labels.filter(pc.field("account_id").isin(
        lab.account_id[keep].tolist()))).ring_recall


def _run_world(seed: int, a: argparse.Namespace) -> dict[str, Any]:
    import pyarrow.parquet as pq
    from accountgraph.metrics import evaluate
    from accountgraph.synth import random_scenario

    full_spec = random_scenario(seed)
    n_full = _n_accounts(full_spec)
    scale = 1.0
    if a.max_accounts and n_full > a.max_accounts:
        scale = float(f"{a.max_accounts / n_full:.4g}")
    spec = full_spec.scaled(scale)
    data, gen_s = _measure.ensure_dataset("random", a.data_root, seed=seed, scale=scale,
                                          regenerate=a.regenerate)
    labels = pq.read_table(data / "labels.parquet")
    params = json.loads((data / "params.json").read_text())
    n_events = int(params["events"])
    lab = labels.select(["ring_id", "kind"]).to_pandas()
    ring_sizes = lab[lab.kind == "ring"].groupby("ring_id").size()
    row: dict[str, Any] = {
        "seed": seed, "scale": scale, "capped": scale < 1.0, "n_accounts_full": n_full,
        "n_accounts": labels.num_rows, "n_events": n_events, "n_rings": len(ring_sizes),
        "n_rings20": int((ring_sizes >= 20).sum()),
        "ring_acc_share": float(ring_sizes.sum() / labels.num_rows),
        "ring_ev_share": float(sum(params["ring_target_events"].values()) / max(n_events, 1)),
        "days": spec.days, "ring_sizes": f"{ring_sizes.min()}–{ring_sizes.max()}",
        "tactics": world_summary(spec), "gen_s": gen_s,
    }
    logger.info("seed %d scale %g: %d accounts, %d events, %d rings (generated in %.0fs)",
                seed, scale, row["n_accounts"], n_events, row["n_rings"], gen_s)
    out = a.data_root / "runs" / f"{data.name}-detect.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    rec = _measure.measure("detect-paths" if a.from_paths else "detect", data, out, timeout=a.timeout)
    row.update({k: rec.get(k) for k in ("status", "median_s", "median_cpu_s", "peak_rss_mib",
                                        "loadavg_1m", "stderr")})
    if rec["status"] == "ok":
        assign = pq.read_table(rec["assignments"])
        row.update(evaluate(assign, labels).to_dict())
        row["ring_recall20"] = _ring_recall_min_size(assign, labels, 20)
        logger.info("seed %d: F1 %.3f P %.3f R %.3f FPR legit %.4f in %.0fs, peak %.0f MiB",
                    seed, row["f1"], row["precision"], row["recall"], row["fpr_legit"],
                    rec["median_s"], rec["peak_rss_mib"])
    else:
        logger.warning("seed %d: detect %s", seed, rec["status"])
    return row


_COLS = [("precision", "P"), ("recall", "R"), ("f1", "F1"), ("fpr_legit", "FPR legit"),
         ("fpr_enterprise", "FPR ent"), ("fpr_automation", "FPR auto"),
         ("ring_recall20", "ring rec ≥20"), ("ring_recall", "ring rec all")]


def _table(rows: list[dict[str, Any]]) -> list[str]:
    head = ["seed", "scale", "accounts", "events", "rings (≥20)", "ring sizes", "ring share acc / ev",
            "drawn tactics", *[h for _, h in _COLS], "detect s", "peak RSS MiB"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [str(r["seed"]), f"{r['scale']:g}", f"{r['n_accounts']:,}", f"{r['n_events']:,}",
                 f"{r['n_rings']} ({r['n_rings20']})", r["ring_sizes"],
                 f"{r['ring_acc_share']:.1%} / {r['ring_ev_share']:.0%}", r["tactics"]]
        if r.get("status") != "ok":
            cells += [str(r.get("status"))] + [""] * (len(head) - len(cells) - 1)
        else:
            cells += [_fmt(r[k]) if "fpr" not in k else _fmt(r[k], 4) for k, _ in _COLS]
            cells += [_fmt(r["median_s"], 0), _fmt(r["peak_rss_mib"], 0)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _summary(rows: list[dict[str, Any]]) -> list[str]:
    import math

    def vals(k: str) -> list[float]:
        return [float(r[k]) for r in rows if r.get("status") == "ok" and r.get(k) is not None
                and not math.isnan(float(r[k]))]

    failed = [r["seed"] for r in rows if r.get("status") != "ok"]
    out = ["| statistic | " + " | ".join(h for _, h in _COLS) + " | detect s | peak RSS MiB |",
           "|" + "---|" * (len(_COLS) + 3)]
    for name, pick_low in (("worst", True), ("median", None)):
        cells = []
        for k, _ in _COLS + [("median_s", ""), ("peak_rss_mib", "")]:
            v = vals(k)
            if not v:
                cells.append("–")
                continue
            if name == "median":
                x = statistics.median(v)
            elif "fpr" in k or k in ("median_s", "peak_rss_mib"):
                x = max(v)
            else:
                x = min(v) if not failed else 0.0
            worst_seed = ""
            if name == "worst" and v:
                ok = [r for r in rows if r.get("status") == "ok" and r.get(k) is not None]
                best = max if ("fpr" in k or k in ("median_s", "peak_rss_mib")) else min
                worst_seed = f" (seed {best(ok, key=lambda r: float(r[k]))['seed']})"
            digits = 4 if "fpr" in k else (0 if k in ("median_s", "peak_rss_mib") else 3)
            cells.append(_fmt(x, digits) + worst_seed)
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    if failed:
        out.append("")
        out.append(f"Failed worlds (counted as F1 = 0 in the worst case): {failed}")
    out += [""] + _targets(rows)
    return out


def _targets(rows: list[dict[str, Any]]) -> list[str]:
    """The issue-11 targets, counted over the worlds (failed worlds count as misses)."""
    n = len(rows)
    ok = [r for r in rows if r.get("status") == "ok"]

    def count(pred: Any) -> str:
        return f"{sum(1 for r in ok if pred(r))}/{n}"

    rings = sum(int(r.get("n_rings20", 0)) for r in ok)
    hit = sum(round(float(r["ring_recall20"]) * int(r["n_rings20"])) for r in ok
              if r.get("n_rings20") and r.get("ring_recall20") == r.get("ring_recall20"))
    return [
        "Targets (issue 11), over the worlds of this table:",
        "",
        f"- flagged-account F1 >= 0.95: {count(lambda r: r['f1'] >= 0.95)} worlds (target: at least 90 %);"
        f" >= 0.85: {count(lambda r: r['f1'] >= 0.85)} (target: all)",
        f"- legit FPR <= 0.1 %: {count(lambda r: r['fpr_legit'] <= 0.001)}; enterprise FPR <= 1 %:"
        f" {count(lambda r: r['fpr_enterprise'] <= 0.01)}; automation FPR <= 1 %:"
        f" {count(lambda r: r['fpr_automation'] <= 0.01)} (target: all)",
        f"- rings of >= 20 accounts recalled (>= 80 % of their accounts flagged), pooled: {hit}/{rings}"
        f" = {hit / max(rings, 1):.1%} (target: >= 95 %)",
    ]


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--set", choices=sorted(SEED_SETS), help="a seed set fixed in PROTOCOL.md")
    g.add_argument("--seeds", nargs="+", type=int, help="explicit seeds")
    p.add_argument("--max-accounts", type=int, default=None,
                   help="cap each world at this many accounts (scale = cap / accounts)")
    p.add_argument("--skip-full", action="store_true",
                   help="skip worlds whose uncapped size is >= 500k accounts")
    p.add_argument("--timeout", type=float, default=1500.0, help="seconds per detect call")
    p.add_argument("--from-paths", action="store_true",
                   help="give detect the Parquet paths (prompts streamed) instead of tables loaded in memory; "
                        "needed for full-scale worlds, whose loaded prompts alone fill much of a 24 GiB machine")
    p.add_argument("--regenerate", action="store_true", help="ignore cached worlds")
    p.add_argument("--data-root", type=Path,
                   default=Path(tempfile.gettempdir()) / "accountgraph-random-worlds")
    p.add_argument("--out", type=Path, default=HERE / "results" / "random_worlds.md")
    p.add_argument("--cleanup", action="store_true",
                   help="delete each world's generated files after it is measured (disk-bound machines)")
    p.add_argument("--resume", action="store_true",
                   help="keep the rows already measured in <out>.jsonl and run only the missing worlds")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("accountgraph").setLevel(logging.WARNING)
    from accountgraph.synth import random_scenario

    seeds = SEED_SETS[a.set] if a.set else a.seeds
    kind = a.set or ("tuning" if all(s in SEED_SETS["tuning"] for s in seeds) else
                     "evaluation" if all(s in HELD_OUT for s in seeds) else "ad hoc")
    skipped = [s for s in seeds if a.skip_full and _n_accounts(random_scenario(s)) >= 500_000]
    t0 = time.perf_counter()
    log = a.out.with_suffix(".jsonl")
    done = {}
    if a.resume and log.exists():
        done = {r["seed"]: r for r in map(json.loads, log.read_text().splitlines()) if r["seed"] in seeds}
    elif log.exists():
        log.unlink()
    rows = [done[s] for s in seeds if s in done]
    for s in seeds:
        if s in skipped or s in done:
            continue
        rows.append(_run_world(s, a))
        with log.open("a") as fh:
            fh.write(json.dumps(rows[-1], default=str) + "\n")
        if a.cleanup:
            _cleanup(a.data_root, s)
        _write(a, argv, sorted(rows, key=lambda r: seeds.index(r["seed"])), kind, skipped,
               time.perf_counter() - t0)  # partial results
    return rows


def _cleanup(root: Path, seed: int) -> None:
    """Delete the generated files of world ``seed`` (any scale) under ``root``."""
    import shutil

    for d in root.glob(f"random-seed{seed}-scale*"):
        shutil.rmtree(d, ignore_errors=True)


def _write(a: argparse.Namespace, argv: list[str] | None, rows: list[dict[str, Any]], kind: str,
           skipped: list[int], elapsed: float) -> None:
    cmd = "python benchmarks/random_worlds.py " + " ".join(
        shlex.quote(x) for x in (argv if argv is not None else sys.argv[1:]))
    capped = [r["seed"] for r in rows if r["capped"]]
    text = "\n".join([
        f"# Detection quality over randomised worlds ({kind} set)",
        "",
        f"- Command: `{cmd.strip()}`",
        f"- Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M UTC}; revision {git_revision()}",
        f"- Machine: {machine_description()}",
        f"- Set: **{kind}** worlds (seeds fixed in `benchmarks/PROTOCOL.md`). "
        + ("Tuning worlds: results here may be used to tune; they are not a quality claim."
           if kind == "tuning" else
           "Evaluation worlds: scored only for reporting, never tuned on." if kind.startswith("evaluation")
           else "Ad-hoc seeds."),
        "- Worlds: `accountgraph.synth.write(\"random\", dir, seed=N, scale=X)`; the seed draws the "
        "whole spec (ranges in `docs/scenarios.md`). "
        + (f"Capped at {a.max_accounts:,} accounts: worlds {capped} generated at scale < 1 "
           "(every count multiplied), so they are not at their drawn size. "
           if capped else "All worlds at scale 1. ")
        + (f"Skipped (≥ 500k accounts, `--skip-full`): {skipped}." if skipped else ""),
        ("- Detect: `accountgraph.detect(events_path, accounts_path, seed=0)` at its defaults on the "
         "worlds' Parquet paths (`--from-paths`: detect reads them itself, prompts streamed), each world in a "
         "fresh subprocess (`benchmarks/_measure.py`); `detect s` = wall time of the call alone (reading "
         "included), `peak RSS` = the process's peak resident set while it ran. The machine is shared with "
         "other jobs: wall times are pessimistic." if a.from_paths else
         "- Detect: `accountgraph.detect(events, accounts, seed=0)` at its defaults, each world in a "
         "fresh subprocess (`benchmarks/_measure.py`); `detect s` = wall time of the call alone, "
         "`peak RSS` = the process's peak resident set while it ran (input loaded included). The "
         "machine is shared with other jobs: wall times are pessimistic."),
        "- Metrics (`accountgraph.metrics.evaluate`): account-level P/R/F1 with positive = "
        "`kind == ring`; FPR = flagged share of legit / enterprise / automation accounts; ring rec = "
        "share of rings with ≥ 80 % of their accounts flagged, over rings of ≥ 20 accounts and over "
        "all rings. Tactics: rings per choice of payment, proxy, devices, timing; largest heads, "
        "aged share and camouflage; range of requests per ring account-day.",
        f"- {len(rows)} worlds in {elapsed / 60:.0f} min (generation included).",
        "",
        "## Worst case and medians",
        "",
        *_summary(rows),
        "",
        "## Every world",
        "",
        *_table(rows),
        "",
    ])
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(text)
    (a.data_root / f"random_worlds-{kind}.json").write_text(json.dumps(rows, indent=1, default=str))


if __name__ == "__main__":
    main()
