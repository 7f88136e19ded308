"""From raw API events to an analyst's report of the rings.

Runs in seconds: a synthetic world with planted rings, detection, the top
rings, the dossier of the strongest one, an HTML report and a GraphML export.
Run it as a script or cell by cell (``# %%``) in an editor.
"""

# %% Generate a small synthetic world (events + accounts) with planted rings
import tempfile
from pathlib import Path

import accountgraph
from accountgraph.synth import generate

ds = generate("small", seed=0)
print(f"{ds.events.num_rows:,} events from {ds.accounts.num_rows:,} accounts")

# %% Detect and rank rings
result = accountgraph.detect(ds.events, ds.accounts, seed=0)
print(result.summary(5))
result.top(5)

# %% Why is the top ring a ring? Its dossier
top_ring = result.explain(0)
print(top_ring)
top_ring.contributions  # sums to the ring_score
top_ring.signals.head(10)  # shared signals: accounts in the ring vs outside it
top_ring.bridges  # accounts joining the ring's sub-groups

# %% Plots (in a notebook they show inline)
import matplotlib

matplotlib.use("Agg")  # headless here; drop this line in a notebook
result.plot(top=10)
fig = top_ring.plot()

# %% A self-contained HTML report and a GraphML file for Gephi
out = Path(tempfile.mkdtemp(prefix="accountgraph-"))
report = result.report(out / "rings.html", top=3)
graphml = result.to_graphml(out / "ring0.graphml", cluster_id=0)
print(f"report: {report} ({report.stat().st_size / 1e6:.1f} MB)\ngraph:  {graphml}")
