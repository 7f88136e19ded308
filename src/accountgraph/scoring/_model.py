"""A small, inspectable ring model: L2-regularised logistic regression on cluster features.

The hand-weighted ring score was chosen on the scenarios it was reported on (issue 11).
This module is the seam for a scorer *fitted* on tuning worlds and shipped as a
versioned data file: a linear model on transformed features, so that every feature's
contribution to a cluster's log-odds is one number and the contributions add up to the
score. It is fitted with Newton's method (IRLS) in numpy: the problem has tens of
features and at most a few hundred thousand clusters, so a dependency such as
scikit-learn would add nothing but an import.

:class:`RingModel` is what :func:`~accountgraph.scoring.score_clusters` applies: a
logistic model over named, transformed cluster features, each assigned to an evidence
component, with the table of thresholds that met a range of benign false-positive
rates on the tuning worlds. The default is shipped as ``ring_model.json`` beside this
module and rebuilt by ``benchmarks/train_scorer.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._exceptions import InvalidParameterError
from .._unique import unique

__all__ = ["LogisticModel", "RingModel", "fit_logistic", "default_model", "load_model"]

#: Version of the JSON layout written by :meth:`LogisticModel.to_json`.
FORMAT_VERSION = 1
#: Version of the JSON layout written by :meth:`RingModel.to_json`.
RING_MODEL_VERSION = 2
#: Feature transforms a ring model may name.
TRANSFORMS = ("identity", "log2")


@dataclass(frozen=True)
class LogisticModel:
    """Logistic regression on standardised features, with per-feature contributions.

    Attributes
    ----------
    features : tuple of str
        Feature names, in column order.
    center, scale : numpy.ndarray
        Standardisation: ``z = clip((x - center) / scale, -clip, clip)``; a missing (NaN)
        feature gets ``z = 0``, i.e. contributes nothing.
    coef : numpy.ndarray
        One weight per standardised feature (log-odds per unit of ``z``).
    intercept : float
        Log-odds of a cluster whose every feature sits at its centre.
    clip : float
        Bound on ``|z|``, so one extreme feature cannot decide alone.
    meta : dict
        Free-form provenance (training command, worlds, revision).
    """

    features: tuple[str, ...]
    center: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    clip: float = 4.0
    meta: dict[str, Any] = field(default_factory=dict)

    def standardise(self, x: np.ndarray) -> np.ndarray:
        """Standardised, clipped features; NaN becomes 0 (no evidence either way)."""
        z = (np.asarray(x, dtype=np.float64) - self.center) / self.scale
        return np.nan_to_num(np.clip(z, -self.clip, self.clip), nan=0.0)

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """Per-row, per-feature log-odds contributions; ``intercept + rows sum`` is the logit."""
        return self.standardise(x) * self.coef

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        """Log-odds of being a ring, one per row of ``x``."""
        return self.intercept + self.contributions(x).sum(axis=1)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Probability of being a ring, one per row of ``x``."""
        return _sigmoid(self.decision_function(x))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable description (see :meth:`from_dict`)."""
        return {"format_version": FORMAT_VERSION, "features": list(self.features),
                "center": self.center.tolist(), "scale": self.scale.tolist(), "coef": self.coef.tolist(),
                "intercept": float(self.intercept), "clip": float(self.clip), "meta": self.meta}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LogisticModel:
        """Rebuild a model written by :meth:`to_dict`; refuse an unknown format version."""
        if d.get("format_version") != FORMAT_VERSION:
            raise InvalidParameterError(
                f"ring model format_version {d.get('format_version')!r} is not supported (expected "
                f"{FORMAT_VERSION}); retrain it with benchmarks/train_scorer.py")
        return cls(tuple(d["features"]), np.asarray(d["center"], float), np.asarray(d["scale"], float),
                   np.asarray(d["coef"], float), float(d["intercept"]), float(d["clip"]), dict(d.get("meta", {})))

    def to_json(self, path: str | Path) -> None:
        """Write the model as indented, key-sorted JSON (byte-stable for the same model)."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=1, sort_keys=True) + "\n")

    @classmethod
    def from_json(cls, path: str | Path) -> LogisticModel:
        """Read a model written by :meth:`to_json`."""
        return cls.from_dict(json.loads(Path(path).read_text()))


def _sigmoid(t: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(t, dtype=np.float64)))


