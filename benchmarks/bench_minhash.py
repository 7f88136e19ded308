"""Benchmark prompt signatures: throughput, Jaccard accuracy, template recovery, memory.

Plain script (no pytest). Generates a deterministic synthetic corpus of
~100-200-token prompts in memory -- slot-filled templates plus diverse text --
and measures, in one run and side by side:

* floor: arrow conversion + tokenisation only;
* accountgraph default (fast, OPH) and exact (datasketch-identical) signatures;
* datasketch ``MinHash.bulk`` and per-prompt ``update_batch`` on a subsample;
* Jaccard estimation error against true token-set Jaccard on sampled pairs;
* template-family recovery (pairwise precision/recall against the generating template);
* peak RSS of a large streamed run (prompts generated and hashed batch by batch).

Usage::

    .venv/bin/python benchmarks/bench_minhash.py --out benchmarks/results/minhash.md
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import os
import platform
import resource
import shlex
import statistics
import sys
import time
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

from accountgraph.templates import template_families  # noqa: E402
from accountgraph.minhash._signatures import prompt_signatures  # noqa: E402
from accountgraph.minhash._tokenize import iter_text_batches, prompt_tokens, tokenize_batch  # noqa: E402

_LETTERS = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
_EXTRA = ["caf\u00e9", "na\u00efve", "\u201cquoted\u201d", "\u65e5\u672c\u8a9e", "stra\u00dfe", "\u00fcber", "r\u00e9sum\u00e9"]


@dataclass
class Corpus:
    """A synthetic corpus: vocabulary, Zipf sampler and templates (token-index arrays)."""

    vocab: pa.Array
    cdf: np.ndarray
    templates: list[tuple[np.ndarray, np.ndarray]]


def make_corpus_model(seed: int, *, vocab_size: int = 50_000, n_templates: int = 40) -> Corpus:
    """Random pseudo-English vocabulary (Zipf 1.07) and templates of 100-180 words with 6-10 slots."""
    rng = np.random.default_rng(seed)
    lens = rng.integers(2, 11, vocab_size)
    raw = _LETTERS[rng.integers(0, 26, int(lens.sum()))]
    off = np.r_[0, np.cumsum(lens)].astype(np.int32)
    words = pa.Array.from_buffers(pa.string(), vocab_size, [None, pa.py_buffer(off), pa.py_buffer(raw.tobytes())])
    # A few non-ASCII words so the Unicode tokeniser path is exercised (~10% of prompts).
    words = pa.concat_arrays([words.slice(0, vocab_size - len(_EXTRA)), pa.array(_EXTRA)])
    order = rng.permutation(vocab_size)
    words = words.take(pa.array(order))
    p = 1.0 / np.arange(1, vocab_size + 1) ** 1.07
    cdf = np.cumsum(p / p.sum())
    templates = []
    for _ in range(n_templates):
        length = int(rng.integers(100, 181))
        toks = np.searchsorted(cdf, rng.random(length)).astype(np.int64)
        slots = np.sort(rng.choice(length, int(rng.integers(6, 11)), replace=False))
        templates.append((toks, slots))
    return Corpus(words, cdf, templates)


def generate(model: Corpus, n: int, seed: int, *, frac_template: float = 0.7) -> tuple[pa.Array, np.ndarray]:
    """``n`` prompts (pyarrow strings) and their generating template (-1 = diverse text).

    Template prompts keep the template words and fill each slot with 1-3 random
    words; diverse prompts are 100-200 Zipf words. First letters are capitalised
    and a period appended. Fully vectorised: about a million prompts per second.
    """
    rng = np.random.default_rng(seed)
    label = np.where(rng.random(n) < frac_template, rng.integers(0, len(model.templates), n), -1)
    rows_idx: list[np.ndarray] = []
    rows_len: list[np.ndarray] = []
    order: list[np.ndarray] = []
    for t, (toks, slots) in enumerate(model.templates):
        sel = np.flatnonzero(label == t)
        if sel.size == 0:
            continue
        m, length, s = sel.size, toks.size, slots.size
        # Each slot becomes 3 sub-positions; unused ones are -1 and dropped.
        mat = np.repeat(toks[None, :], m, axis=0)
        fill = np.searchsorted(model.cdf, rng.random((m, s, 3))).astype(np.int64)
        k = rng.integers(1, 4, (m, s))
        fill[np.arange(3)[None, None, :] >= k[:, :, None]] = -1
        # Build rows: template words with slot sub-positions spliced in place.
        pieces = []
        prev = 0
        for j, sl in enumerate(slots):
            pieces.append(mat[:, prev:sl])
            pieces.append(fill[:, j, :])
            prev = sl + 1
        pieces.append(mat[:, prev:])
        full = np.concatenate(pieces, axis=1)
        valid = full >= 0
        rows_idx.append(full[valid])
        rows_len.append(valid.sum(axis=1))
        order.append(sel)
    sel = np.flatnonzero(label < 0)
    if sel.size:
        lens = rng.integers(100, 201, sel.size)
        rows_idx.append(np.searchsorted(model.cdf, rng.random(int(lens.sum()))).astype(np.int64))
        rows_len.append(lens)
        order.append(sel)
    idx = np.concatenate(rows_idx)
    lens = np.concatenate(rows_len)
    off = np.r_[0, np.cumsum(lens)].astype(np.int32)
    lists = pa.ListArray.from_arrays(pa.array(off), model.vocab.take(pa.array(idx)))
    texts = pc.binary_join(lists, " ")
    texts = pc.binary_join_element_wise(pc.utf8_capitalize(texts), pa.scalar("."), "")
    # Back to generation order (rows were grouped by template).
    inv = np.empty(n, np.int64)
    inv[np.concatenate(order)] = np.arange(n)
    return texts.take(pa.array(inv)), label


# --------------------------------------------------------------------------- measurements


def _timed(fn, repeats: int) -> tuple[float, float]:
    """Median wall and CPU seconds over ``repeats`` runs."""
    walls, cpus = [], []
    for _ in range(repeats):
        gc.collect()
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus)


def _floor(texts: pa.Array) -> None:
    for batch in iter_text_batches(texts):
        tokenize_batch(batch.texts)


def _read_only(texts: pa.Array) -> None:
    for _ in iter_text_batches(texts):
        pass


_CHILD = """
import json, statistics, sys, time
sys.path.insert(0, sys.argv[1])
import pyarrow as pa
from accountgraph.minhash._signatures import prompt_signatures
texts = pa.ipc.open_file(sys.argv[2]).read_all().column(0).combine_chunks()
prompt_signatures(texts.slice(0, 100)); prompt_signatures(texts.slice(0, 100), exact=True)
out = []
for exact in (False, True):
    for jobs in (1, 2):
        walls = []
        for _ in range(int(sys.argv[3])):
            t0 = time.perf_counter(); prompt_signatures(texts, exact=exact, n_jobs=jobs); walls.append(time.perf_counter() - t0)
        out.append({"exact": exact, "jobs": jobs, "wall_s": statistics.median(walls)})
