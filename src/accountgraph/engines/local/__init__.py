"""The local engine: the stages run in this process."""

from ._pipeline import LocalEngine, run_pipeline

__all__ = ["LocalEngine", "run_pipeline"]
