"""The public entry points: :class:`RingDetector` and its function twin :func:`detect`.

Parameters are validated here; the stages run in :mod:`accountgraph._pipeline`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from ._exceptions import InvalidParameterError, NotFittedError
from ._io import TableLike
from ._pipeline import run_pipeline
from ._result import DetectionResult
from ._scoring import ScoringParams

__all__ = ["RingDetector", "detect", "DEFAULT_THRESHOLD"]


#: Default ``ring_score`` above which a cluster is flagged. Chosen on the
#: synthetic scenarios (seed 0): the highest-scoring benign cluster (enterprise,
#: family, automation) scored 0.34, the lowest ring cluster of the hardest tactic
#: (mimicked human timing + 50-60 % camouflage prompts) 0.48; checked on a
#: held-out seed in ``benchmarks/RESULTS.md``.
DEFAULT_THRESHOLD = 0.45


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
        Budget of account pairs projected from full cliques (rarest signals
        first); signals past it are projected onto sparse random graphs within
        a second budget of the same size (status ``sampled``). Bounds memory.
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
        self.result_ = run_pipeline(self, events, accounts)
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