print(json.dumps(out))
"""


def baseline_throughput(texts: pa.Array, src: str, label: str, repeats: int) -> list[dict]:
    """Default/exact throughput of another checkout's ``src`` on the same prompts, in a child process."""
    import json
    import subprocess
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".arrow") as fh:
        with pa.ipc.new_file(fh.name, pa.schema([("text", texts.type)])) as w:
            w.write_table(pa.table({"text": texts}))
        res = subprocess.run([sys.executable, "-c", _CHILD, src, fh.name, str(repeats)], capture_output=True, text=True, check=True)
    rows = []
    for r in json.loads(res.stdout.strip().splitlines()[-1]):
        name = f"{label} {'exact' if r['exact'] else 'default (fast)'}, {r['jobs']} thread{'s' if r['jobs'] > 1 else ''}"
        rows.append({"method": name, "prompts": len(texts), "wall_s": r["wall_s"], "cpu_s": float("nan"),
                     "per_s": len(texts) / r["wall_s"], "per_cpu_s": float("nan"), "note": "", "load": os.getloadavg()[0]})
        print(f"  {name:42s} {rows[-1]['per_s']:10.0f} prompts/s", flush=True)
    return rows


def throughput(texts: pa.Array, n_ds_bulk: int, n_ds_update: int, repeats: int) -> list[dict]:
    from datasketch import MinHash

    n = len(texts)
    rows: list[dict] = []

    def add(name: str, count: int, fn, note: str = "") -> None:
        wall, cpu = _timed(fn, repeats)
        rows.append({"method": name, "prompts": count, "wall_s": wall, "cpu_s": cpu, "per_s": count / wall,
                     "per_cpu_s": count / cpu, "note": note, "load": os.getloadavg()[0]})
        print(f"  {name:42s} {count / wall:10.0f} prompts/s  ({count / cpu:10.0f} per CPU-s)", flush=True)

    add("floor: read into UTF-8 batches only (1 thread)", n, lambda: _read_only(texts))
    add("floor: read + pyarrow tokenise (exact mode's tokeniser), 1 thread", n, lambda: _floor(texts))
    add("accountgraph default (fast), 1 thread", n, lambda: prompt_signatures(texts, n_jobs=1))
    add("accountgraph default (fast), 2 threads", n, lambda: prompt_signatures(texts, n_jobs=2))
    add("accountgraph exact, 1 thread", n, lambda: prompt_signatures(texts, exact=True, n_jobs=1))
    add("accountgraph exact, 2 threads", n, lambda: prompt_signatures(texts, exact=True, n_jobs=2))
    sub = texts.slice(0, n_ds_bulk).to_pylist()
    toks = [[t.encode("utf-8") for t in prompt_tokens(s)] for s in sub]
    add("datasketch MinHash.bulk (pre-tokenised)", n_ds_bulk, lambda: MinHash.bulk(toks, num_perm=128),
        "tokenisation excluded")

    def per_prompt() -> None:
        for tk in toks[:n_ds_update]:
            m = MinHash(num_perm=128)
            for t in tk:
                m.update(t)

    add("datasketch per-prompt update (pre-tokenised)", n_ds_update, per_prompt, "tokenisation excluded")
    return rows


