"""Stage 2, templates: prompt-template families (MinHash LSH over word shingles).

Public: :func:`template_families` (what ``detect`` runs; ``result.templates`` is its
family table) and :func:`sample_per_account_window` (the per-account sample
``detect`` hashes). Interface for the pipeline: the family id of each event row.
"""

from ._params import TemplateParams
from ._families import TemplateFamilies, template_families
from ._sample import sample_per_account_window

__all__ = ["TemplateParams", "TemplateFamilies", "sample_per_account_window", "template_families"]