def _robust_center_scale(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median and a quarter of the 5-95 % range per column (ignoring NaN), never 0.

    The range of all rows, not the interquartile range of the (mostly benign) majority: with a
    narrow scale every ring would sit at the clip and the features would act as switches.
    """
    center = np.nanmedian(x, axis=0)
    q05, q95 = np.nanpercentile(x, [5, 95], axis=0)
    scale = (q95 - q05) / 4.0
    fallback = np.nanstd(x, axis=0)
    scale = np.where(scale > 1e-9, scale, np.where(fallback > 1e-9, fallback, 1.0))
    return np.nan_to_num(center), np.nan_to_num(scale, nan=1.0)


def fit_logistic(x: np.ndarray, y: np.ndarray, *, features: tuple[str, ...] | list[str],
                 sample_weight: np.ndarray | None = None, l2: float = 1.0, clip: float = 4.0,
                 max_iter: int = 50, tol: float = 1e-8, meta: dict[str, Any] | None = None,
                 signs: np.ndarray | None = None, scale: np.ndarray | None = None) -> LogisticModel:
    """Fit an L2-regularised logistic regression by Newton's method (IRLS).

    Parameters
    ----------
    x : numpy.ndarray of shape (n, p)
        Raw features (NaN allowed: it standardises to 0).
    y : numpy.ndarray of shape (n,)
        1 for ring, 0 for benign.
    features : sequence of str
        The ``p`` feature names.
    sample_weight : numpy.ndarray of shape (n,), optional
        Row weights (e.g. to give every world the same total weight); normalised to mean 1.
    l2 : float, default 1.0
        Ridge penalty on the coefficients (not the intercept), in units of the total weight.
    clip : float, default 4.0
        Bound on the standardised features (see :class:`LogisticModel`).
    max_iter, tol : int, float
        Newton iterations and the stopping tolerance on the largest step.
    meta : dict, optional
        Provenance stored with the model.
    signs : numpy.ndarray of shape (p,), optional
        The known direction of each feature (+1: higher means ring, -1: lower means ring, 0:
        either). A coefficient fitted against its direction is set to 0 and the rest refitted,
        until none is: a monotone model, in which no feature can argue for a ring by being less
        ring-like (collinear features otherwise trade signs), and which transfers better.
    scale : numpy.ndarray of shape (p,), optional
        Fixed units per feature (e.g. a quarter of a share, one doubling of a ratio) instead of the
        data's spread: coefficients then read as log-odds per such unit, and a feature that is 0
        for most clusters is not blown up by a tiny spread. Centres stay the medians.

    Returns
    -------
    LogisticModel
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or len(x) != len(y) or x.shape[1] != len(features):
        raise InvalidParameterError(
            f"fit_logistic needs x of shape (n, {len(features)}) and y of length n; got {x.shape} and {y.shape}")
    if not np.isin(y, (0.0, 1.0)).all() or len(unique(y)) < 2:
        raise InvalidParameterError("fit_logistic needs labels 0 and 1, both present")
    w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    w = w / w.mean()
    center, spread = _robust_center_scale(x)
    scale = spread if scale is None else np.asarray(scale, dtype=np.float64)
    model = LogisticModel(tuple(features), center, scale, np.zeros(x.shape[1]), 0.0, clip)
    z = np.column_stack([np.ones(len(y)), model.standardise(x)])
    free = np.ones(z.shape[1], bool)
    sg = np.zeros(x.shape[1]) if signs is None else np.asarray(signs, dtype=np.float64)
    for _ in range(x.shape[1] + 1):
        beta = _newton(z, y, w, l2, free, max_iter, tol)
        wrong = np.flatnonzero(free[1:] & (sg * beta[1:] < 0)) + 1
        if not len(wrong):
            break
        free[wrong] = False
    return LogisticModel(tuple(features), center, scale, beta[1:].copy(), float(beta[0]), clip, dict(meta or {}))


def _newton(z: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float, free: np.ndarray, max_iter: int,
            tol: float) -> np.ndarray:
    """L2-penalised logistic regression (no penalty on column 0) over the ``free`` columns; others 0."""
    zf = z[:, free]
    beta = np.zeros(zf.shape[1])
    p0 = np.average(y, weights=w)
    beta[0] = np.log(p0 / (1 - p0))
    penalty = np.full(zf.shape[1], l2)
    penalty[0] = 0.0
    for _ in range(max_iter):
        p = _sigmoid(zf @ beta)
        grad = zf.T @ (w * (y - p)) - penalty * beta
        hess = (zf * (w * p * (1 - p))[:, None]).T @ zf + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hess, grad)
        beta += step
        if np.max(np.abs(step)) < tol:
            break
    out = np.zeros(z.shape[1])
    out[free] = beta
    return out


