"""One side of a call as a dialog we send requests in (RFC 3261 section 12.2.1).

Both B2BUA legs use it: the caller's (we are its UAS) and the agent's (we are its UAC). The
remote target is the peer's Contact; requests go to the address the peer's messages came
from (symmetric signaling, as the UAS answers). No route set: peers are reached directly.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from acdcore._core import SipMessage

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
        )

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
            ("Via", f"SIP/2.0/UDP {host}:{port};branch={new_branch()};rport"),
            ("Max-Forwards", "70"),
            ("From", f"<{self.local_uri}>;tag={self.local_tag}"),
            ("To", f"<{self.remote_uri}>" + (f";tag={self.remote_tag}" if self.remote_tag else "")),
            ("Call-ID", self.call_id),
            ("CSeq", f"{cseq} {method}"),
            ("Contact", f"<sip:acd@{host}:{port}>"),
            *headers,
        ]
        return SipMessage.request(method, self.remote_target, all_headers, body, content_type)


def dialog_key_at_uas(request: SipMessage) -> DialogKey:
    """The key of the dialog an in-dialog request belongs to: our tag is in To."""
    return (request.call_id, request.to.tag or "", request.from_.tag or "")
