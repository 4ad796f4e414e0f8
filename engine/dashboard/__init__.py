"""``learnexport dashboard``: the user's own view of their learning data (local, raw).

``model.build`` computes the figures from a collected document; ``text.render`` draws
them as rich tables with sparklines for an 80-column terminal, ``html.render`` as one
self-contained HTML page with inline SVG charts, and ``model.to_dict`` gives the JSON.
"""

from __future__ import annotations

from .figures import Dashboard
from .model import DASHBOARD_VERSION, build, to_dict

__all__ = ["DASHBOARD_VERSION", "Dashboard", "build", "to_dict"]
