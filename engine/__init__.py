"""learnexport: export TappsCodingAgents learning data, anonymized by declarative policies.

The Python API (see docs/api.md)::

    learnexport.collect(project)                 # the raw collected document
    learnexport.apply(policy, document, key=...) # policy + schema check + leak check
    learnexport.export(project, **filters)       # the whole export, written
    learnexport.LearningDataExporter(project).export(path)
"""

__version__ = "0.1.0"

from .api import ExportResult, LearningDataExporter, apply, collect, export  # noqa: E402

__all__ = ["ExportResult", "LearningDataExporter", "__version__", "apply", "collect", "export"]
