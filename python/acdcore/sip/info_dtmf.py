"""DTMF digits carried in SIP INFO bodies (the de facto formats, no RFC of their own).

`application/dtmf-relay` holds `Signal=5` and `Duration=160` lines; `application/dtmf` holds
the digit alone. Digits are 0-9, *, # and A-D; anything else is a ValueError naming it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from acdcore._core import SipMessage

from .dialog import DialogKey, dialog_key_at_uas
from .transaction import ServerTransaction

CONTENT_TYPES = ("application/dtmf-relay", "application/dtmf")
_DIGITS = frozenset("0123456789*#ABCD")


class UnsupportedBody(ValueError):
    """An INFO body of a type we do not read (415 Unsupported Media Type)."""


def info_digit(request: SipMessage) -> str:
    """The digit an INFO request carries."""
    kind = (request.content_type or "").split(";")[0].strip().lower()
    text = request.body.decode("utf-8", errors="replace")
    if kind == "application/dtmf-relay":
        fields = {}
        for line in text.splitlines():
            name, sep, value = line.partition("=")
            if sep:
                fields[name.strip().lower()] = value.strip()
        if "signal" not in fields:
            raise ValueError("dtmf-relay body without a Signal line")
        digit = fields["signal"]
    elif kind == "application/dtmf":
        digit = text.strip()
    else:
        raise UnsupportedBody(f"INFO body of type {kind or 'none'!r}: expected dtmf-relay or dtmf")
    digit = digit.upper()
    if digit not in _DIGITS:
        raise ValueError(f"bad DTMF digit {digit!r}: expected 0-9, *, # or A-D")
    return digit


def answer_info(txn: ServerTransaction, request: SipMessage) -> str | None:
    """Answers an in-dialog INFO: 200 and its digit, or 415 / 400 naming the problem and None."""
    try:
        digit = info_digit(request)
    except UnsupportedBody:
        txn.respond(request.reply(415, headers=[("Accept", ", ".join(CONTENT_TYPES))]))
        return None
    except ValueError as e:
        txn.respond(request.reply(400, str(e)[:120]))
        return None
    txn.respond(request.reply(200))
    return digit


def info_handler(
    dialogs: Mapping[DialogKey, object], on_digit: Callable[[DialogKey, str], None]
) -> Callable[[ServerTransaction, SipMessage], None]:
    """An INFO handler for a `Uas` (`uas.handlers["INFO"] = info_handler(uas.dialogs, f)`):
    digits of known dialogs go to `on_digit` in arrival order, others get 481."""

    def handle(txn: ServerTransaction, request: SipMessage) -> None:
        key = dialog_key_at_uas(request)
        if key not in dialogs:
            txn.respond(request.reply(481))
            return
        digit = answer_info(txn, request)
        if digit is not None:
            on_digit(key, digit)

    return handle
