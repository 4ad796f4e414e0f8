"""Policy tooling commands: policy test, lint, explain, diff (see docs/auditing.md)."""

from __future__ import annotations
