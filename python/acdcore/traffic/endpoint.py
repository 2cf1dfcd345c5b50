"""A SIP user agent's socket: one UDP port, a transaction layer, a `Uac` for the calls it
places and a hook for the requests that open something new (an INVITE to a phone).

Generated traffic runs many of these in one process, so each is small: requests in a dialog
the `Uac` knows go to it, the rest to `on_request`; nothing is polled.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from acdcore._core import SipMessage
from acdcore.media.wav import RATE, Samples
from acdcore.sip.transaction import ServerTransaction, Timers, TransactionLayer, open_transactions
from acdcore.sip.transport import Addr, SipEndpoint
from acdcore.sip.uac import Uac

NewRequest = Callable[[ServerTransaction, SipMessage], None]


class UaEndpoint:
    """The transaction user of one UDP port; open with `open_endpoint`. `incoming` serves
    requests outside the `Uac`'s dialogs, `acked` sees every ACK."""

    def __init__(self) -> None:
        self.incoming: NewRequest | None = None
        self.acked: Callable[[SipMessage], None] | None = None
        self.transport: SipEndpoint | None = None
        self._layer: TransactionLayer | None = None
        self._uac: Uac | None = None

    @property
    def layer(self) -> TransactionLayer:
        if self._layer is None:
            raise RuntimeError("the endpoint is not open")
        return self._layer

    @property
    def uac(self) -> Uac:
        if self._uac is None:
            raise RuntimeError("the endpoint is not open")
        return self._uac

    @property
    def local(self) -> Addr:
        return self.uac.local

    # TransactionUser.

    def on_request(self, txn: ServerTransaction, request: SipMessage) -> None:
        if self._uac is not None and self._uac.on_request(txn, request):
            return
        if self.incoming is not None:
            self.incoming(txn, request)
        elif request.method == "OPTIONS":
            txn.respond(request.reply(200))
        else:
            txn.respond(request.reply(481 if request.method in ("BYE", "CANCEL") else 405))

    def on_ack(self, request: SipMessage, source: Addr) -> None:
        if self.acked is not None:
            self.acked(request)

    def on_timeout(self, txn: ServerTransaction) -> None:
        pass  # a 2xx never acknowledged: the phone's talk timer still ends the call

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None


async def open_endpoint(host: str = "127.0.0.1", timers: Timers | None = None) -> UaEndpoint:
    """A `UaEndpoint` on a free UDP port of `host`."""
    endpoint = UaEndpoint()
    transport, layer = await open_transactions(endpoint, host, 0, timers)
    endpoint.transport = transport
    endpoint._layer = layer
    endpoint._uac = Uac(layer, transport.local_address)
    return endpoint


def tone(frequency: float, seconds: float = 1.0, level: float = 6000.0) -> Samples:
    """A sine of a whole number of cycles over `seconds`, so it loops without a click."""
    n = round(seconds * RATE)
    cycles = max(1, round(frequency * seconds))
    t = np.arange(n) / n
    return np.round(level * np.sin(2 * np.pi * cycles * t)).astype(np.int16)
