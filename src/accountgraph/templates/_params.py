"""Parameters of the template stage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .._validation import Boolean, Constraint, Interval, NoneOr, ParamsBase

__all__ = ["TemplateParams"]


@dataclass(frozen=True)
class TemplateParams(ParamsBase):
    """Prompt-template families (MinHash LSH over word shingles) and how they feed the graph.

    Parameters
    ----------
    enabled : bool, default True
        Derive template families from the ``prompt`` column as signals and evidence.
    similarity : float, default 0.5
        Jaccard similarity of shingle sets around which prompts share an LSH band.
    num_perm : int, default 64
        MinHash signature length.
    shingle_width : int, default 3
        Words per shingle (1: word tokens).
    sample_cap : int or None, default 4
        Hash at most this many prompts per account per window (the earliest in
        each window). Template evidence is a share of an account's prompts,
        which a sample estimates well; a ring account sending ~26 prompts a day
        is hashed 4 times a day. ``None`` hashes every prompt.
    sample_window_s : int, default 86400
        The sampling window, in seconds.
    batch_rows : int, default 65536
        Prompts per batch (bounds working memory).
    substantial_top : int, default 3
        Each account's at most this many largest families count as its
        "substantial" ones (template corroboration, see ``GraphParams``) ...
    substantial_share : float, default 0.15
        ... if each makes up at least this share of the account's prompts.
    """

    enabled: bool = True
    similarity: float = 0.5
    num_perm: int = 64
    shingle_width: int = 3
    sample_cap: int | None = 4
    sample_window_s: int = 86_400
    batch_rows: int = 65_536
    substantial_top: int = 3
    substantial_share: float = 0.15

    _constraints: ClassVar[dict[str, Constraint]] = {
        "enabled": Boolean(),
        "similarity": Interval(float, 0, 1, "neither"),
        "num_perm": Interval(int, 8, 1024),
        "shingle_width": Interval(int, 1, 16),
        "sample_cap": NoneOr(Interval(int, 1, None)),
        "sample_window_s": Interval(int, 1, None),
        "batch_rows": Interval(int, 1, None),
        "substantial_top": Interval(int, 1, 32),
        "substantial_share": Interval(float, 0, 1, "right"),
    }
