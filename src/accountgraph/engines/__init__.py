"""Execution engines behind one small interface (:class:`Engine`).

``local`` (:mod:`accountgraph.engines.local`) runs the stages in this process
with numpy, igraph and the compiled kernels. Further engines (Spark) plug in
here with the same :class:`PipelineConfig` in and result contract out.
"""

from __future__ import annotations

from .._exceptions import InvalidParameterError
from ._base import Engine, PipelineConfig

__all__ = ["Engine", "PipelineConfig", "get_engine", "ENGINES"]

#: Engine names :func:`get_engine` knows.
ENGINES = ("local", "spark")


def get_engine(name: str) -> Engine:
    """The engine called ``name``.

    Raises
    ------
    InvalidParameterError
        For an unknown name.
    EngineUnavailableError
        For ``"spark"`` without pyspark installed.
    """
    if name == "local":
        from .local import LocalEngine

        return LocalEngine()
    if name == "spark":
        from .spark import SparkEngine  # raises EngineUnavailableError (with the install hint) without pyspark

        return SparkEngine()
    raise InvalidParameterError(f"The 'engine' parameter must be one of {list(ENGINES)}. Got {name!r} instead.")
