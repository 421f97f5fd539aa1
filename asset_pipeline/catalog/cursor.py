"""Opaque, integrity-checked keyset cursors for the read path.

A cursor is ``base64url(json payload) "." base64url(hmac)``. The payload holds the keyset position
of the last row of a page and a fingerprint of the query it belongs to (what is listed and with
which filters), so a cursor edited by hand, or reused with other filters, is refused instead of
silently returning the wrong page. Cursors are *integrity-checked, not secret*: anyone can decode
the payload. The HMAC key comes from ``ASSET_PIPELINE_CURSOR_SECRET`` (read on each call, never at
import) or a fixed default; set the variable so cursors cannot be forged, and keep it the same on
every API process so a cursor from one is accepted by the others.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from datetime import UTC, datetime
from typing import Any

from asset_pipeline.catalog.read_errors import InvalidCursor

SECRET_ENV = "ASSET_PIPELINE_CURSOR_SECRET"
_DEFAULT_SECRET = b"asset_pipeline read path cursor v1"
_MAC_BYTES = 16
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _secret() -> bytes:
    raw = os.environ.get(SECRET_ENV)
    return raw.encode() if raw else _DEFAULT_SECRET


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def scope_of(kind: str, params: dict[str, Any]) -> str:
    """A short fingerprint of what a cursor pages through: the listing and its filters."""
    text = json.dumps([kind, params], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def to_micros(moment: datetime) -> int:
    """Microseconds since the epoch; a naive datetime (SQLite) is UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(micros: int) -> datetime:
    """The aware UTC datetime of ``to_micros``; exact to the microsecond both databases keep."""
    seconds, rest = divmod(micros, 1_000_000)
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=rest)


def encode_cursor(position: list[Any], scope: str) -> str:
    """A cursor for the keyset ``position`` (JSON values) within ``scope``."""
    payload = json.dumps({"k": position, "s": scope}, separators=(",", ":")).encode()
    mac = hmac.new(_secret(), payload, hashlib.sha256).digest()[:_MAC_BYTES]
    return f"{_b64(payload)}.{_b64(mac)}"


def decode_cursor(cursor: str, scope: str) -> list[Any]:
    """The keyset position in ``cursor``.

    Raises:
        InvalidCursor: the cursor was altered, is malformed, or was made for another scope
            (other filters, another listing).
    """
    body, _, sig = cursor.partition(".")
    try:
        payload, mac = _unb64(body), _unb64(sig)
    except (binascii.Error, ValueError):
        raise InvalidCursor("cursor is malformed") from None
    expected = hmac.new(_secret(), payload, hashlib.sha256).digest()[:_MAC_BYTES]
    if not sig or not hmac.compare_digest(mac, expected):
        raise InvalidCursor("cursor is invalid (altered, or made by another server)")
    data = json.loads(payload)
    if data.get("s") != scope:
        raise InvalidCursor(
            "cursor belongs to another query: use it with the same filters that produced it"
        )
    position = data.get("k")
    if not isinstance(position, list):
        raise InvalidCursor("cursor is malformed")
    return position
