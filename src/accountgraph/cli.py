"""Command line: ``accountgraph detect | report | monitor | synth | demo``.

The CLI is the only place that formats output for people; the library logs.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Any, Sequence

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


def _ingest(args: argparse.Namespace) -> dict[str, object]:
    return {"columns": _columns(args.column), "account_columns": _columns(args.account_column),
            "encoding": args.encoding}


def _check_out_dir(out: Path, overwrite: bool) -> None:
    """Fail before any work if ``--out`` cannot take a new run."""
    from ._exceptions import InvalidParameterError, OutputExistsError

    if out.exists() and not out.is_dir():
        raise InvalidParameterError(f"--out {str(out)!r} is an existing file, not a directory; give a directory "
                                    "to write the result tables into (it is created if missing).")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise OutputExistsError(f"Refusing to write into {str(out)!r}: it holds files (an earlier run?). Pass "
                                "--overwrite to replace the directory as a whole, or choose another --out.")


def _check_out_file(out: Path, overwrite: bool, flag: str) -> None:
    from ._exceptions import InvalidParameterError, OutputExistsError

    if out.is_dir():
        raise InvalidParameterError(f"{flag} {str(out)!r} is a directory; give a file name.")
    if out.exists() and not overwrite:
        raise OutputExistsError(f"Refusing to overwrite the existing file {str(out)!r}; pass --overwrite or "
                                f"choose another {flag}.")
    if not out.parent.is_dir():
        raise InvalidParameterError(f"{flag} {str(out)!r}: the directory {str(out.parent)!r} does not exist; "
                                    "create it first.")


def _write_parquet(df, path: Path) -> None:
    """One Parquet file, written beside ``path`` and moved into place."""
    import os
    import tempfile

    import pyarrow as pa
    import pyarrow.parquet as pq

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _write_outputs(result, out: Path) -> None:
    """Write the result tables into a fresh directory beside ``out``, then swap it into place.

    Files of an earlier run never sit beside new ones, and an interrupted write
    leaves the earlier run whole.
    """
    import shutil
    import tempfile

    import pyarrow as pa
    import pyarrow.parquet as pq

    out = out.absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        tmp.chmod(0o777 & ~_umask())
        pq.write_table(pa.Table.from_pandas(result.assignments, preserve_index=False), tmp / "assignments.parquet")
        pq.write_table(pa.Table.from_pandas(result.clusters, preserve_index=False), tmp / "clusters.parquet")
        if len(result.cluster_signals):
            pq.write_table(pa.Table.from_pandas(result.cluster_signals, preserve_index=False),
                           tmp / "cluster_signals.parquet")
        old = None
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
            out.rename(old / out.name)
        tmp.rename(out)
        if old is not None:
            shutil.rmtree(old)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def _umask() -> int:
    import os

    m = os.umask(0)
    os.umask(m)
    return m


def _pseudonym_key(args: argparse.Namespace) -> bytes | None:
    """The key of ``--pseudonymize``, from the environment only: argv is visible to every user in ``ps``."""
    import os

    from ._exceptions import InvalidParameterError
    from .views._pseudonym import ENV_KEY, resolve_key

    if not args.pseudonymize:
        return None  # the library still honours the variable if it is set
    if not os.environ.get(ENV_KEY):
        raise InvalidParameterError(
            f"--pseudonymize reads its key from the environment variable {ENV_KEY}, which is not set; set it to "
            "a secret of at least 16 bytes (never pass keys on the command line, where other users see them).")
    return resolve_key(None, "--pseudonymize")


def _check_inputs(args: argparse.Namespace) -> None:
    from .ingest import check_encoding

    check_encoding(args.encoding)
    for p in (args.events, args.accounts):
        if p is not None and not Path(p).exists():
            raise FileNotFoundError(f"no such file or directory: {p!r}")


def _write_spark_outputs(result, out: Path) -> None:
    """The Spark result's tables as Parquet datasets (directories of parts) in a fresh directory swapped into place."""
    import shutil
    import tempfile

    import pyarrow as pa
    import pyarrow.parquet as pq

    out = out.absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        result.assignments.write.parquet(str(tmp / "assignments.parquet"))
        result.cluster_signals.write.parquet(str(tmp / "cluster_signals.parquet"))
        pq.write_table(pa.Table.from_pandas(result.clusters, preserve_index=False), tmp / "clusters.parquet")
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def _detect_spark(args: argparse.Namespace, opts: dict[str, object], out: Path) -> int:
    """``accountgraph detect --engine spark``: the same run on Spark (outputs are Parquet datasets)."""
    from ._exceptions import InvalidParameterError

    for flag, given in (("--quarantine-out", args.quarantine_out), ("--pseudonymize", args.pseudonymize),
                        ("--encoding", args.encoding)):
        if given:
            raise InvalidParameterError(f"{flag} is not available with --engine spark (the quarantined rows stay in "
                                        "Spark, pseudonymise a collected result, and Spark reads CSV as UTF-8).")
    from .spark import detect as spark_detect

    opts.pop("pseudonymize", None)
    t0 = time.perf_counter()
    res = spark_detect(args.events, args.accounts, seed=args.seed, master=args.spark_master,
                       ingest={"columns": _columns(args.column), "account_columns": _columns(args.account_column)},
                       **opts)
    _write_spark_outputs(res, out)
    print(res.summary(args.top))
    print(f"wrote {args.out}/assignments.parquet, clusters.parquet and cluster_signals.parquet (Spark) in "
          f"{time.perf_counter() - t0:.1f}s")
    return 0


