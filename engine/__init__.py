"""learnexport: export TappsCodingAgents learning data, anonymized by declarative policies.

The Python API (see docs/api.md)::

    learnexport.collect(project)                 # the raw collected document
    learnexport.apply(policy, document, key=...) # policy + schema check + leak check
    learnexport.export(project, **filters)       # the whole export, written
    learnexport.LearningDataExporter(project).export(path)

The API is imported on first use, so ``import learnexport`` (and the command's start)
stays light.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["ExportResult", "LearningDataExporter", "__version__", "apply", "collect", "export"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'learnexport' has no attribute {name!r}")
