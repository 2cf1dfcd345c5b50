"""`acdcore sip-uas`: run the minimal UAS on a port, for SIPp and manual tests."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
import time
from typing import Any

from acdcore.media.calls import CallMedia
from acdcore.media.options import add_media_arguments, media_from_arguments
from acdcore.sip.transaction import Timers
from acdcore.sip.uas import Uas, serve_uas


def register(sub: Any) -> None:
    p = sub.add_parser("sip-uas", help="answer SIP calls (OPTIONS, INVITE, BYE, CANCEL) on a port")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=5060, help="port to bind (default 5060, 0: any)")
    p.add_argument("--transport", choices=("udp", "tcp", "both"), default="udp")
    p.add_argument("--ring-delay", type=float, default=0.0, help="seconds from 100 to 180")
    p.add_argument("--answer-delay", type=float, default=0.0, help="seconds from 180 to 200")
    p.add_argument("--rtp-port", type=int, default=40000, help="port named in the SDP answer")
    p.add_argument("--t1", type=float, default=0.5, help="timer T1 in seconds (RFC 3261)")
    p.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    add_media_arguments(p)
    p.set_defaults(func=_run)


def _fail(message: str) -> int:
    print(f"acdcore sip-uas: {message}", file=sys.stderr)
    return 2


def _run(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        return _fail(f"--port must be 0..65535, got {args.port}")
    if not 1 <= args.rtp_port <= 65535:
        return _fail(f"--rtp-port must be 1..65535, got {args.rtp_port}")
    if args.duration is not None and not args.duration > 0:
        return _fail(f"--duration must be positive, got {args.duration}")
    try:
        timers = Timers(t1=args.t1, t2=max(4.0, args.t1))
        media = media_from_arguments(args)
        uas = Uas(args.host, args.rtp_port, args.ring_delay, args.answer_delay, media=media)
    except ValueError as e:
        return _fail(str(e))
    try:
        stats = asyncio.run(_serve(uas, args, timers, media))
    except OSError as e:
        return _fail(f"cannot bind {args.host}:{args.port}: {e.strerror or e}")
    except KeyboardInterrupt:
        return 0
    print(json.dumps(stats, sort_keys=True))
    return 0


async def _serve(
    uas: Uas, args: argparse.Namespace, timers: Timers, media: CallMedia | None
) -> dict[str, Any]:
    kinds = ("udp", "tcp") if args.transport == "both" else (args.transport,)
    servers = []
    cpu = time.process_time()  # CPU spent serving, without interpreter start-up
    try:
        for kind in kinds:
            server = await serve_uas(uas, args.host, args.port, timers, transport=kind)
            servers.append(server)
            host, port = server.address
            print(f"listening on {kind} {host}:{port}", file=sys.stderr, flush=True)
        if args.duration is None:
            await asyncio.Event().wait()  # until Ctrl-C
        await asyncio.sleep(args.duration)
    finally:
        for server in servers:
            server.close()
        if media is not None:
            media.close()
    return {
        "cpu_seconds": round(time.process_time() - cpu, 3),
        "uas": dataclasses.asdict(uas.stats),
        "dialogs": len(uas.dialogs),
        **({} if media is None else {"media": media.summary()}),
        **{
            kind: {
                "transport": dataclasses.asdict(s.protocol.stats),
                "transactions": dataclasses.asdict(s.layer.stats),
            }
            for kind, s in zip(kinds, servers, strict=True)
        },
    }
