"""The Spark engine: the pipeline as Spark jobs, for inputs one machine cannot hold.

Importing this package needs pyspark (``pip install 'accountgraph[spark]'``);
without it an :class:`~accountgraph.EngineUnavailableError` says so. Stages and
their Spark form (see ``docs/spark.md``):

==============  ==================================================================
validate        local validators per Arrow batch (``mapInArrow``); duplicates, repeated
                account ids and account codes as Spark jobs
templates       per-account sample (window function); signatures and band keys per batch
                with the compiled kernels (``mapInArrow``); families = components of
                shared band keys (large-star / small-star)
signals         incidence and global signal ids (one sort of the distinct values)
graph           per-degree weights and budget on the driver (a few thousand numbers),
                pairs by self-join and circulants per signal, link weights in the
                local summation order
communities     components (large-star / small-star), Leiden + detach per component
                (``applyInPandas``), attachment rounds as joins, canonical ids
score           :func:`accountgraph.scoring.score_clusters` per batch of clusters
                (``applyInPandas``; ``_score.py`` is the one call site)
views           assignments and cluster signals stay DataFrames; the top clusters'
                evidence is collected for dossiers and the report
==============  ==================================================================
"""

from ._session import INSTALL_HINT, require_pyspark

require_pyspark()

from ._pipeline import SparkEngine, run_spark  # noqa: E402
from ._result import SparkDetectionResult  # noqa: E402
from ._session import spark_session  # noqa: E402

__all__ = ["INSTALL_HINT", "SparkDetectionResult", "SparkEngine", "run_spark", "spark_session"]