def jaccard_errors(texts: pa.Array, labels: np.ndarray, n_pairs: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    n = len(texts)
    tpl = np.flatnonzero(labels >= 0)
    pairs = {
        "random pairs": rng.integers(0, n, (n_pairs, 2)),
        "same-template pairs": None,
    }
    a = rng.choice(tpl, n_pairs)
    same = [rng.choice(np.flatnonzero(labels == labels[i])) for i in a[: n_pairs]]
    pairs["same-template pairs"] = np.c_[a, same]
    # Near-duplicates: a prompt against itself with 1-5 words replaced.
    base_idx = rng.integers(0, n, n_pairs)
    near_a, near_b = [], []
    for i in base_idx:
        words = texts[int(i)].as_py().split()
        k = int(rng.integers(1, 6))
        for pos in rng.choice(len(words), k, replace=False):
            words[pos] = f"zz{rng.integers(10**9)}"
        near_a.append(texts[int(i)].as_py())
        near_b.append(" ".join(words))
    out = []
    sets = {}

    def tokset(s: str) -> frozenset:
        return frozenset(prompt_tokens(s))

    for name, ab in list(pairs.items()) + [("near-duplicates (1-5 words changed)", None)]:
        if ab is None:
            left, right = near_a, near_b
        else:
            left = texts.take(pa.array(ab[:, 0])).to_pylist()
            right = texts.take(pa.array(ab[:, 1])).to_pylist()
        true = np.array([len(tokset(x) & tokset(y)) / max(len(tokset(x) | tokset(y)), 1) for x, y in zip(left, right)])
        row = {"pairs": name, "n": len(true), "mean_true_j": float(true.mean())}
        for mode, exact in (("default", False), ("exact", True)):
            sl = prompt_signatures(left, exact=exact)
            sr = prompt_signatures(right, exact=exact)
            err = (sl == sr).mean(axis=1) - true
            row[f"{mode}_bias"] = float(err.mean())
            row[f"{mode}_rmse"] = float(np.sqrt((err**2).mean()))
            row[f"{mode}_p95"] = float(np.quantile(np.abs(err), 0.95))
        out.append(row)
        print(f"  {name:38s} J={row['mean_true_j']:.3f} default rmse={row['default_rmse']:.4f} exact rmse={row['exact_rmse']:.4f}", flush=True)
        sets.clear()
    return out


def _pair_counts(x: np.ndarray) -> int:
    _, c = np.unique(x, return_counts=True)
    return int((c * (c - 1) // 2).sum())


def recovery(texts: pa.Array, labels: np.ndarray, thresholds: list[float]) -> list[dict]:
    n = len(texts)
    truth = np.where(labels >= 0, labels, len(labels) + np.arange(n))  # diverse prompts: own class
    out = []
    for width in (3, 1):  # word 3-shingles (what detect runs) and word tokens
        for thr in thresholds:
            w0 = time.perf_counter()
            fam = template_families(texts, similarity=thr, shingle_width=width)
            wall = time.perf_counter() - w0
            f = fam.family
            both = f.astype(np.int64) * (2 * n + 1) + truth
            tp = _pair_counts(both)
            pp = _pair_counts(f)
            ap = _pair_counts(truth)
            bands, rows = fam.stats["bands"], fam.stats["rows_per_band"]
            largest = float(fam.families["distinct"].max() / max(int(fam.families["distinct"].sum()), 1)) if fam.n_families else 0.0
            row = {"mode": f"{width}-shingles", "verify": False, "threshold": thr, "bands": bands, "rows": rows,
                   "precision": tp / pp if pp else 1.0, "recall": tp / ap if ap else 1.0,
                   "families": fam.n_families, "templates_split": int(sum(np.unique(f[labels == t]).size > 1 for t in np.unique(labels[labels >= 0]))),
                   "largest_family_fraction": largest, "wall_s": wall}
            out.append(row)
            print(f"  {row['mode']:7s} t={thr} b={bands} r={rows} P={row['precision']:.4f} R={row['recall']:.4f} "
                  f"families={row['families']} ({wall:.1f}s)", flush=True)
    return out


def streamed_rss(n_total: int, chunk: int, seed: int) -> dict:
    """Generate and sign ``n_total`` prompts chunk by chunk; report peak RSS (run in a fresh process)."""
    model = make_corpus_model(seed)
    w0 = time.perf_counter()
    sign_s = 0.0
    checksum = np.uint64(0)
    rss_after_first = None
    for i in range(0, n_total, chunk):
        texts, _ = generate(model, min(chunk, n_total - i), seed + 1 + i)
        s0 = time.perf_counter()
        sig = prompt_signatures(texts, n_jobs=2)
        sign_s += time.perf_counter() - s0
        checksum ^= np.bitwise_xor.reduce(sig[:, 0])
        if rss_after_first is None:
            rss_after_first = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"n": n_total, "chunk": chunk, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "rss_after_first_chunk_mb": rss_after_first, "sign_s": sign_s, "total_s": time.perf_counter() - w0,
            "checksum": int(checksum)}


# --------------------------------------------------------------------------- report


def _md_table(rows: list[dict], cols: list[tuple[str, str, str]]) -> str:
    head = "| " + " | ".join(c[1] for c in cols) + " |\n|" + "|".join("---" for _ in cols) + "|\n"
    body = "".join("| " + " | ".join(format(r[c[0]], c[2]) if c[2] else str(r[c[0]]) for c in cols) + " |\n" for r in rows)
    return head + body


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200_000, help="prompts in the in-memory corpus")
    ap.add_argument("--n-ds-bulk", type=int, default=5_000)
    ap.add_argument("--n-ds-update", type=int, default=1_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--pairs", type=int, default=2_000)
    ap.add_argument("--n-recovery", type=int, default=50_000)
    ap.add_argument("--stream", type=int, nargs="*", default=[500_000, 3_000_000], help="streamed run sizes")
    ap.add_argument("--stream-chunk", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--baseline-src", default=None,
                    help="the src/ of another checkout (e.g. a git worktree of an older revision), measured on the same prompts")
    ap.add_argument("--baseline-label", default="baseline")
    ap.add_argument("--out", default=None, help="write Markdown results here")
    ap.add_argument("--_stream-child", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._stream_child is not None:
        import json

        print(json.dumps(streamed_rss(args._stream_child, args.stream_chunk, args.seed)))
        return
    import json
    import subprocess

    cmd = "python " + shlex.join([os.path.relpath(__file__)] + (argv if argv is not None else sys.argv[1:]))
    load0 = os.getloadavg()
    model = make_corpus_model(args.seed)
    texts, labels = generate(model, args.n, args.seed + 1)
    tb = tokenize_batch(texts.slice(0, 10_000))
    tok_per_prompt = tb.code.size / 10_000
    bytes_per_prompt = texts.nbytes / len(texts)
    non_ascii = 1.0 - pc.mean(pc.string_is_ascii(texts)).as_py()
    print(f"corpus: {len(texts)} prompts, {tok_per_prompt:.0f} tokens and {bytes_per_prompt:.0f} bytes per prompt", flush=True)
    print("throughput", flush=True)
    thr = throughput(texts, args.n_ds_bulk, args.n_ds_update, args.repeats)
    if args.baseline_src:
        thr += baseline_throughput(texts, args.baseline_src, args.baseline_label, args.repeats)
    bulk = next(r for r in thr if r["method"].startswith("datasketch MinHash.bulk"))
    for r in thr:
        r["x_bulk"] = r["per_s"] / bulk["per_s"]
        r["x_bulk_cpu"] = r["per_cpu_s"] / bulk["per_cpu_s"]
    print("jaccard error", flush=True)
    jac = jaccard_errors(texts.slice(0, 50_000), labels[:50_000], args.pairs, args.seed + 2)
    print("template recovery", flush=True)
    rec = recovery(texts.slice(0, args.n_recovery), labels[: args.n_recovery], [0.3, 0.5, 0.7])
    print("streamed peak RSS (fresh process per size)", flush=True)
    streams = []
    for size in args.stream:
        res = subprocess.run([sys.executable, __file__, "--_stream-child", str(size), "--stream-chunk", str(args.stream_chunk),
                              "--seed", str(args.seed)], capture_output=True, text=True, check=True)
        streams.append(json.loads(res.stdout.strip().splitlines()[-1]))
        print(f"  {size}: peak RSS {streams[-1]['peak_rss_mb']:.0f} MB", flush=True)
    load1 = os.getloadavg()
    if args.out:
        import datasketch
        import numba
        import numpy
        import pyarrow

        md = [
            "# Prompt signatures (MinHash / LSH) benchmark\n",
            f"Command: `{cmd}`  \n",
            f"Date: {_dt.datetime.now().isoformat(timespec='seconds')}  \n",
            f"Machine: {os.cpu_count()} cores, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB RAM, "
            f"Python {platform.python_version()}, numpy {numpy.__version__}, pyarrow {pyarrow.__version__}, datasketch {datasketch.__version__}, numba {numba.__version__}  \n",
            f"Load average (1 min) at start / end: {load0[0]:.2f} / {load1[0]:.2f} -- the machine is shared; "
            "wall-clock figures are affected by other jobs, CPU-second figures much less.\n",
            f"\nCorpus: {args.n:,} synthetic prompts (seed {args.seed}), {tok_per_prompt:.0f} tokens and {bytes_per_prompt:.0f} bytes "
            "per prompt on average; 70% slot-filled from 40 templates (100-180 words, 6-10 slots of 1-3 words), 30% diverse "
            f"Zipf text; {non_ascii:.2%} of prompts contain non-ASCII words. num_perm=128, seed=1.\n",
            "\n## Throughput (median of %d runs)\n\n" % args.repeats,
            _md_table(thr, [("method", "method", ""), ("prompts", "prompts", ","), ("per_s", "prompts/s (wall)", ",.0f"),
                            ("per_cpu_s", "prompts per CPU-s", ",.0f"), ("x_bulk", "x bulk (wall)", ".1f"),
                            ("x_bulk_cpu", "x bulk (CPU)", ".1f"), ("load", "load avg", ".2f")]),
            "\ndatasketch rows exclude tokenisation (their token lists are prepared beforehand), which favours them.\n",
            "\n## Jaccard estimation error (estimate - true token-set Jaccard), num_perm=128\n\n",
            _md_table(jac, [("pairs", "pairs", ""), ("n", "n", ","), ("mean_true_j", "mean true J", ".3f"),
                            ("default_bias", "default bias", "+.4f"), ("default_rmse", "default RMSE", ".4f"), ("default_p95", "default p95 abs", ".4f"),
                            ("exact_bias", "exact bias", "+.4f"), ("exact_rmse", "exact RMSE", ".4f"), ("exact_p95", "exact p95 abs", ".4f")]),
            "\n## Template recovery (pairwise, %s prompts; truth = generating template, diverse prompts are singletons)\n\n" % f"{args.n_recovery:,}",
            _md_table(rec, [("mode", "mode", ""), ("verify", "verify", ""), ("threshold", "threshold", ""), ("bands", "bands", ""), ("rows", "rows", ""),
                            ("precision", "precision", ".4f"), ("recall", "recall", ".4f"), ("families", "families", ","),
                            ("templates_split", "templates split", ""), ("largest_family_fraction", "largest family frac.", ".3f"),
                            ("wall_s", "template_families wall s", ".1f")]),
            "\n## Memory: streamed run (prompts generated and signed in chunks, default mode, 2 threads, fresh process each)\n\n",
            _md_table(streams, [("n", "prompts", ","), ("chunk", "chunk", ","), ("rss_after_first_chunk_mb", "RSS after 1st chunk MB", ".0f"),
                                ("peak_rss_mb", "peak RSS MB", ".0f"), ("sign_s", "signing s", ".1f"), ("total_s", "total s (incl. generation)", ".1f")]),
        ]
        with open(args.out, "w") as fh:
            fh.write("".join(md))
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
