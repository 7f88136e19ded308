"""The public entry points: :class:`RingDetector` and its function twin :func:`detect`.

The pipeline, one private module per stage::

    _schema   validate & quarantine  ->  _signals  account–signal incidence
    _minhash  prompt template families (feeds _signals)
    _graph    rarity weights, bounded projection
    _detect   components + Leiden     ->  _scoring  evidence & ring_score
    _result   tables, explanations, exports
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from ._detect import attach_by_shared_signals, detach_weak_members, find_communities
from ._exceptions import InvalidParameterError, NotFittedError
from ._graph import STATUS_NAMES, build_graph, substantial_families
from ._io import TableLike
from ._result import DetectionResult
from ._schema import Quarantine, _combine, factorize_sorted, validate_accounts, validate_events
from ._scoring import ScoringParams, score_clusters
from ._signals import extract_signals

__all__ = ["RingDetector", "detect", "DEFAULT_THRESHOLD"]

logger = logging.getLogger(__name__)

#: Default ``ring_score`` above which a cluster is flagged. Chosen on the
#: synthetic scenarios (seed 0): the highest-scoring benign cluster (enterprise,
#: family, automation) scored 0.34, the lowest ring cluster of the hardest tactic
#: (mimicked human timing + 50-60 % camouflage prompts) 0.48; checked on a
#: held-out seed in ``benchmarks/RESULTS.md``.
DEFAULT_THRESHOLD = 0.45


class _Stage:
    """Log a stage's duration and keep it in ``stats``."""

    def __init__(self, stats: dict[str, Any], name: str, progress: Any) -> None:
        self.stats, self.name, self.progress = stats, name, progress

    def __enter__(self) -> _Stage:
        self.t0 = time.perf_counter()
        if self.progress is not None:
            self.progress.set_description(self.name)
        return self

    def __exit__(self, *exc: object) -> None:
        dt = time.perf_counter() - self.t0
        self.stats.setdefault("seconds", {})[self.name] = round(dt, 4)
        logger.info("stage %s: %.2fs", self.name, dt)
        if self.progress is not None:
            self.progress.update(1)


def _check(name: str, value: Any, ok: bool, expect: str) -> None:
    if not ok:
        raise InvalidParameterError(
            f"The {name!r} parameter of RingDetector must be {expect}. Got {value!r} instead."
        )


