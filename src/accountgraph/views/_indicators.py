"""A ring's telling signals as shareable, keyed indicators: table, Parquet and a STIX 2.1 bundle.

Part of stage 7 (views). :meth:`DetectionResult.indicators` gives
:class:`RingIndicators`: for each signal the ring's accounts share (IPs, their
networks, cards, devices, e-mail domains, phone prefixes, extra signals; not
template families, which are numbers of this run only) its keyed hash (see
:func:`~._pseudonym.hash_indicator`), how many accounts of the ring and of the
whole input share it, the ring's events behind it, and when the ring's accounts
that share it were first and last seen. A partner holding the same key hashes
its own raw values and matches them, without either side seeing the other's.

The STIX bundle is written with the standard library and is deterministic:
ids are UUIDv5 over a fixed namespace and the hashed values, timestamps come
from the data, keys are sorted, so the same ring gives the same bytes.
"""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .._exceptions import InvalidParameterError
from ._incidence import cluster_incidence
from ._export import write_text
from ._pseudonym import Pseudonymizer

__all__ = ["RingIndicators", "ring_indicators", "STIX_NAMESPACE"]

#: Namespace of every STIX id accountgraph writes (UUIDv5 of a fixed URL).
STIX_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/accountgraph/accountgraph/stix")
_COLUMNS = ["signal_type", "indicator", "accounts_in_ring", "accounts_total", "events", "first_seen", "last_seen",
            "weight", "status"]


def _stix_time(ts: pd.Timestamp) -> str:
    ts = pd.Timestamp(ts).tz_convert("UTC")
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def _sid(kind: str, name: str) -> str:
    return f"{kind}--{uuid.uuid5(STIX_NAMESPACE, f'{kind}:{name}')}"