def _transform(x: np.ndarray, how: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if how == "log2":
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.log2(np.maximum(x, 1e-3))
    return x


@dataclass(frozen=True)
class RingModel:
    """A fitted ring scorer: which features, how transformed, which evidence component each feeds.

    Attributes
    ----------
    logistic : LogisticModel
        Coefficients over the *transformed* features, in the order of ``features``.
    transforms : tuple of str
        One of :data:`TRANSFORMS` per feature.
    components : tuple of str
        The evidence component (``timing``, ``templates``, ...) each feature's contribution adds to.
    thresholds : dict of float to float
        ``target benign FPR -> ring_score threshold`` measured on the tuning worlds (see ``meta``).
    """

    logistic: LogisticModel
    transforms: tuple[str, ...]
    components: tuple[str, ...]
    thresholds: dict[float, float]

    @property
    def features(self) -> tuple[str, ...]:
        return self.logistic.features

    def design(self, table: Any) -> np.ndarray:
        """The transformed feature matrix of a table with the model's feature columns (missing: NaN)."""
        cols = []
        for name, how in zip(self.features, self.transforms):
            v = table[name] if name in table else np.full(len(table), np.nan)
            cols.append(_transform(np.asarray(v, dtype=np.float64), how))
        return np.column_stack(cols) if cols else np.zeros((len(table), 0))

    def threshold_for(self, target_fpr: float) -> float:
        """The ring-score threshold for a target benign false-positive rate.

        Log-linear interpolation in the measured table; outside it, the nearest end.
        """
        keys = np.array(sorted(self.thresholds))
        vals = np.array([self.thresholds[k] for k in keys])
        if not len(keys):
            raise InvalidParameterError("this ring model has no threshold table; pass threshold= explicitly")
        t = float(np.interp(np.log(max(float(target_fpr), 1e-12)), np.log(keys), vals))
        return min(max(t, 0.0), 1.0)

    def to_dict(self) -> dict[str, Any]:
        d = self.logistic.to_dict()
        d.update(format_version=RING_MODEL_VERSION, transforms=list(self.transforms),
                 components=list(self.components),
                 thresholds={f"{k:g}": float(v) for k, v in sorted(self.thresholds.items())})
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RingModel:
        if d.get("format_version") != RING_MODEL_VERSION:
            raise InvalidParameterError(
                f"ring model format_version {d.get('format_version')!r} is not supported (expected "
                f"{RING_MODEL_VERSION}); retrain it with benchmarks/train_scorer.py")
        bad = [t for t in d["transforms"] if t not in TRANSFORMS]
        if bad or len(d["transforms"]) != len(d["features"]) or len(d["components"]) != len(d["features"]):
            raise InvalidParameterError(
                f"ring model: one transform (among {TRANSFORMS}) and one component per feature; got "
                f"{len(d['features'])} features, transforms {d['transforms']!r}, components {d['components']!r}")
        lg = LogisticModel.from_dict({**d, "format_version": FORMAT_VERSION})
        return cls(lg, tuple(d["transforms"]), tuple(d["components"]),
                   {float(k): float(v) for k, v in d.get("thresholds", {}).items()})

    def to_json(self, path: str | Path) -> None:
        """Write the model as indented, key-sorted JSON (byte-stable for the same model)."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=1, sort_keys=True) + "\n")

    @classmethod
    def from_json(cls, path: str | Path) -> RingModel:
        return cls.from_dict(json.loads(Path(path).read_text()))


_DEFAULT_PATH = Path(__file__).with_name("ring_model.json")


def load_model(model: RingModel | str | Path | dict[str, Any] | None) -> RingModel:
    """A :class:`RingModel` from itself, a JSON path, a dict, or ``None`` (the shipped default)."""
    if model is None:
        return default_model()
    if isinstance(model, RingModel):
        return model
    if isinstance(model, dict):
        return RingModel.from_dict(model)
    return RingModel.from_json(model)


_CACHE: dict[str, RingModel] = {}


def default_model() -> RingModel:
    """The ring model shipped with the package (``scoring/ring_model.json``), read once."""
    if "default" not in _CACHE:
        _CACHE["default"] = RingModel.from_json(_DEFAULT_PATH)
    return _CACHE["default"]