class RingDetector:
    """Find and rank coordinated rings of accounts.

    Parameters
    ----------
    threshold : float, default 0.45
        Clusters with ``ring_score`` above this are flagged.
    max_signal_degree : int, default 500
        Signals shared by more accounts are hubs: evidence, never links.
    hub_share : float, default 0.5
        On small inputs the hub cap drops to ``max(10, hub_share * n_accounts)``.
    max_pairs : int, default 50_000_000
        Budget of projected account pairs; bounds memory.
    min_link : float, default 0.5
        Minimum link weight between two accounts (see ``_graph``).
    type_weights : mapping, optional
        Override per signal-type link weights.
    method : {"leiden", "components"}, default "leiden"
    resolution : float, default 1.0
        Leiden modularity resolution.
    merge_density : float, default 0.05
        Leiden communities whose mean cross-link weight per account pair
        reaches this are rejoined (a ring's cells stay one cluster).
    min_cluster_size : int, default 2
    min_member_strength : float, default 0.15
        In clusters of 6 or more accounts, members whose summed link weight to
        the other members is below this share of the cluster's median are
        detached (a household sharing one proxy exit with one ring account).
    attach_min_signals : int, default 20
        An account left outside every cluster of 6+ accounts joins the one
        with which it shares at least this many distinct rare signals (each
        with two or more members) ...
    attach_min_share : float, default 0.5
        ... provided they are at least this share of its rare signals (a ring
        account tied only by a hundred proxy exits, none telling alone). 0
        signals disables attachment.
    evidence_clusters : int, default 50
        Keep per-event evidence (timelines, output lengths, links) for this
        many top-ranked clusters, for dossiers, reports and plots.
    use_templates : bool, default True
        Derive prompt-template families (MinHash LSH) as signals and evidence.
    template_threshold : float, default 0.5
        Jaccard similarity above which prompts are likely to share a family.
    template_corroboration : float, default 0.25
        Link weight added to a pair of accounts that already share some signal
        and for both of which the same template family is substantial, times
        the family's focus (see ``_graph``). 0 turns it off.
    num_perm : int, default 64
        MinHash permutations for template families.
    prompt_sample_cap : int or None, default 4
        Hash at most this many prompts per account per window (the earliest in
        each window). Template evidence is a share of an account's prompts, which
        a sample estimates well; a ring account sending ~26 prompts a day is
        hashed 4 times a day. Measured on ``camouflage`` and ``many-rings``: same
        precision and recall as hashing everything, template stage ~2x faster.
        ``None`` hashes every prompt.
    prompt_sample_window_s : int, default 86400
        The sampling window, in seconds.
    columns, account_columns : mapping, optional
        ``{canonical_name: your_column}`` for events / accounts.
    extra_signals, account_extra_signals : sequence of str
        Further string columns to use as signals.
    scoring : ScoringParams, optional
    random_state : int, default 0
        Seed of Leiden's (private) random generator and of MinHash.
    progress : bool or None, default None
        Show a progress bar; ``None`` shows one only on an interactive terminal.

    Attributes
    ----------
    result_ : DetectionResult
    assignments_ : pandas.DataFrame
    clusters_ : pandas.DataFrame

    Examples
    --------
    >>> from accountgraph import RingDetector
    >>> from accountgraph.synth import generate
    >>> ds = generate("tiny", seed=0)
    >>> det = RingDetector(random_state=0).fit(ds.events, ds.accounts)
    >>> det.assignments_.columns.tolist()
    ['account_id', 'cluster_id', 'ring_score', 'flagged']
    """

    def __init__(
        self,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        max_signal_degree: int = 500,
        hub_share: float = 0.5,
        max_pairs: int = 50_000_000,
        min_link: float = 0.5,
        type_weights: Mapping[str, float] | None = None,
        method: Literal["leiden", "components"] = "leiden",
        resolution: float = 1.0,
        merge_density: float = 0.05,
        min_cluster_size: int = 2,
        min_member_strength: float = 0.15,
        attach_min_signals: int = 20,
        attach_min_share: float = 0.5,
        evidence_clusters: int = 50,
        use_templates: bool = True,
        template_threshold: float = 0.5,
        template_corroboration: float = 0.25,
        num_perm: int = 64,
        prompt_sample_cap: int | None = 4,
        prompt_sample_window_s: int = 86_400,
        columns: Mapping[str, str] | None = None,
        account_columns: Mapping[str, str] | None = None,
        extra_signals: Sequence[str] = (),
        account_extra_signals: Sequence[str] = (),
        scoring: ScoringParams | None = None,
        random_state: int = 0,
        progress: bool | None = None,
    ) -> None:
        self.threshold = threshold
        self.max_signal_degree = max_signal_degree
        self.hub_share = hub_share
        self.max_pairs = max_pairs
        self.min_link = min_link
        self.type_weights = type_weights
        self.method = method
        self.resolution = resolution
        self.merge_density = merge_density
        self.min_cluster_size = min_cluster_size
        self.min_member_strength = min_member_strength
        self.attach_min_signals = attach_min_signals
        self.attach_min_share = attach_min_share
        self.evidence_clusters = evidence_clusters
        self.use_templates = use_templates
        self.template_threshold = template_threshold
        self.template_corroboration = template_corroboration
        self.num_perm = num_perm
        self.prompt_sample_cap = prompt_sample_cap
        self.prompt_sample_window_s = prompt_sample_window_s
        self.columns = columns
        self.account_columns = account_columns
        self.extra_signals = extra_signals
        self.account_extra_signals = account_extra_signals
        self.scoring = scoring
        self.random_state = random_state
        self.progress = progress

    # ------------------------------------------------------------------ params
    def get_params(self) -> dict[str, Any]:
        """Parameters as a dict (scikit-learn convention)."""
        return {k: getattr(self, k) for k in self.__init__.__kwdefaults__}  # type: ignore[union-attr]

    def set_params(self, **params: Any) -> RingDetector:
        """Set parameters (scikit-learn convention); returns ``self``."""
        valid = self.__init__.__kwdefaults__  # type: ignore[union-attr]
        for k, v in params.items():
            if k not in valid:
                raise InvalidParameterError(
                    f"RingDetector has no parameter {k!r}. Valid parameters: {sorted(valid)}."
                )
            setattr(self, k, v)
        return self

    def _validate_params(self) -> None:
        num = (int, float, np.integer, np.floating)
        _check("threshold", self.threshold, isinstance(self.threshold, num) and 0 <= self.threshold <= 1, "a float in [0, 1]")
        _check("max_signal_degree", self.max_signal_degree,
               isinstance(self.max_signal_degree, (int, np.integer)) and self.max_signal_degree >= 2, "an int >= 2")
        _check("hub_share", self.hub_share, isinstance(self.hub_share, num) and 0 < self.hub_share <= 1, "a float in (0, 1]")
        _check("max_pairs", self.max_pairs, isinstance(self.max_pairs, (int, np.integer)) and self.max_pairs >= 1, "an int >= 1")
        _check("min_link", self.min_link, isinstance(self.min_link, num) and self.min_link > 0, "a float in (0, inf)")
        _check("method", self.method, self.method in ("leiden", "components"), "one of 'leiden', 'components'")
        _check("resolution", self.resolution, isinstance(self.resolution, num) and self.resolution > 0, "a float in (0, inf)")
        _check("merge_density", self.merge_density, isinstance(self.merge_density, num) and self.merge_density > 0,
               "a float in (0, inf)")
        _check("min_cluster_size", self.min_cluster_size,
               isinstance(self.min_cluster_size, (int, np.integer)) and self.min_cluster_size >= 2, "an int >= 2")
        _check("min_member_strength", self.min_member_strength,
               isinstance(self.min_member_strength, num) and 0 <= self.min_member_strength < 1, "a float in [0, 1)")
        _check("attach_min_signals", self.attach_min_signals,
               isinstance(self.attach_min_signals, (int, np.integer)) and self.attach_min_signals >= 0, "an int >= 0")
        _check("attach_min_share", self.attach_min_share,
               isinstance(self.attach_min_share, num) and 0 <= self.attach_min_share <= 1, "a float in [0, 1]")
        _check("template_threshold", self.template_threshold,
               isinstance(self.template_threshold, num) and 0 < self.template_threshold < 1, "a float in (0, 1)")
        _check("template_corroboration", self.template_corroboration,
               isinstance(self.template_corroboration, num) and self.template_corroboration >= 0, "a float >= 0")
        _check("num_perm", self.num_perm, isinstance(self.num_perm, (int, np.integer)) and 8 <= self.num_perm <= 1024,
               "an int in [8, 1024]")
        _check("evidence_clusters", self.evidence_clusters,
               isinstance(self.evidence_clusters, (int, np.integer)) and self.evidence_clusters >= 0, "an int >= 0")
        _check("prompt_sample_cap", self.prompt_sample_cap, self.prompt_sample_cap is None or (
            isinstance(self.prompt_sample_cap, (int, np.integer)) and self.prompt_sample_cap >= 1), "None or an int >= 1")
        _check("prompt_sample_window_s", self.prompt_sample_window_s,
               isinstance(self.prompt_sample_window_s, (int, np.integer)) and self.prompt_sample_window_s >= 1, "an int >= 1")
        _check("random_state", self.random_state, isinstance(self.random_state, (int, np.integer)), "an int")
        if self.type_weights is not None:
            for k, v in self.type_weights.items():
                _check(f"type_weights[{k!r}]", v, isinstance(v, num) and v >= 0, "a float >= 0")

    # --------------------------------------------------------------------- fit
    def fit(self, events: TableLike, accounts: TableLike | None = None) -> RingDetector:
        """Run the pipeline on ``events`` (and optional ``accounts``).

        Parameters
        ----------
        events : pandas/pyarrow/polars table or Parquet/CSV path
            One row per API exchange: ``account_id`` and ``timestamp`` required;
            ``ip``, ``device_id``, ``payment_id``, ``prompt``, ``output_tokens``
            optional and nullable.
        accounts : table-like, optional
            One row per account: ``account_id``, ``created_at`` and optional
            ``payment_id``, ``email_domain``, ``phone_prefix``.

        Returns
        -------
        self

        Raises
        ------
        SchemaError
            A required column is missing or has an unusable type.
        InvalidParameterError
            A parameter is out of its domain.
        """
        self._validate_params()
        self.result_ = _run(self, events, accounts)
        self.assignments_ = self.result_.assignments
        self.clusters_ = self.result_.clusters
        return self

    def fit_predict(self, events: TableLike, accounts: TableLike | None = None) -> pd.DataFrame:
        """``fit`` and return the assignments table."""
        return self.fit(events, accounts).assignments_

    def explain(self, cluster_id: int):
        """Evidence for one cluster (see :meth:`DetectionResult.explain`)."""
        if not hasattr(self, "result_"):
            raise NotFittedError("This RingDetector is not fitted yet; call fit(events, accounts) first.")
        return self.result_.explain(cluster_id)

    def __repr__(self) -> str:
        defaults = self.__init__.__kwdefaults__  # type: ignore[union-attr]
        changed = {k: v for k, v in self.get_params().items() if v is not defaults[k] and v != defaults[k]}
        return f"RingDetector({', '.join(f'{k}={v!r}' for k, v in changed.items())})"


