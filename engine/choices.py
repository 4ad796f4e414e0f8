"""The names the command line offers as choices, in one light module.

The commands build their options from these when the program starts; the modules that
give them meaning (``sample``, ``exporter``, ``versions``, ``fleet``) take them from
here, so that starting ``learnexport apply`` does not import the export, sample and
fleet libraries just to list a ``--size`` or ``--exclude`` choice.
"""

from __future__ import annotations

SAMPLE_SIZES: tuple[str, ...] = ("small", "typical", "large")
SECTIONS: tuple[str, ...] = ("capability_metrics", "pattern_statistics",
                             "learning_effectiveness", "usage_patterns", "task_outcomes")
VERSIONS: tuple[str, ...] = ("1.0", "1.1")
DEFAULT_MIN_PROJECTS = 5
