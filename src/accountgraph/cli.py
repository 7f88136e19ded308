"""Command line: ``accountgraph detect | report | synth | demo``.

The CLI is the only place that formats output for people; the library logs.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Sequence

__all__ = ["main"]

logger = logging.getLogger("accountgraph.cli")


def _columns(pairs: Sequence[str] | None) -> dict[str, str] | None:
    if not pairs:
        return None
    out = {}
    for p in pairs:
        if "=" not in p:
            raise SystemExit(f"--column expects CANONICAL=YOURS (e.g. account_id=user); got {p!r}")
        k, v = p.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def _write_outputs(result, out: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pandas(result.assignments, preserve_index=False), out / "assignments.parquet")
    clusters = result.clusters.copy()
    pq.write_table(pa.Table.from_pandas(clusters, preserve_index=False), out / "clusters.parquet")
    if len(result.cluster_signals):
        pq.write_table(pa.Table.from_pandas(result.cluster_signals, preserve_index=False),
                       out / "cluster_signals.parquet")


def _cmd_detect(args: argparse.Namespace) -> int:
    from . import detect

    opts = {}
    if args.threshold is not None:
        opts["threshold"] = args.threshold
    if args.method:
        opts["method"] = args.method
    t0 = time.perf_counter()
    res = detect(
        args.events, args.accounts, seed=args.seed, columns=_columns(args.column),
        account_columns=_columns(args.account_column), progress=not args.no_progress and None, **opts,
    )
    _write_outputs(res, Path(args.out))
    print(res.summary(args.top))
    print(f"wrote {args.out}/assignments.parquet and clusters.parquet in {time.perf_counter() - t0:.1f}s")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from . import detect
    from ._exceptions import OutputExistsError

    out = Path(args.out)
    if out.exists() and not args.overwrite:  # fail before the detection run, not after it
        raise OutputExistsError(f"Refusing to overwrite the existing file {str(out)!r}; pass --overwrite or "
                                "choose another --out.")
    t0 = time.perf_counter()
    res = detect(
        args.events, args.accounts, seed=args.seed, columns=_columns(args.column),
        account_columns=_columns(args.account_column), progress=not args.no_progress and None,
        **({"threshold": args.threshold} if args.threshold is not None else {}),
    )
    path = res.report(out, top=args.top, overwrite=args.overwrite)
    print(res.summary(min(args.top, 5)))
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, {min(args.top, len(res.clusters))} dossiers) "
          f"in {time.perf_counter() - t0:.1f}s")
    return 0


def _cmd_synth(args: argparse.Namespace) -> int:
    from .synth import write

    t0 = time.perf_counter()
    paths = write(args.scenario, args.out, seed=args.seed, scale=args.scale)
    print(f"wrote scenario {args.scenario!r} (seed {args.seed}, scale {args.scale}) to {args.out} "
          f"in {time.perf_counter() - t0:.1f}s")
    if isinstance(paths, dict):
        for k, v in paths.items():
            print(f"  {k}: {v}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from . import detect
    from .metrics import evaluate
    from .synth import generate

    t0 = time.perf_counter()
    ds = generate(args.scenario, seed=args.seed, scale=args.scale)
    n_ev = ds.events.num_rows
    print(f"generated scenario {args.scenario!r}: {n_ev:,} events, {ds.accounts.num_rows:,} accounts "
          f"({time.perf_counter() - t0:.1f}s)")
    t1 = time.perf_counter()
    res = detect(ds.events, ds.accounts, seed=args.seed, progress=None)
    print(f"detect took {time.perf_counter() - t1:.1f}s\n")
    print(res.summary(args.top))
    m = evaluate(res.assignments, ds.labels)
    d = m.to_dict()
    print("\nAgainst ground truth (positive = ring account):")
    for k in ("precision", "recall", "f1", "fpr_legit", "fpr_enterprise", "fpr_automation", "ring_recall", "ari"):
        if k in d and d[k] is not None:
            print(f"  {k:<16} {d[k]:.4f}")
    top = res.top(1, flagged_only=True)
    if len(top):
        print()
        print(res.explain(int(top["cluster_id"].iloc[0])))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``accountgraph`` command."""
    ap = argparse.ArgumentParser(prog="accountgraph", description="Find coordinated rings of accounts in API logs.")
    ap.add_argument("-v", "--verbose", action="count", default=0, help="log progress (-vv for debug)")
    sub = ap.add_subparsers(dest="cmd", required=True)

    d = sub.add_parser("detect", help="detect rings in an events table")
    d.add_argument("events", help="events table (.parquet or .csv)")
    d.add_argument("--accounts", help="accounts table (.parquet or .csv)")
    d.add_argument("--out", required=True, help="output directory")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--threshold", type=float, default=None, help="flag threshold on ring_score (default 0.45)")
    d.add_argument("--method", choices=["leiden", "components"], default=None)
    d.add_argument("--column", action="append", metavar="CANONICAL=YOURS", help="map an events column")
    d.add_argument("--account-column", action="append", metavar="CANONICAL=YOURS", help="map an accounts column")
    d.add_argument("--top", type=int, default=5, help="rings to summarise")
    d.add_argument("--no-progress", action="store_true")
    d.set_defaults(func=_cmd_detect)

    r = sub.add_parser("report", help="detect rings and write a self-contained HTML report")
    r.add_argument("events", help="events table (.parquet or .csv)")
    r.add_argument("--accounts", help="accounts table (.parquet or .csv)")
    r.add_argument("--out", required=True, help="HTML file to write, e.g. rings.html")
    r.add_argument("--top", type=int, default=10, help="dossiers of this many top clusters (default 10)")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--threshold", type=float, default=None, help="flag threshold on ring_score (default 0.45)")
    r.add_argument("--column", action="append", metavar="CANONICAL=YOURS", help="map an events column")
    r.add_argument("--account-column", action="append", metavar="CANONICAL=YOURS", help="map an accounts column")
    r.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    r.add_argument("--no-progress", action="store_true")
    r.set_defaults(func=_cmd_report)

    s = sub.add_parser("synth", help="write a synthetic ring scenario to Parquet")
    s.add_argument("--scenario", default="small",
                   help="a registered scenario name, or 'random' (the seed draws the whole world)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--scale", type=float, default=1.0)
    s.add_argument("--out", required=True)
    s.set_defaults(func=_cmd_synth)

    m = sub.add_parser("demo", help="generate a small scenario, detect, and score against ground truth")
    m.add_argument("--scenario", default="small")
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--scale", type=float, default=1.0)
    m.add_argument("--top", type=int, default=5)
    m.set_defaults(func=_cmd_demo)

    args = ap.parse_args(argv)
    level = logging.WARNING if args.verbose == 0 else logging.INFO if args.verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    from ._exceptions import AccountGraphError

    try:
        return int(args.func(args))
    except AccountGraphError as exc:
        print(f"accountgraph: error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"accountgraph: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