def detect(events: TableLike, accounts: TableLike | None = None, *, seed: int = 0, **options: Any) -> DetectionResult:
    """Find and rank coordinated rings of accounts in API events.

    Function twin of :class:`RingDetector`; ``options`` are its parameters.

    Parameters
    ----------
    events : table-like
        See :meth:`RingDetector.fit`.
    accounts : table-like, optional
    seed : int, default 0
        Random seed (Leiden, MinHash). Same input and seed give identical output.
    **options
        Any :class:`RingDetector` parameter.

    Returns
    -------
    DetectionResult

    Examples
    --------
    >>> import accountgraph
    >>> from accountgraph.synth import generate
    >>> ds = generate("tiny", seed=0)
    >>> res = accountgraph.detect(ds.events, ds.accounts, seed=0)
    >>> bool(res.assignments["ring_score"].between(0, 1).all())
    True
    """
    if "random_state" in options:
        raise InvalidParameterError("Pass the seed of detect() as seed=..., not random_state=....")
    det = RingDetector(random_state=seed, **options) if options.keys() <= set(
        RingDetector.__init__.__kwdefaults__  # type: ignore[union-attr]
    ) else None
    if det is None:
        bad = sorted(set(options) - set(RingDetector.__init__.__kwdefaults__))  # type: ignore[union-attr]
        raise InvalidParameterError(
            f"detect() got unknown option(s) {bad}. Valid options: "
            f"{sorted(RingDetector.__init__.__kwdefaults__)}."  # type: ignore[union-attr]
        )
    return det.fit(events, accounts).result_