class RingIndicators:
    """The shareable indicators of one ring (see the module docstring).

    Attributes
    ----------
    cluster_id : int
    table : pandas.DataFrame
        ``signal_type``, ``indicator`` (keyed hash), ``accounts_in_ring``,
        ``accounts_total``, ``events`` (the ring's events with the signal; 0
        for an accounts-table attribute such as an e-mail domain),
        ``first_seen`` / ``last_seen`` (first and last event of the ring's
        accounts that share the signal: bounds of the signal's use by the
        ring; NaT when per-event evidence was not kept), ``weight`` (rarity),
        ``status``; most telling first.
    """

    def __init__(self, cluster_id: int, table: pd.DataFrame) -> None:
        self.cluster_id = int(cluster_id)
        self.table = table

    def __len__(self) -> int:
        return len(self.table)

    def __repr__(self) -> str:
        return f"RingIndicators(cluster {self.cluster_id}, {len(self.table)} indicators)"

    def to_pandas(self) -> pd.DataFrame:
        """The indicators table (a copy)."""
        return self.table.copy()

    def to_arrow(self) -> pa.Table:
        """The indicators table as Arrow."""
        return pa.Table.from_pandas(self.table, preserve_index=False)

    def to_parquet(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write the table as Parquet (atomically; refuses to replace a file unless ``overwrite``)."""
        import pyarrow.parquet as pq

        p = Path(path)
        if p.is_dir() or (p.exists() and not overwrite):
            write_text(p, "", overwrite=False, what="indicators Parquet")  # raises the usual error
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
        os.close(fd)
        try:
            pq.write_table(self.to_arrow(), tmp)
            os.replace(tmp, p)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return p

    def to_stix(self) -> dict[str, Any]:
        """A STIX 2.1 bundle: an ``identity`` (accountgraph), one ``indicator`` per signal and a ``grouping``.

        Each indicator's pattern is ``[x-accountgraph-signal:hmac = '<hash>']``
        (a custom observable, STIX 2.1 ``x-`` convention); counts travel as
        ``x_accountgraph_*`` custom properties. ``valid_from`` is the signal's
        first seen, ``created`` / ``modified`` the ring's last seen.

        Raises
        ------
        InvalidParameterError
            Per-event evidence (first / last seen) was not kept for the ring.
        """
        t = self.table
        if len(t) and (t["first_seen"].isna().any() or t["last_seen"].isna().any()):
            raise InvalidParameterError(
                f"Cluster {self.cluster_id} has no first/last-seen times (its per-event evidence was not kept); "
                "re-run detect(..., evidence_clusters=N) with N at least its rank to export STIX.")
        stamp = _stix_time(t["last_seen"].max()) if len(t) else "1970-01-01T00:00:00.000Z"
        ident = {"type": "identity", "spec_version": "2.1", "id": _sid("identity", "accountgraph"),
                 "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
                 "name": "accountgraph", "identity_class": "system"}
        objects: list[dict[str, Any]] = [ident]
        for r in t.itertuples(index=False):
            objects.append({
                "type": "indicator", "spec_version": "2.1", "id": _sid("indicator", r.indicator),
                "created": stamp, "modified": stamp, "created_by_ref": ident["id"],
                "name": f"accountgraph {r.signal_type} signal shared by a coordinated ring",
                "indicator_types": ["anomalous-activity"],
                "pattern": f"[x-accountgraph-signal:hmac = '{r.indicator}']", "pattern_type": "stix",
                "valid_from": _stix_time(r.first_seen),
                "x_accountgraph_signal_type": str(r.signal_type),
                "x_accountgraph_accounts_in_ring": int(r.accounts_in_ring),
                "x_accountgraph_accounts_total": int(r.accounts_total),
                "x_accountgraph_events": int(r.events),
                "x_accountgraph_last_seen": _stix_time(r.last_seen),
                "x_accountgraph_weight": round(float(r.weight), 6),
            })
        refs = [o["id"] for o in objects[1:]]
        group = {"type": "grouping", "spec_version": "2.1", "id": _sid("grouping", ",".join(sorted(refs))),
                 "created": stamp, "modified": stamp, "created_by_ref": ident["id"],
                 "name": "accountgraph coordinated account ring", "context": "suspicious-activity",
                 "object_refs": refs or [ident["id"]]}
        objects.append(group)
        return {"type": "bundle", "id": _sid("bundle", group["id"]), "objects": objects}

    def write_stix(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write :meth:`to_stix` as JSON (sorted keys, so the same ring gives the same bytes)."""
        text = json.dumps(self.to_stix(), indent=2, sort_keys=True, ensure_ascii=True) + "\n"
        return write_text(path, text, overwrite=overwrite, what="STIX bundle")


def ring_indicators(result: Any, cluster_id: int, p: Pseudonymizer) -> RingIndicators:
    """Build :class:`RingIndicators` for one cluster of ``result`` hashed with ``p``.

    If ``result`` is already pseudonymised its values are tokens of its own key,
    and ``p`` must hold that key.
    """
    if not (result.clusters["cluster_id"] == cluster_id).any():
        raise InvalidParameterError(
            f"There is no cluster {cluster_id!r}; cluster ids run from 0 to {len(result.clusters) - 1}.")
    own = getattr(result, "_pseudonymizer", None)
    if own is not None and own.key != p.key:
        raise InvalidParameterError(
            "This result is pseudonymised with another key; its raw values are gone, so it cannot be hashed with "
            "this key. Call indicators() on the raw result, or pass the key it was pseudonymised with.")
    cs = result.cluster_signals
    cs = cs[(cs["cluster_id"] == cluster_id) & (cs["signal_type"] != "template")].reset_index(drop=True)
    inc = cluster_incidence(result, cluster_id)
    ev_acc = (result.evidence or {}).get("accounts")
    if ev_acc is not None and len(ev_acc):
        span = ev_acc.loc[ev_acc["cluster_id"] == cluster_id, ["account_id", "first_seen", "last_seen"]]
        inc = inc.merge(span, on="account_id", how="left")
    else:
        inc = inc.assign(first_seen=pd.NaT, last_seen=pd.NaT)
    per = inc.groupby("signal_id").agg(events=("n_events", "sum"), first_seen=("first_seen", "min"),
                                       last_seen=("last_seen", "max"))
    per = per.reindex(cs["signal_id"])
    # Account attributes have no events: their incidences count 1 per account, not events.
    account_only = cs["signal_type"].isin(["email_domain", "phone_prefix"]).to_numpy()
    events = np.where(account_only, 0, per["events"].fillna(0).to_numpy()).astype(np.int64)
    values = cs["value"] if own is not None else p.signal_values(cs["signal_type"], cs["value"])
    table = pd.DataFrame({
        "signal_type": cs["signal_type"].astype(object).to_numpy(),
        "indicator": values.astype(object).to_numpy(),
        "accounts_in_ring": cs["accounts_in_cluster"].astype(np.int64).to_numpy(),
        "accounts_total": cs["accounts_total"].astype(np.int64).to_numpy(),
        "events": events,
        "first_seen": pd.to_datetime(per["first_seen"].to_numpy(), utc=True),
        "last_seen": pd.to_datetime(per["last_seen"].to_numpy(), utc=True),
        "weight": cs["weight"].astype(np.float64).to_numpy(),
        "status": cs["status"].astype(object).to_numpy(),
    }, columns=_COLUMNS)
    return RingIndicators(cluster_id, table)
