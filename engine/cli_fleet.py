"""Maintainer and sharing commands: dashboard, submit, verify, aggregate."""

from __future__ import annotations