def _progress_bar(progress: bool | None, total: int):
    import sys

    show = progress if progress is not None else (sys.stderr.isatty())
    if not show:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="accountgraph", unit="stage", leave=False)


def _run(p: RingDetector, events: TableLike, accounts: TableLike | None) -> DetectionResult:
    stats: dict[str, Any] = {}
    q = Quarantine()
    bar = _progress_bar(p.progress, 6)
    try:
        with _Stage(stats, "validate", bar):
            ev = validate_events(events, columns=p.columns, extra_signals=p.extra_signals, quarantine=q)
            ac = None
            if accounts is not None:
                ac = validate_accounts(accounts, columns=p.account_columns,
                                       extra_signals=p.account_extra_signals, quarantine=q)
            ids = [_combine(ev.account_id).cast(pa.large_string())]
            if ac is not None:
                ids.append(_combine(ac.account_id).cast(pa.large_string()))
            codes, account_ids = factorize_sorted(pa.chunked_array(ids))
            codes = codes.astype(np.int64)
            ev_account = codes[: len(ev)]
            ac_account = codes[len(ev):] if ac is not None else None
            n_acc = len(account_ids)
            stats.update(n_events_in=ev.n_input_rows, n_events=len(ev), n_accounts=n_acc)

        with _Stage(stats, "templates", bar):
            ev_family = None
            templates = pd.DataFrame()
            if p.use_templates and ev.prompt is not None and len(ev):
                from ._lsh import sample_per_account_window
                from ._templates import template_families

                sample = None
                if p.prompt_sample_cap is not None:
                    sample = sample_per_account_window(ev_account, ev.timestamp, cap=p.prompt_sample_cap,
                                                       window=p.prompt_sample_window_s * 1_000_000)
                fams = template_families(
                    ev.prompt, threshold=p.template_threshold, num_perm=p.num_perm, seed=p.random_state + 1,
                    sample=sample, n_rows=len(ev),
                )
                ev_family = fams.family
                templates = fams.families
                stats["templates"] = fams.stats

        with _Stage(stats, "signals", bar):
            sig = extract_signals(ev, ev_account, ac, ac_account, template_family=ev_family)
            stats["n_signals"] = sig.n_signals
            stats["n_incidences"] = len(sig.account)

        with _Stage(stats, "graph", bar):
            first_ts = np.full(n_acc, np.iinfo(np.int64).max)
            np.minimum.at(first_ts, ev_account, ev.timestamp)
            n_ev_acc = np.bincount(ev_account, minlength=n_acc)
            # Name-independent account order: first activity, then volume.
            node_key = np.lexsort((-n_ev_acc, first_ts)).argsort()
            substantial = focus = None
            if ev_family is not None:
                substantial, focus = substantial_families(ev_account, ev_family, n_acc)
            graph = build_graph(
                sig, n_acc, max_signal_degree=p.max_signal_degree, hub_share=p.hub_share,
                max_pairs=p.max_pairs, min_link=p.min_link, type_weights=p.type_weights,
                substantial=substantial, focus=focus, corroboration=p.template_corroboration,
                node_key=node_key, seed=p.random_state,
            )
            stats.update(n_edges=graph.n_edges, n_pairs=graph.n_pairs, hub_cap=graph.cap,
                         n_hub_signals=int((graph.status == 2).sum()))

        with _Stage(stats, "communities", bar):
            membership = find_communities(
                graph, method=p.method, resolution=p.resolution, merge_density=p.merge_density,
                seed=p.random_state, node_key=node_key,
            )
            membership, stats["n_detached"] = detach_weak_members(
                membership, graph, min_rel_strength=p.min_member_strength
            )
            membership, stats["n_attached"] = attach_by_shared_signals(
                membership, sig.account, sig.signal, graph, min_signals=p.attach_min_signals,
                min_share=p.attach_min_share,
            )
            acc_cluster, n_cl = _canonical_clusters(membership, node_key, p.min_cluster_size)
            stats["n_clusters"] = n_cl

        with _Stage(stats, "score", bar):
            created = None
            if ac is not None and ac.created_at is not None:
                created = np.full(n_acc, -1, np.int64)
                created[ac_account] = ac.created_at
            feats = score_clusters(
                n_clusters=n_cl, acc_cluster=acc_cluster, ev_account=ev_account, ev_ts_us=ev.timestamp,
                ev_output=ev.output_tokens, ev_family=ev_family, created_us=created,
                ev_model=factorize_sorted(ev.model)[0].astype(np.int64) if ev.model is not None and len(ev) else None,
                params=p.scoring or ScoringParams(),
            )
            # Final ids: rank by score, then size, then the canonical index.
            order = np.lexsort((np.arange(n_cl), -feats["n_accounts"].to_numpy(), -feats["ring_score"].to_numpy()))
            new_id = np.empty(n_cl, np.int64)
            new_id[order] = np.arange(n_cl)
            feats.insert(0, "cluster_id", new_id)
            feats["flagged"] = feats["ring_score"] > p.threshold
            clusters = feats.iloc[order].reset_index(drop=True)
            lead = ["cluster_id", "n_accounts", "n_events", "ring_score", "flagged"]
            clusters = clusters[lead + [c for c in clusters.columns if c not in lead]]
            # A sentinel slot at the end serves accounts in no cluster (index -1).
            acc_cid = np.append(new_id, -1)[acc_cluster]
            acc_score = np.append(feats["ring_score"].to_numpy(), 0.0)[acc_cluster]
            assignments = pd.DataFrame({
                "account_id": pd.Series(np.asarray(account_ids.to_numpy(zero_copy_only=False), dtype=object), dtype=object),
                "cluster_id": acc_cid.astype(np.int64),
                "ring_score": acc_score.astype(np.float64),
                "flagged": acc_score > p.threshold,
            })
            cluster_signals, incidence = _cluster_signals(sig, graph, acc_cid, account_ids)
            cluster_templates = _cluster_templates(acc_cid, ev_account, ev_family, templates)
            evidence = _evidence_tables(
                acc_cid, new_id[order[: p.evidence_clusters]] if n_cl else np.zeros(0, np.int64),
                account_ids, ev_account, ev.timestamp, ev.output_tokens, ev_family, created, graph,
            )
    finally:
        if bar is not None:
            bar.close()

    stats["quarantined_rows"] = q.total
    stats["n_flagged_accounts"] = int(assignments["flagged"].sum())
    stats["n_flagged_clusters"] = int(clusters["flagged"].sum()) if len(clusters) else 0
    logger.info("detect: %d accounts, %d clusters, %d flagged accounts in %d rings",
                n_acc, n_cl, stats["n_flagged_accounts"], stats["n_flagged_clusters"])
    return DetectionResult(
        assignments=assignments, clusters=clusters, cluster_signals=cluster_signals, templates=templates,
        quarantine=q, stats=stats, params=p.get_params(), _cluster_templates=cluster_templates,
        evidence=evidence,
        _incidence=incidence,
    )


