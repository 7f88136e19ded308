"""A detection result with every identifier replaced by its keyed pseudonym.

Part of stage 7 (views). :func:`pseudonymize_tables` maps the result's tables
(assignments, cluster signals, incidences, per-event evidence, quarantined
rows) through a :class:`~._pseudonym.Pseudonymizer`; every view (dossiers,
report, plots, exports) reads those tables, so every output is pseudonymised
without a renderer knowing. Cluster ids, scores and flags are untouched.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd

from ._deferred import Deferred
from ._pseudonym import WITHHELD, Pseudonymizer

__all__ = ["pseudonymize_tables", "pseudonymize_quarantine", "withhold_prompts"]

#: Input columns of quarantined rows shown as they are: times, counts and model names carry no identity.
_PLAIN = {"table", "row", "reason", "timestamp", "created_at", "output_tokens", "model"}
_KINDS = {"account_id": "account", "ip": "ip", "device_id": "device", "payment_id": "payment",
          "email_domain": "email_domain", "phone_prefix": "phone_prefix"}


def _templates(t: pd.DataFrame) -> pd.DataFrame:
    if t is None or t.empty or "representative" not in t.columns:
        return t
    t = t.copy()
    t["representative"] = t["representative"].map(lambda v: None if v is None else WITHHELD).astype(object)
    return t


def withhold_prompts(result: Any) -> Any:
    """The same result with every prompt text (template representatives) replaced by a placeholder."""
    def withheld(name: str) -> Any:  # a table still on disk stays there: it is withheld when read
        raw = object.__getattribute__(result, name)
        return raw.then(_templates) if isinstance(raw, Deferred) else _templates(raw)

    return replace(result, templates=withheld("templates"), _cluster_templates=withheld("_cluster_templates"),
                   _incidence=object.__getattribute__(result, "_incidence"),  # as stored: not built here
                   _include_prompts=False)


def _deferred_accounts(raw: Any, p: Pseudonymizer) -> Any:
    """:func:`_accounts` of a table, or a deferred one when the table is not built yet."""
    return raw.then(lambda t: _accounts(t, p)) if isinstance(raw, Deferred) else _accounts(raw, p)


def _accounts(df: pd.DataFrame, p: Pseudonymizer, cols: tuple[str, ...] = ("account_id",),
              sort: list[str] | None = None) -> pd.DataFrame:
    if df is None or not isinstance(df, pd.DataFrame):
        return df
    df = df.copy()
    for c in cols:
        if c in df.columns:
            df[c] = p.column(df[c], "account")
    if sort and len(df):
        df = df.sort_values(sort, kind="stable").reset_index(drop=True)
    return df


def pseudonymize_tables(result: Any, p: Pseudonymizer, *, include_prompts: bool = False) -> Any:
    """A copy of ``result`` whose identifiers are pseudonyms (see the module docstring).

    Tables documented as sorted by account id are sorted again by pseudonym.
    Template families keep their numbers (internal to the run). Prompts are
    withheld unless ``include_prompts``.
    """
    cs = result.cluster_signals.copy()
    if len(cs):
        cs["value"] = p.signal_values(cs["signal_type"], cs["value"]).to_numpy()
    ev = dict(result.evidence or {})
    if "events" in ev:
        ev["events"] = _accounts(ev["events"], p, sort=["cluster_id", "account_id", "timestamp"])
    if "accounts" in ev:
        ev["accounts"] = _accounts(ev["accounts"], p, sort=["cluster_id", "account_id"])
    if "edges" in ev:
        ev["edges"] = _accounts(ev["edges"], p, ("source", "target"), sort=["cluster_id", "source", "target"])
    out = replace(
        result,
        assignments=_accounts(result.assignments, p, sort=["account_id"]),
        cluster_signals=cs,
        evidence=ev,
        _incidence=_deferred_accounts(object.__getattribute__(result, "_incidence"), p),
        _pseudonymizer=p,
        _include_prompts=True,
        # passed as stored: ``replace`` would read (and so compute) a deferred table
        templates=object.__getattribute__(result, "templates"),
        _cluster_templates=object.__getattribute__(result, "_cluster_templates"),
    )
    return out if include_prompts else withhold_prompts(out)


def pseudonymize_quarantine(rows: pd.DataFrame, p: Pseudonymizer, columns: dict[str, str] | None,
                            *, include_prompts: bool) -> pd.DataFrame:
    """Quarantined input rows with identifiers pseudonymised and, unless asked, prompts withheld.

    ``columns`` maps canonical names to the user's (the ingest column map), so
    a renamed identifier column is still recognised. Any column that is not a
    time, a count or a model name is hashed (as ``x:<column>``) rather than
    shown: a quarantined row may hold anything.
    """
    user_to_canon = {v: k for k, v in (columns or {}).items()}
    rows = rows.copy()
    for c in rows.columns:
        canon = user_to_canon.get(c, c)
        if canon in _PLAIN:
            continue
        if canon == "prompt":
            if not include_prompts:
                rows[c] = rows[c].map(lambda v: None if v is None else WITHHELD).astype(object)
            continue
        kind = _KINDS.get(canon, f"x:{canon}")
        uniq = pd.unique(rows[c].dropna())
        # Raw input: canonicalise as ingest would (a malformed IP is hashed as its trimmed text).
        rows[c] = rows[c].map(dict(zip(uniq, p.values(uniq, kind, canonical=False)))).astype(object)
    return rows
