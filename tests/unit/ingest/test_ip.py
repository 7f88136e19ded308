"""IP canonicalisation helpers (ingest/_ip.py)."""

from __future__ import annotations

import pyarrow as pa

from accountgraph.ingest._ip import ip_networks


def test_ip_network():
    got = ip_networks(pa.array(["1.2.3.4", "1.2.3.99", "2001:db8:aa:bb::1", None])).to_pylist()
    assert got == ["1.2.3.0/24", "1.2.3.0/24", "2001:db8:aa::/48", None]