def _canonical_clusters(membership: np.ndarray, node_key: np.ndarray, min_size: int) -> tuple[np.ndarray, int]:
    """Relabel communities 0..k-1 by their first member in ``node_key`` order; small ones -> -1."""
    n = len(membership)
    out = np.full(n, -1, np.int64)
    m = membership >= 0
    if not m.any():
        return out, 0
    labels, inv = np.unique(membership[m], return_inverse=True)
    sizes = np.bincount(inv)
    first = np.full(len(labels), np.iinfo(np.int64).max)
    np.minimum.at(first, inv, node_key[m])
    big = sizes >= min_size
    order = np.argsort(first[big], kind="stable")
    remap = np.full(len(labels), -1, np.int64)
    remap[np.flatnonzero(big)[order]] = np.arange(int(big.sum()))
    out[m] = remap[inv]
    return out, int(big.sum())


def _cluster_signals(sig, graph, acc_cid: np.ndarray, account_ids: pa.Array) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Signals shared by >= 2 accounts of a cluster, with their rarity."""
    cl = acc_cid[sig.account]
    m = cl >= 0
    if not m.any():
        empty = pd.DataFrame(columns=["cluster_id", "signal_id", "signal_type", "value", "accounts_in_cluster",
                                      "accounts_total", "weight", "status"])
        return empty, pd.DataFrame(columns=["cluster_id", "signal_id", "account_id"])
    n_sig = max(sig.n_signals, 1)
    key = cl[m] * n_sig + sig.signal[m]
    u, inv, cnt = np.unique(key, return_inverse=True, return_counts=True)
    keep_pair = cnt >= 2
    ucl, usig = u // n_sig, u % n_sig
    ucl, usig, cnt = ucl[keep_pair], usig[keep_pair], cnt[keep_pair]
    type_names = np.asarray(sig.type_names, dtype=object)
    values = sig.signal_value.take(pa.array(usig)).to_numpy(zero_copy_only=False)
    df = pd.DataFrame({
        "cluster_id": ucl.astype(np.int64),
        "signal_id": usig.astype(np.int64),
        "signal_type": type_names[sig.signal_type[usig]],
        "value": np.asarray(values, dtype=object),
        "accounts_in_cluster": cnt.astype(np.int64),
        "accounts_total": graph.degree[usig],
        "weight": graph.weight[usig],
        "status": np.vectorize(STATUS_NAMES.get, otypes=[object])(graph.status[usig]) if len(usig) else [],
    })
    # Most telling first: in-cluster reach times rarity, then exclusivity.
    df["_rank"] = df["accounts_in_cluster"] * np.maximum(df["weight"], 0.01)
    df = df.sort_values(["cluster_id", "_rank", "accounts_in_cluster", "signal_id"],
                        ascending=[True, False, False, True]).drop(columns="_rank").reset_index(drop=True)
    inc_m = np.flatnonzero(m)[keep_pair[inv]]
    ids = np.asarray(account_ids.to_numpy(zero_copy_only=False), dtype=object)
    incidence = pd.DataFrame({
        "cluster_id": cl[inc_m].astype(np.int64),
        "signal_id": sig.signal[inc_m].astype(np.int64),
        "account_id": ids[sig.account[inc_m]],
    })
    return df, incidence


def _cluster_templates(acc_cid, ev_account, ev_family, templates: pd.DataFrame) -> pd.DataFrame:
    """Per cluster, its template families by share of prompts (top 5)."""
    if ev_family is None or templates.empty:
        return pd.DataFrame()
    cl = acc_cid[ev_account]
    m = (cl >= 0) & (ev_family >= 0)
    if not m.any():
        return pd.DataFrame()
    df = pd.DataFrame({"cluster_id": cl[m], "family": ev_family[m]})
    g = df.groupby(["cluster_id", "family"], sort=True).size().rename("prompts").reset_index()
    g["share"] = g["prompts"] / g.groupby("cluster_id")["prompts"].transform("sum")
    g = g.sort_values(["cluster_id", "prompts", "family"], ascending=[True, False, True])
    g = g.groupby("cluster_id", sort=True).head(5)
    rep_col = "representative" if "representative" in templates.columns else None
    if rep_col and "family" in templates.columns:
        g = g.merge(templates[["family", rep_col]], on="family", how="left")
    else:
        g["representative"] = None
    return g.reset_index(drop=True)



def _evidence_tables(acc_cid, keep_ids, account_ids, ev_account, ts_us, output, family, created, graph) -> dict:
    """Compact per-event and per-account evidence for the top clusters, plus population references.

    Everything a dossier, report or plot shows is derived from these tables and
    the cluster tables, so every view agrees. Memory is proportional to the
    events of the kept clusters.
    """
    ids = np.asarray(account_ids.to_numpy(zero_copy_only=False), dtype=object)
    keep = np.zeros(int(acc_cid.max()) + 2 if len(acc_cid) else 1, bool)
    keep[keep_ids] = True
    acc_keep = (acc_cid >= 0) & keep[np.maximum(acc_cid, 0)]
    m = acc_keep[ev_account]
    ev_acc = ev_account[m]
    events = pd.DataFrame({
        "cluster_id": acc_cid[ev_acc],
        "account_id": ids[ev_acc],
        "timestamp": pd.to_datetime(ts_us[m], unit="us", utc=True),
        "output_tokens": output[m] if output is not None else np.full(int(m.sum()), -1, np.int64),
        "family": family[m] if family is not None else np.full(int(m.sum()), -1, np.int64),
    }).sort_values(["cluster_id", "account_id", "timestamp"], kind="stable").reset_index(drop=True)
    n_acc = len(acc_cid)
    n_ev = np.bincount(ev_account, minlength=n_acc)
    first = np.full(n_acc, np.iinfo(np.int64).max)
    last = np.full(n_acc, np.iinfo(np.int64).min)
    np.minimum.at(first, ev_account, ts_us)
    np.maximum.at(last, ev_account, ts_us)
    ka = np.flatnonzero(acc_keep)
    has_ev = n_ev[ka] > 0
    accounts = pd.DataFrame({
        "cluster_id": acc_cid[ka],
        "account_id": ids[ka],
        "created_at": pd.to_datetime(np.where(created[ka] >= 0, created[ka], np.iinfo(np.int64).min), unit="us", utc=True)
        if created is not None else pd.NaT,
        "n_events": n_ev[ka],
        "first_seen": pd.to_datetime(np.where(has_ev, first[ka], np.iinfo(np.int64).min), unit="us", utc=True),
        "last_seen": pd.to_datetime(np.where(has_ev, last[ka], np.iinfo(np.int64).min), unit="us", utc=True),
    }).sort_values(["cluster_id", "account_id"]).reset_index(drop=True)
    e = acc_keep[graph.src] & (acc_cid[graph.src] == acc_cid[graph.dst])
    edges = pd.DataFrame({
        "cluster_id": acc_cid[graph.src[e]],
        "source": ids[graph.src[e]],
        "target": ids[graph.dst[e]],
        "weight": graph.link[e],
    }).sort_values(["cluster_id", "source", "target"]).reset_index(drop=True)
    hour = (ts_us // 3_600_000_000) % 24
    uncl = acc_cid[ev_account] == -1
    population = {
        "hour_of_day": np.bincount(hour, minlength=24).astype(np.int64),
        "hour_of_day_unclustered": np.bincount(hour[uncl], minlength=24).astype(np.int64),
    }
    if output is not None and (output >= 0).any():
        bins = np.unique(np.concatenate([[0], np.geomspace(1, max(int(output.max()), 2) + 1, 40).astype(np.int64)]))
        population["output_bins"] = bins
        population["output_hist"] = np.histogram(output[output >= 0], bins=bins)[0]
        population["output_hist_unclustered"] = np.histogram(output[(output >= 0) & uncl], bins=bins)[0]
    return {"events": events, "accounts": accounts, "edges": edges, "population": population}
