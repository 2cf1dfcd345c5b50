"""re-INVITE in a dialog the UAS answered itself: hold and resume (RFC 3264 sections 6 and 8).

The answer mirrors the offer's direction (sendonly -> recvonly, inactive -> inactive,
recvonly -> sendonly, sendrecv -> sendrecv; the Rust `sdp_answer` does the mapping) and
carries a session version one above our previous SDP, as section 8 asks of a changed
session. An offer we cannot accept gets 488 and leaves the session as it was (8.4).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from acdcore._core import NotAcceptableError, SipMessage, SipParseError, sdp_answer

from .transaction import ServerTransaction

if TYPE_CHECKING:
    from .uas import Dialog, Uas


def answer_reinvite(uas: Uas, txn: ServerTransaction, request: SipMessage, dialog: Dialog) -> None:
    if request.cseq[0] <= dialog.remote_cseq:
        txn.respond(
            request.reply(500, "CSeq not above the last one", headers=[("Retry-After", "1")])
        )
        return
    dialog.remote_cseq = request.cseq[0]
    if not request.body:
        # An offerless re-INVITE would need our offer in the 200 and the answer in the ACK.
        txn.respond(request.reply(488, "re-INVITE without an SDP offer is not supported"))
        return
    try:
        answer = sdp_answer(
            request.body,
            uas.media_address,
            uas.rtp_port,
            uas.codecs,
            session_version=dialog.sdp_version + 1,
        )
    except (NotAcceptableError, SipParseError) as e:
        txn.respond(request.reply(488, headers=[("Warning", f'399 acdcore "{str(e)[:100]}"')]))
        return
    dialog.sdp_version += 1
    dialog.direction = answer.direction
    dialog.codec = answer.codec
    txn.respond(
        request.reply(
            200,
            headers=[("Contact", f"<sip:acd@{uas.media_address}>")],
            body=answer.sdp,
            content_type="application/sdp",
        )
    )
