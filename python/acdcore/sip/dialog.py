"""One side of a call as a dialog we send requests in (RFC 3261 section 12.2.1).

Both B2BUA legs use it: the caller's (we are its UAS) and the agent's (we are its UAC). The
remote target is the peer's Contact; requests go to the address the peer's messages came
from (symmetric signaling, as the UAS answers). A proxy in front that Record-Routes gets its
route set honoured (12.1.1, 12.1.2): in-dialog requests carry Route headers, loose routing
(`;lr`) keeps the remote target as Request-URI, a strict router gets it last in Route
(12.2.1.1). The datagrams still go to `dest`, the proxy the dialog came through.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

from acdcore._core import NameAddr, SipMessage, SipParseError

from .transaction import new_branch
from .transport import Addr

DialogKey = tuple[str, str, str]
"""(Call-ID, local tag, remote tag)."""


def new_tag() -> str:
    return secrets.token_hex(5)


@dataclass
class Leg:
    """Dialog state for sending in-dialog requests and matching the peer's."""

    call_id: str
    local_tag: str
    remote_tag: str
    local_uri: str
    remote_uri: str
    remote_target: str
    dest: Addr
    local: Addr
    cseq: int
    state: str = "early"  # early -> confirmed -> ended
    route_set: list[NameAddr] = field(default_factory=list)
    transport: str = "UDP"  # what our Via and Contact name: UDP or TCP

    @property
    def key(self) -> DialogKey:
        return (self.call_id, self.local_tag, self.remote_tag)

    @staticmethod
    def from_request(request: SipMessage, local_tag: str, source: Addr, local: Addr) -> Leg:
        """The UAS side of a dialog created by `request` (12.1.1)."""
        contacts = request.contacts()
        return Leg(
            call_id=request.call_id,
            local_tag=local_tag,
            remote_tag=request.from_.tag or "",
            local_uri=request.to.uri.text,
            remote_uri=request.from_.uri.text,
            remote_target=contacts[0].uri.text if contacts else request.from_.uri.text,
            dest=source,
            local=local,
            cseq=0,
            route_set=_record_routes(request),  # in order at the UAS (12.1.1)
        )

    def take_routes(self, response: SipMessage) -> None:
        """The route set of a dialog we created (UAC): the 2xx's Record-Route reversed."""
        self.route_set = _record_routes(response)[::-1]

    def request(
        self,
        method: str,
        body: bytes = b"",
        content_type: str | None = None,
        headers: Sequence[tuple[str, str]] = (),
        cseq: int | None = None,
    ) -> SipMessage:
        """A request in this dialog; a new CSeq unless one is given (ACK, CANCEL reuse theirs)."""
        if cseq is None:
            self.cseq += 1
            cseq = self.cseq
        host, port = self.local
        all_headers = [
            ("Via", f"SIP/2.0/{self.transport} {host}:{port};branch={new_branch()};rport"),
            ("Max-Forwards", "70"),
            ("From", f"<{self.local_uri}>;tag={self.local_tag}"),
            ("To", f"<{self.remote_uri}>" + (f";tag={self.remote_tag}" if self.remote_tag else "")),
            ("Call-ID", self.call_id),
            ("CSeq", f"{cseq} {method}"),
            ("Contact", f"<sip:acd@{host}:{port}{_uri_transport(self.transport)}>"),
            *headers,
        ]
        target = self.remote_target
        if self.route_set:
            routes = [r.text for r in self.route_set]
            first = self.route_set[0].uri
            if not any(name.lower() == "lr" for name, _ in first.params):
                # Strict router: it is the Request-URI, the remote target the last Route.
                routes = [*routes[1:], f"<{target}>"]
                target = first.text
            all_headers[1:1] = [("Route", r) for r in routes]
        return SipMessage.request(method, target, all_headers, body, content_type)


def _uri_transport(transport: str) -> str:
    return "" if transport == "UDP" else f";transport={transport.lower()}"


def _record_routes(message: SipMessage) -> list[NameAddr]:
    # A Record-Route we cannot parse is ignored: the peer is still reached at `dest`.
    try:
        return message.record_routes()
    except SipParseError:
        return []


def dialog_key_at_uas(request: SipMessage) -> DialogKey:
    """The key of the dialog an in-dialog request belongs to: our tag is in To."""
    return (request.call_id, request.to.tag or "", request.from_.tag or "")
