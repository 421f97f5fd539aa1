"""Turn driver errors into the connector contract's errors, with every secret scrubbed out.

Drivers phrase the same failure differently; what matters to the pipeline is whether retrying can
help (the server is down, the connection dropped: :class:`TransientSourceError`) or not (wrong
password, unknown database: :class:`SourceError`). Unknown failures are permanent, so a run never
retries forever on something no retry fixes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy.exc import DBAPIError

from asset_pipeline.connectors.base import SourceError, TransientSourceError, scrub

#: Lower-case fragments of driver messages (psycopg2, PyMySQL, sqlite3) that retrying can fix.
_TRANSIENT = (
    "connection refused", "timeout expired", "timed out", "could not connect",
    "can't connect", "server closed the connection", "connection reset", "lost connection",
    "terminating connection", "the database system is starting up",
    "the database system is shutting down", "too many connections", "too many clients",
    "network is unreachable", "no route to host", "server has gone away", "database is locked",
)
#: Lower-case fragments that mean the role may not read something: a per-item failure.
_PERMISSION = ("permission denied", "access denied", "command denied", "insufficient privilege")


def driver_message(exc: BaseException) -> str:
    """The driver's own message on one line: no SQL statement, parameters or help links."""
    inner = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    text = str(inner).strip() or type(inner).__name__
    return re.sub(r"\s+", " ", text)


def is_transient(exc: BaseException) -> bool:
    """Whether retrying later could succeed: the server is unreachable or the link dropped."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, (TimeoutError, ConnectionError)):
        return True
    message = driver_message(exc).lower()
    return any(fragment in message for fragment in _TRANSIENT)


def is_permission_error(exc: BaseException) -> bool:
    """Whether ``exc`` says the connecting role may not read an object."""
    message = driver_message(exc).lower()
    return any(fragment in message for fragment in _PERMISSION)


def source_error(exc: BaseException, doing: str, secrets: Iterable[str]) -> SourceError:
    """A SourceError (or TransientSourceError) for ``exc``: '<doing>: <driver message>'.

    Raise it ``from None``: the driver's exception, whose text is not scrubbed, must not ride
    along as the cause into run logs.
    """
    cls = TransientSourceError if is_transient(exc) else SourceError
    return cls(scrub(f"{doing}: {driver_message(exc)}", secrets))
