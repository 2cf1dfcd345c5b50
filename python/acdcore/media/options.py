"""Command-line options for the media of `acdcore sip-uas` (kept here so the SIP CLI only
registers them)."""

from __future__ import annotations

import argparse
from typing import Any

from .calls import CallMedia


def add_media_arguments(p: Any) -> None:
    p.add_argument(
        "--media",
        choices=("none", "moh", "prompt", "echo", "silent"),
        default="none",
        help="what answered calls hear: nothing listening (none), --moh looped, --prompt once, "
        "their own audio (echo), or nothing but an RTP port that counts (silent)",
    )
    p.add_argument("--moh", metavar="WAV", help="music on hold file (with --media moh)")
    p.add_argument("--prompt", metavar="WAV", help="prompt file (with --media prompt)")
    p.add_argument("--record", metavar="DIR", help="record each call to DIR/CALL-ID.wav")
    p.add_argument(
        "--rtp-ports",
        default="40000-49999",
        metavar="LOW-HIGH",
        help="RTP ports for calls with media (default 40000-49999)",
    )


def media_from_arguments(args: argparse.Namespace) -> CallMedia | None:
    """The media hook the options ask for; ValueError naming a bad option or file."""
    if args.media == "none":
        if args.record or args.moh or args.prompt:
            raise ValueError("--record, --moh and --prompt need --media")
        return None
    try:
        low, high = (int(x) for x in args.rtp_ports.split("-"))
    except ValueError:
        raise ValueError(f"--rtp-ports must be LOW-HIGH, got {args.rtp_ports!r}") from None
    if not 1 <= low <= high <= 65535:
        raise ValueError(
            f"--rtp-ports must be within 1-65535 and LOW <= HIGH, got {args.rtp_ports}"
        )
    audio = args.moh if args.media == "moh" else args.prompt if args.media == "prompt" else None
    if args.media in ("moh", "prompt") and audio is None:
        raise ValueError(f"--media {args.media} needs --{args.media} FILE.wav")
    return CallMedia(args.media, audio, args.record, args.host, (low, high))