def _stage_table(stats: dict) -> str:
    """Each stage's wall time and peak resident memory, as kept in ``result.stats``."""
    secs, peaks = stats.get("seconds", {}), stats.get("peak_rss_mib", {})
    lines = ["stage          seconds   peak RSS"]
    for name, s in secs.items():
        peak = peaks.get(name)
        lines.append(f"{name:<12} {s:9.1f}   {peak / 1024:6.2f} GiB" if peak is not None else f"{name:<12} {s:9.1f}")
    lines.append(f"{'total':<12} {sum(secs.values()):9.1f}   {max(peaks.values(), default=0) / 1024:6.2f} GiB")
    return "\n".join(lines)


def _cmd_detect(args: argparse.Namespace) -> int:
    from . import detect

    # Every output path is checked before the (long) detection run.
    out = Path(args.out)
    _check_out_dir(out, args.overwrite)
    qout = Path(args.quarantine_out) if args.quarantine_out else None
    if qout is not None:
        _check_out_file(qout, args.overwrite, "--quarantine-out")
    _check_inputs(args)
    opts: dict[str, object] = {"pseudonymize": _pseudonym_key(args)}
    if args.threshold is not None:
        opts["threshold"] = args.threshold
    if args.target_fpr is not None:
        opts["target_fpr"] = args.target_fpr
    if args.method:
        opts["communities"] = {"method": args.method}
    if args.engine == "spark":
        return _detect_spark(args, opts, out)
    t0 = time.perf_counter()
    res = detect(args.events, args.accounts, seed=args.seed, ingest=_ingest(args),
                 progress=not args.no_progress and None, **opts)
    _write_outputs(res, out)
    print(res.summary(args.top))
    print(_stage_table(res.stats))
    print(f"wrote {args.out}/assignments.parquet and clusters.parquet in {time.perf_counter() - t0:.1f}s")
    if qout is not None:
        _write_parquet(res.quarantined_rows(), qout)
        print(f"wrote {res.quarantine.total} quarantined row(s) to {qout}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from . import detect

    out = Path(args.out)
    _check_out_file(out, args.overwrite, "--out")  # fail before the detection run, not after it
    _check_inputs(args)
    key = _pseudonym_key(args)
    t0 = time.perf_counter()
    res = detect(
        args.events, args.accounts, seed=args.seed, ingest=_ingest(args), progress=not args.no_progress and None,
        pseudonymize=key, **({"threshold": args.threshold} if args.threshold is not None else {}),
    )
    path = res.report(out, top=args.top, overwrite=args.overwrite, progress=not args.no_progress and None)
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


def _add_detect_parser(sub: Any) -> None:
    """The ``detect`` sub-command."""
    d = sub.add_parser("detect", help="detect rings in an events table")
    d.add_argument("events", help="events table (.parquet or .csv)")
    d.add_argument("--accounts", help="accounts table (.parquet or .csv)")
    d.add_argument("--out", required=True, help="output directory")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--threshold", type=float, default=None,
                   help="flag threshold on ring_score (default: the ring model's threshold for --target-fpr)")
    d.add_argument("--target-fpr", type=float, default=None,
                   help="benign false-positive rate the default threshold is set for (default 0.001)")
    d.add_argument("--method", choices=["leiden", "components"], default=None)
    d.add_argument("--column", action="append", metavar="CANONICAL=YOURS", help="map an events column")
    d.add_argument("--account-column", action="append", metavar="CANONICAL=YOURS", help="map an accounts column")
    d.add_argument("--top", type=int, default=5, help="rings to summarise")
    d.add_argument("--overwrite", action="store_true", help="replace --out (as a whole) if it holds files")
    d.add_argument("--quarantine-out", metavar="PATH", help="write the rows left out (with reasons) to this Parquet file")
    d.add_argument("--encoding", help="text encoding of CSV input, e.g. latin-1 (default: UTF-8, undecodable "
                   "rows quarantined as invalid_utf8)")
    d.add_argument("--no-progress", action="store_true")
    d.add_argument("--engine", choices=["local", "spark"], default="local",
                   help="where the stages run (spark needs: pip install 'accountgraph[spark]')")
    d.add_argument("--spark-master", metavar="URL", help="Spark master URL for --engine spark (default local[2])")
    d.add_argument("--pseudonymize", action="store_true",
                   help="replace account ids, IPs, payment ids, device ids and e-mail domains in every output by "
                   "keyed hashes; the key comes from $ACCOUNTGRAPH_PSEUDONYM_KEY only")
    d.set_defaults(func=_cmd_detect)


