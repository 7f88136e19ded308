"""The public entry points: :class:`RingDetector` and its function twin :func:`detect`.

Parameters are grouped per stage in small frozen objects (:class:`IngestParams`,
:class:`TemplateParams`, :class:`GraphParams`, :class:`CommunityParams`,
:class:`ScoringParams`), each validated by the constraints declared next to its
fields; the estimator holds one of each plus the few run-wide parameters, and
hands them to an engine as one :class:`~accountgraph.engines.PipelineConfig`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd

from ._exceptions import InvalidParameterError, NotFittedError
from ._seeds import known_bad_ids

if TYPE_CHECKING:
    from ._calibration import Calibration
from ._validation import Boolean, Constraint, Interval, NoneOr, ParamsBase, check_params
from .communities import CommunityParams
from .engines import PipelineConfig, get_engine
from .graph import GraphParams
from .ingest import IngestParams, TableLike
from .scoring import ScoringParams
from .templates import TemplateParams
from .views import DetectionResult, RingExplanation
from .views._pseudonym import resolve_key

__all__ = ["RingDetector", "detect", "DEFAULT_TARGET_FPR", "DEFAULT_THRESHOLD"]


#: Default benign false-positive rate the flag threshold is set for: the ring model's
#: table (measured on the tuning worlds of ``benchmarks/PROTOCOL.md``) gives the
#: ``ring_score`` threshold at which the worst tuning world stayed within it.
DEFAULT_TARGET_FPR = 0.001
#: ``threshold=None``: take the threshold from ``target_fpr`` and the ring model.
DEFAULT_THRESHOLD = None

#: The stage parameter objects, by parameter name.
_STAGES: dict[str, type[ParamsBase]] = {
    "ingest": IngestParams, "templates": TemplateParams, "graph": GraphParams,
    "communities": CommunityParams, "scoring": ScoringParams,
}


class RingDetector:
    """Find and rank coordinated rings of accounts.

    Parameters
    ----------
    threshold : float or None, default None
        Clusters with ``ring_score`` above this are flagged. ``None``: the threshold the
        ring model's table gives for ``target_fpr``.
    target_fpr : float, default 0.001
        The benign false-positive rate the default threshold is chosen for (used only when
        ``threshold`` is None). The table was measured on synthetic tuning worlds; recalibrate
        on your own labels with :meth:`calibrate`.
    ingest : IngestParams or dict, optional
        Column mapping and extra signal columns.
    templates : TemplateParams or dict, optional
        Prompt-template families (MinHash LSH).
    graph : GraphParams or dict, optional
        Rarity weighting and the bounded projection (hub cap, pair budget).
    communities : CommunityParams or dict, optional
        Leiden and the account-level refinement (detach, attach).
    scoring : ScoringParams or dict, optional
        The ring model, the gates of the ring score and the membership gate.
    evidence_clusters : int, default 50
        Keep per-event evidence (timelines, output lengths, links) for this
        many top-ranked clusters, for dossiers, reports and plots.
    random_state : int, default 0
        Seed of Leiden's (private) random generator, of the sampled projection
        and of MinHash (``random_state + 1``).
    progress : bool or None, default None
        Show a progress bar; ``None`` shows one only on an interactive terminal.
    engine : {"local", "spark"}, default "local"
        Where the stages run (see :mod:`accountgraph.engines`). ``"spark"`` returns a
        :class:`~accountgraph.engines.spark.SparkDetectionResult` (see :mod:`accountgraph.spark`).
    pseudonymize : bytes, str, False or None, default None
        Key (at least 16 bytes) to replace every identifier in the result by
        its keyed pseudonym (see :meth:`DetectionResult.pseudonymized`); None
        uses ``$ACCOUNTGRAPH_PSEUDONYM_KEY`` if set, False never pseudonymises.
        Applied to the finished result: detection is the same either way.

    Attributes
    ----------
    result_ : DetectionResult
    assignments_ : pandas.DataFrame
    clusters_ : pandas.DataFrame

    Notes
    -----
    Stage parameters are reachable by nested names, scikit-learn style:
    ``RingDetector().set_params(graph__max_pairs=10**8)`` and
    ``get_params()["communities__resolution"]``. A stage parameter may also be
    given as a dict of its fields: ``RingDetector(graph={"max_pairs": 10**8})``.

    Examples
    --------
    >>> from accountgraph import RingDetector
    >>> from accountgraph.synth import generate
    >>> ds = generate("tiny", seed=0)
    >>> det = RingDetector(random_state=0).fit(ds.events, ds.accounts)
    >>> det.assignments_.columns.tolist()
    ['account_id', 'cluster_id', 'ring_score', 'member_score', 'flagged']
    """

    _constraints: ClassVar[dict[str, Constraint]] = {
        "threshold": NoneOr(Interval(float, 0, 1)),
        "target_fpr": Interval(float, 0, 1, "neither"),
        "evidence_clusters": Interval(int, 0, None),
        "random_state": Interval(int, 0, 2**32 - 2),
        "progress": NoneOr(Boolean()),
    }

    def __init__(
        self,
        *,
        threshold: float | None = DEFAULT_THRESHOLD,
        target_fpr: float = DEFAULT_TARGET_FPR,
        ingest: IngestParams | Mapping[str, Any] | None = None,
        templates: TemplateParams | Mapping[str, Any] | None = None,
        graph: GraphParams | Mapping[str, Any] | None = None,
        communities: CommunityParams | Mapping[str, Any] | None = None,
        scoring: ScoringParams | Mapping[str, Any] | None = None,
        evidence_clusters: int = 50,
        random_state: int = 0,
        progress: bool | None = None,
        engine: str = "local",
        pseudonymize: bytes | str | bool | None = None,
    ) -> None:
        self.threshold = threshold
        self.target_fpr = target_fpr
        self.ingest = ingest
        self.templates = templates
        self.graph = graph
        self.communities = communities
        self.scoring = scoring
        self.evidence_clusters = evidence_clusters
        self.random_state = random_state
        self.progress = progress
        self.engine = engine
        self.pseudonymize = pseudonymize

    # ------------------------------------------------------------------ params
    @classmethod
    def _param_names(cls) -> list[str]:
        return list(cls.__init__.__kwdefaults__)  # type: ignore[misc]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Parameters as a dict (scikit-learn convention).

        With ``deep=True`` every stage parameter is also listed under its
        nested name, ``"<stage>__<name>"`` (e.g. ``"graph__max_pairs"``).
        """
        out = {k: getattr(self, k) for k in self._param_names()}
        if deep:
            for stage, cls in _STAGES.items():
                for k, v in cls.coerce(out[stage], owner="RingDetector", name=stage).to_dict().items():
                    out[f"{stage}__{k}"] = v
        return out

    def set_params(self, **params: Any) -> RingDetector:
        """Set parameters, plain or nested (``graph__max_pairs=...``); returns ``self``."""
        valid = self._param_names()
        for key, value in params.items():
            stage, sep, sub = key.partition("__")
            if sep and stage in _STAGES:
                current = _STAGES[stage].coerce(getattr(self, stage), owner="RingDetector", name=stage)
                setattr(self, stage, current.replace(**{sub: value}))
            elif key in valid:
                setattr(self, key, value)
            else:
                raise InvalidParameterError(
                    f"RingDetector has no parameter {key!r}. Valid parameters: {valid}, and nested "
                    f"'<stage>__<name>' for the stages {list(_STAGES)}."
                )
        return self

    def _config(self) -> PipelineConfig:
        """Validate every parameter and bundle them for an engine."""
        check_params("RingDetector", {k: getattr(self, k) for k in self._constraints}, self._constraints)
        stages = {k: cls.coerce(getattr(self, k), owner="RingDetector", name=k) for k, cls in _STAGES.items()}
        return PipelineConfig(threshold=self.effective_threshold(stages["scoring"]),  # type: ignore[arg-type]
                              evidence_clusters=int(self.evidence_clusters),
                              seed=int(self.random_state), progress=self.progress, **stages)

    def effective_threshold(self, scoring: ScoringParams | None = None) -> float:
        """The ``ring_score`` threshold in force: ``threshold``, or the ring model's for ``target_fpr``."""
        if self.threshold is not None:
            return float(self.threshold)
        from .scoring import load_model

        if scoring is None:
            scoring = ScoringParams.coerce(self.scoring, owner="RingDetector", name="scoring")
        return load_model(scoring.model).threshold_for(float(self.target_fpr))

    # --------------------------------------------------------------------- fit
    def fit(self, events: TableLike, accounts: TableLike | None = None, *, known_bad: Any = None) -> RingDetector:
        """Run the pipeline on ``events`` (and optional ``accounts``).

        Parameters
        ----------
        events : pandas/pyarrow/polars table or Parquet/CSV path
            One row per API exchange: ``account_id`` and ``timestamp`` required;
            ``ip``, ``device_id``, ``payment_id``, ``prompt``, ``output_tokens``,
            ``model`` optional and nullable.
        accounts : table-like, optional
            One row per account: ``account_id``, ``created_at`` and optional
            ``payment_id``, ``email_domain``, ``phone_prefix``.
        known_bad : collection of account ids, optional
            Accounts confirmed bad by analysts (bans, chargebacks). Clusters
            holding some get a ``contrib_known_bad`` contribution to their ring
            score and an ``n_known_bad`` count, and the assignments a
            ``known_bad`` column (seeded expansion; see ``accountgraph._seeds``).
            Clusters are found without them, so no account is linked to a seed
            by the seed list itself.

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
        config = self._config()
        key = resolve_key(self.pseudonymize, "RingDetector")  # checked before the (long) run
        if not isinstance(self.engine, str):
            raise InvalidParameterError(f"The 'engine' parameter of RingDetector must be a str. Got {self.engine!r} instead.")
        engine = get_engine(self.engine)
        if known_bad is None:
            self.result_ = engine.run(config, events, accounts)
        elif self.engine != "local":
            raise InvalidParameterError(f"known_bad seeds are supported by the local engine only, not engine={self.engine!r}.")
        else:
            self.result_ = engine.run(config, events, accounts,  # type: ignore[call-arg]
                                      known_bad=known_bad_ids(known_bad, "RingDetector.fit"))
        if key is not None:
            self.result_ = self.result_.pseudonymized(key)
        self.assignments_ = self.result_.assignments
        self.clusters_ = self.result_.clusters
        return self

    def fit_predict(self, events: TableLike, accounts: TableLike | None = None) -> pd.DataFrame:
        """``fit`` and return the assignments table."""
        return self.fit(events, accounts).assignments_

    def calibrate(self, labels: Any, *, target_fpr: float = 0.001) -> Calibration:
        """Recalibrate ``threshold`` on labelled accounts of the fitted input.

        Picks the lowest threshold at which at most ``target_fpr`` of the
        labelled benign accounts would be flagged, and reports the precision
        and recall reached on the labels. The fitted result is not changed:
        fit the returned ``Calibration.detector`` (same parameters, the new
        threshold) to apply it.

        Parameters
        ----------
        labels : table or mapping
            ``account_id`` with a boolean ``is_ring`` or a ``kind`` column
            (``"ring"`` positive), or a mapping ``account_id -> bool``. Label
            both rings and honest accounts you know; the more benign ones, the
            finer the false-positive rate can be set.
        target_fpr : float, default 0.001
            Largest share of labelled benign accounts allowed to be flagged.

        Returns
        -------
        Calibration
            The adjusted detector, its threshold, and the FPR, precision and
            recall on ``labels``.

        Examples
        --------
        >>> from accountgraph import RingDetector
        >>> from accountgraph.synth import generate
        >>> ds = generate("tiny", seed=0)
        >>> cal = RingDetector().fit(ds.events, ds.accounts).calibrate(ds.labels, target_fpr=0.01)
        >>> cal.fpr <= 0.01
        True
        """
        if not hasattr(self, "result_"):
            raise NotFittedError("calibrate needs a fitted RingDetector; call fit(events, accounts) first.")
        from ._calibration import calibrate

        return calibrate(self, labels, target_fpr)

    def explain(self, cluster_id: int) -> RingExplanation:
        """Evidence for one cluster (see :meth:`DetectionResult.explain`)."""
        if not hasattr(self, "result_"):
            raise NotFittedError("This RingDetector is not fitted yet; call fit(events, accounts) first.")
        return self.result_.explain(cluster_id)

    def __repr__(self) -> str:
        defaults = self.__init__.__kwdefaults__  # type: ignore[misc]
        changed = {k: v for k, v in self.get_params(deep=False).items() if v is not defaults[k] and v != defaults[k]}
        if changed.get("pseudonymize") not in (None, False):
            changed["pseudonymize"] = "<key hidden>"  # a repr ends up in logs and notebooks
        return f"RingDetector({', '.join(f'{k}={v!r}' if k != 'pseudonymize' else f'{k}={v}' for k, v in changed.items())})"


def detect(
    events: TableLike,
    accounts: TableLike | None = None,
    *,
    seed: int = 0,
    threshold: float | None = DEFAULT_THRESHOLD,
    target_fpr: float = DEFAULT_TARGET_FPR,
    ingest: IngestParams | Mapping[str, Any] | None = None,
    templates: TemplateParams | Mapping[str, Any] | None = None,
    graph: GraphParams | Mapping[str, Any] | None = None,
    communities: CommunityParams | Mapping[str, Any] | None = None,
    scoring: ScoringParams | Mapping[str, Any] | None = None,
    evidence_clusters: int = 50,
    progress: bool | None = None,
    engine: str = "local",
    pseudonymize: bytes | str | bool | None = None,
    known_bad: Any = None,
) -> DetectionResult:
    """Find and rank coordinated rings of accounts in API events.

    Function twin of :class:`RingDetector` (``seed`` is its ``random_state``).

    Parameters
    ----------
    events : table-like
        See :meth:`RingDetector.fit`.
    accounts : table-like, optional
    seed : int, default 0
        Random seed (Leiden, sampled projection, MinHash). Same input and seed
        give identical output.
    threshold, target_fpr, ingest, templates, graph, communities, scoring, evidence_clusters, progress, engine, pseudonymize
        See :class:`RingDetector`.
    known_bad : collection of account ids, optional
        Confirmed-bad seed accounts (see :meth:`RingDetector.fit`).

    Returns
    -------
    DetectionResult

    Examples
    --------
    >>> import accountgraph
    >>> from accountgraph.synth import generate
    >>> ds = generate("tiny", seed=0)
    >>> res = accountgraph.detect(ds.events, ds.accounts, seed=0, graph={"max_pairs": 10**7})
    >>> bool(res.assignments["ring_score"].between(0, 1).all())
    True
    """
    det = RingDetector(
        threshold=threshold, target_fpr=target_fpr, ingest=ingest, templates=templates, graph=graph, communities=communities,
        scoring=scoring, evidence_clusters=evidence_clusters, random_state=seed, progress=progress, engine=engine,
        pseudonymize=pseudonymize,
    )
    return det.fit(events, accounts, known_bad=known_bad).result_
