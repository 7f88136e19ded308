"""Command line: ``accountgraph monitor`` (one batch per call; the state lives in ``--state``).

::

    accountgraph monitor --state DIR EVENTS [--accounts ACCOUNTS] [--known-bad IDS]
    accountgraph monitor --state DIR --report rings.html

The first call creates the state (with ``--horizon-days``, ``--seed``,
``--threshold``); later calls reopen it with the parameters it was created with.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from collections.abc import Callable
from typing import Any

__all__ = ["add_monitor_parser"]


def _known_bad(path: str | None) -> list[str] | None:
    """Seed ids from a text file (one per line) or a Parquet/CSV table with an ``account_id`` column."""
    if path is None:
        return None
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"no such file: {path!r} (--known-bad)")
    if p.suffix.lower() in (".parquet", ".csv"):
        from .ingest import to_arrow

        t = to_arrow(p)
        if "account_id" not in t.column_names:
            from ._exceptions import SchemaError

            raise SchemaError(f"--known-bad {path!r} has no 'account_id' column (columns: {t.column_names}).")
        return [str(v) for v in t["account_id"].to_pylist() if v is not None]
    return [line.strip() for line in p.read_text().splitlines() if line.strip() and not line.startswith("#")]


def _open_or_create(args: argparse.Namespace, columns: dict[str, Any]) -> Any:
    from . import Monitor
    from ._exceptions import InvalidParameterError
    from .monitor._store import StateDir

    if StateDir(args.state).exists():
        mon = Monitor.open(args.state, progress=False if args.no_progress else None)
        given = {"horizon_days": args.horizon_days, "random_state": args.seed, "threshold": args.threshold}
        have = mon.get_params()
        clash = {k: (v, have[k]) for k, v in given.items() if v is not None and v != have[k]}
        if clash:
            raise InvalidParameterError(
                "The state in " + repr(str(args.state)) + " was created with " + ", ".join(
                    f"{k}={h!r}" for k, (_, h) in clash.items()) + "; a state keeps its parameters. Drop "
                + ", ".join(f"--{k.replace('_', '-').replace('random-state', 'seed')}" for k in clash)
                + " or start a new --state.")
        return mon
    if args.events is None:
        raise InvalidParameterError(f"--state {str(args.state)!r} holds no monitor state yet; feed it a batch "
                                    "first (accountgraph monitor --state DIR EVENTS).")
    opts: dict[str, Any] = {"ingest": columns, "progress": False if args.no_progress else None}
    for k, v in (("horizon_days", args.horizon_days), ("random_state", args.seed), ("threshold", args.threshold)):
        if v is not None:
            opts[k] = v
    return Monitor(args.state, **opts)


def _cmd_monitor(args: argparse.Namespace) -> int:
    if args.events is None and args.report is None:
        raise SystemExit("accountgraph monitor: give an EVENTS batch to absorb, --report FILE, or both")
    if args.report is not None:
        args.check_out_file(Path(args.report), args.overwrite, "--report")  # before the update, not after it
    for p in (args.events, args.accounts):
        if p is not None and not Path(p).exists():
            raise FileNotFoundError(f"no such file or directory: {p!r}")
    mon = _open_or_create(args, args.ingest_params(args))
    if args.events is not None:
        t0 = time.perf_counter()
        up = mon.update(args.events, args.accounts, known_bad=_known_bad(args.known_bad))
        print(up.summary(args.top))
        if not up.replayed:
            print(f"absorbed update {up.seq} into {args.state} in {time.perf_counter() - t0:.1f}s")
    if args.report is not None:
        path = mon.report(args.report, top=args.top, overwrite=args.overwrite)
        print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) for update {mon.seq}")
    return 0


def add_monitor_parser(sub: Any, *, ingest: Callable[[argparse.Namespace], dict[str, Any]],
                       check_out_file: Callable[[Path, bool, str], None]) -> None:
    """Register ``accountgraph monitor`` on the CLI's subparsers (with the CLI's shared helpers)."""
    m = sub.add_parser("monitor", help="absorb one batch into a monitor state; print new and changed rings")
    m.add_argument("events", nargs="?", help="the batch's events table (.parquet or .csv)")
    m.add_argument("--state", required=True, help="state directory (created by the first batch)")
    m.add_argument("--accounts", help="accounts rows of this batch (.parquet or .csv)")
    m.add_argument("--known-bad", metavar="FILE", help="confirmed-bad account ids: one per line, or a table with "
                   "an account_id column; remembered for later batches")
    m.add_argument("--report", metavar="HTML", help="write the HTML report of the state (after the batch, if any)")
    m.add_argument("--top", type=int, default=10, help="rings to list and dossiers in the report (default 10)")
    m.add_argument("--overwrite", action="store_true", help="replace --report if it exists")
    m.add_argument("--horizon-days", type=float, default=None, help="evidence window of a new state (default 30)")
    m.add_argument("--seed", type=int, default=None, help="random_state of a new state (default 0)")
    m.add_argument("--threshold", type=float, default=None, help="flag threshold of a new state (default 0.45)")
    m.add_argument("--column", action="append", metavar="CANONICAL=YOURS", help="map an events column")
    m.add_argument("--account-column", action="append", metavar="CANONICAL=YOURS", help="map an accounts column")
    m.add_argument("--encoding", help="text encoding of CSV input, e.g. latin-1 (default: UTF-8)")
    m.add_argument("--no-progress", action="store_true")
    m.set_defaults(func=_cmd_monitor, ingest_params=ingest, check_out_file=check_out_file)