def _add_report_parser(sub: Any) -> None:
    """The ``report`` sub-command."""
    r = sub.add_parser("report", help="detect rings and write a self-contained HTML report")
    r.add_argument("events", help="events table (.parquet or .csv)")
    r.add_argument("--accounts", help="accounts table (.parquet or .csv)")
    r.add_argument("--out", required=True, help="HTML file to write, e.g. rings.html")
    r.add_argument("--top", type=int, default=10, help="dossiers of this many top clusters (default 10)")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--threshold", type=float, default=None, help="flag threshold on ring_score (default: the ring model's threshold for a 0.1%% benign FPR)")
    r.add_argument("--column", action="append", metavar="CANONICAL=YOURS", help="map an events column")
    r.add_argument("--account-column", action="append", metavar="CANONICAL=YOURS", help="map an accounts column")
    r.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    r.add_argument("--encoding", help="text encoding of CSV input, e.g. latin-1 (default: UTF-8)")
    r.add_argument("--no-progress", action="store_true")
    r.add_argument("--pseudonymize", action="store_true",
                   help="replace account ids, IPs, payment ids, device ids and e-mail domains in every output by "
                   "keyed hashes; the key comes from $ACCOUNTGRAPH_PSEUDONYM_KEY only (prompts are then left out)")
    r.set_defaults(func=_cmd_report)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``accountgraph`` command."""
    ap = argparse.ArgumentParser(prog="accountgraph", description="Find coordinated rings of accounts in API logs.")
    ap.add_argument("-v", "--verbose", action="count", default=0, help="log progress (-vv for debug)")
    sub = ap.add_subparsers(dest="cmd", required=True)

    _add_detect_parser(sub)
    _add_report_parser(sub)

    from ._cli_monitor import add_monitor_parser

    add_monitor_parser(sub, ingest=_ingest, check_out_file=_check_out_file)

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
