"""Compare ``assignments_digest.py`` outputs of two revisions and write a Markdown table.

    .venv/bin/python benchmarks/compare_digests.py --old-rev af3f3f0 --new-rev HEAD \
        --pair 0 /tmp/digest_old_s0.json /tmp/digest_new_s0.json \
        --pair 1 /tmp/digest_old_s1.json /tmp/digest_new_s1.json \
        --command "..." --out benchmarks/results/refactor_identity.md

Exits 1 if any scenario differs. Digests written before issue 13 call the small-user-base
worlds ``seed-2026`` / ``feb-2026``; pass ``--renamed seed-2026=seed-2026-small
feb-2026=feb-2026-small`` to compare them under their current names (the data is the same).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pair", nargs=3, action="append", metavar=("SEED", "OLD", "NEW"), required=True)
    p.add_argument("--old-rev", required=True)
    p.add_argument("--new-rev", required=True)
    p.add_argument("--command", default="", help="the commands that produced the digests, for the record")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--renamed", nargs="+", default=[], metavar="OLD=NEW",
                   help="scenario names of the OLD files to read under a new name")
    a = p.parse_args(argv)
    renamed = dict(r.split("=", 1) for r in a.renamed)
    rows, differ = [], 0
    for seed, old, new in a.pair:
        o, n = json.loads(Path(old).read_text()), json.loads(Path(new).read_text())
        o = {renamed.get(k, k): v for k, v in o.items()}
        for name in sorted(set(o) | set(n)):
            oa, na = o.get(name, {}), n.get(name, {})
            if not oa or not na:  # a scenario only one revision has: nothing to compare
                rows.append(f"| {seed} | {name} | {oa.get('n_flagged', '–')} | {na.get('n_flagged', '–')} | "
                            f"only in {'new' if na else 'old'} | – | `{na.get('assignments', '')[:12]}` |")
                continue
            same_a = bool(oa) and oa.get("assignments") == na.get("assignments")
            same_c = bool(oa) and oa.get("clusters") == na.get("clusters")
            differ += not (same_a and same_c)
            rows.append(f"| {seed} | {name} | {oa.get('n_flagged', '–')} | {na.get('n_flagged', '–')} | "
                        f"{'identical' if same_a else '**differs**'} | {'identical' if same_c else '**differs**'} | "
                        f"`{na.get('assignments', '')[:12]}` |")
    n_both = sum("| only in " not in r for r in rows)
    text = "\n".join([
        "# Refactor identity: detect's output before and after",
        "",
        f"SHA-256 of `detect`'s sorted assignments (account_id, cluster_id, ring_score, flagged) and of the whole "
        f"clusters table per quality scenario (`benchmarks/assignments_digest.py`: `accountgraph.synth` data at "
        f"the scales of the quality tables, detect with its defaults, seed 0), revision `{a.old_rev}` against "
        f"`{a.new_rev}`. {n_both - differ} of {n_both} present in both identical.",
        "",
        *([f"Commands: {a.command}", ""] if a.command else []),
        "| data seed | scenario | flagged (old) | flagged (new) | assignments | clusters | new digest |",
        "|---|---|---|---|---|---|---|",
        *rows,
    ]) + "\n"
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(text)
    print(text)
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
