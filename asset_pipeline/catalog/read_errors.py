"""Errors of the read path. Callers map them to answers: bad input (400), not found (404)."""

from __future__ import annotations


class InvalidQuery(ValueError):
    """A parameter of a read-path call that cannot be served; the message says which and why."""


class InvalidCursor(InvalidQuery):
    """A cursor that was altered, is malformed, or belongs to another query."""


class AssetNotFound(LookupError):
    """No asset with that id, or that connector and qualified name."""
