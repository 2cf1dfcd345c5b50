//! One pacer for every looping (music on hold) or one-shot (prompt) stream of a process.
//!
//! A timer per stream costs a timer-heap operation and a wake-up per packet; here every stream
//! shares one 20 ms frame clock, so one `tick(now)` cuts this frame of every stream from its
//! shared encoded buffer, writes the RTP header in place and leaves the whole tick's packets
//! contiguous in one buffer for the caller to send in batches. Time is an input: `tick` sends
//! what is due at `now`; the pump never reads a clock and never touches a socket.
//!
//! Hot path: streams live densely in a `Vec` (an id -> index map beside it, kept right by
//! `swap_remove`), because every stream is due on every tick; a tick walks that vector once
//! and its cost is the packets it sends, never a search. Start and stop are O(1).

use std::ops::Range;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::error::{Error, Result};

/// Seconds of audio per packet (ptime 20).
pub const FRAME: f64 = 0.020;
/// G.711 bytes (and RTP timestamp units) per packet at 8 kHz.
pub const SAMPLES: usize = 160;
const HEADER: usize = 12;
/// Bytes of one packet: the fixed RTP header and one frame of G.711.
pub const PACKET: usize = HEADER + SAMPLES;

/// Where a stream is: what the next packet will carry. A caller taking a stream back (to send
/// DTMF, relay or record) continues from here, so sequence and timestamp stay continuous.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub sequence: u16,
    pub timestamp: u32,
    /// Byte offset of the next frame in the audio.
    pub offset: usize,
    pub marker: bool,
    pub sent: u64,
    /// Frames skipped after the ticks fell two frames or more behind.
    pub skipped: u64,
}

/// What a new stream sends and from where its numbering continues.
#[derive(Debug, Clone)]
pub struct StreamSpec<R> {
    /// Opaque to the pump, copied to each of the stream's packets (the bindings put the
    /// socket and the destination here).
    pub route: R,
    pub payload_type: u8,
    pub ssrc: u32,
    pub sequence: u16,
    pub timestamp: u32,
    /// Set on the first packet (RFC 3551: the start of a talkspurt).
    pub marker: bool,
    pub audio: Arc<[u8]>,
    pub looping: bool,
    /// Byte offset to start at (a seek); wrapped into the audio when looping.
    pub offset: usize,
    /// The codec's silence code, padding the last frame of a one-shot play.
    pub silence: u8,
}

struct Stream<R> {
    id: u64,
    spec: StreamSpec<R>,
    sent: u64,
    skipped: u64,
}

impl<R> Stream<R> {
    fn position(&self) -> Position {
        Position {
            sequence: self.spec.sequence,
            timestamp: self.spec.timestamp,
            offset: if self.spec.looping {
                self.spec.offset % self.spec.audio.len()
            } else {
                self.spec.offset
            },
            marker: self.spec.marker,
            sent: self.sent,
            skipped: self.skipped,
        }
    }

    /// Moves on `frames` frames without sending (a stall). False when a one-shot play has
    /// run out.
    fn skip(&mut self, frames: u64) -> bool {
        let s = &mut self.spec;
        let bytes = (frames as usize).saturating_mul(SAMPLES);
        s.timestamp = s
            .timestamp
            .wrapping_add((bytes as u64 & 0xFFFF_FFFF) as u32);
        self.skipped += frames;
        if s.looping {
            s.offset = (s.offset % s.audio.len() + bytes % s.audio.len()) % s.audio.len();
            true
        } else {
            s.offset = s.offset.saturating_add(bytes);
            s.offset < s.audio.len()
        }
    }

    /// Writes one packet at the end of `out`. False (and nothing written) when a one-shot play
    /// has no audio left.
    fn write(&mut self, out: &mut Vec<u8>) -> bool {
        let s = &mut self.spec;
        let len = s.audio.len();
        if s.offset >= len && !s.looping {
            return false;
        }
        if s.looping {
            s.offset %= len;
        }
        out.push(0x80);
        out.push(s.payload_type & 0x7F | if s.marker { 0x80 } else { 0 });
        out.extend_from_slice(&s.sequence.to_be_bytes());
        out.extend_from_slice(&s.timestamp.to_be_bytes());
        out.extend_from_slice(&s.ssrc.to_be_bytes());
        let mut need = SAMPLES;
        while need > 0 {
            let take = need.min(len - s.offset);
            out.extend_from_slice(&s.audio[s.offset..s.offset + take]);
            s.offset += take;
            need -= take;
            if need > 0 {
                if s.looping {
                    s.offset = 0; // the frame across the loop point takes its tail from the start
                } else {
                    out.resize(out.len() + need, s.silence);
                    need = 0;
                }
            }
        }
        s.sequence = s.sequence.wrapping_add(1);
        s.timestamp = s.timestamp.wrapping_add(SAMPLES as u32);
        s.marker = false;
        self.sent += 1;
        true
    }
}

/// One packet of the latest tick: whose, where to, and its bytes in `Pump::packets_buffer`.
#[derive(Debug, Clone)]
pub struct Outgoing<R> {
    pub stream: u64,
    pub route: R,
    pub bytes: Range<usize>,
}

/// What a tick did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TickReport {
    /// One-shot streams whose audio ended (removed from the pump), with their last position.
    pub finished: Vec<(u64, Position)>,
    /// Frames every stream skipped because the tick came two frames or more late.
    pub skipped: u64,
}

pub struct Pump<R> {
    streams: Vec<Stream<R>>,
    index: FxHashMap<u64, usize>,
    next_id: u64,
    /// Start of frame 0 on the caller's clock; reset when a stream joins an empty pump.
    epoch: f64,
    /// The next frame to send.
    frame: u64,
    buf: Vec<u8>,
    out: Vec<Outgoing<R>>,
}

impl<R: Clone> Default for Pump<R> {
    fn default() -> Self {
        Self::new()
    }
}

impl<R: Clone> Pump<R> {
    pub fn new() -> Self {
        Pump {
            streams: Vec::new(),
            index: FxHashMap::default(),
            next_id: 1,
            epoch: 0.0,
            frame: 0,
            buf: Vec::new(),
            out: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.streams.len()
    }

    pub fn is_empty(&self) -> bool {
        self.streams.is_empty()
    }

    /// When the next frame is due, on the caller's clock (None while no stream runs).
    pub fn next_due(&self) -> Option<f64> {
        (!self.streams.is_empty()).then_some(self.epoch + self.frame as f64 * FRAME)
    }

    /// Adds a stream; its first packet goes out on the next tick (at once when the pump was
    /// idle: the frame clock then starts at `now`). Returns the stream's id.
    pub fn start(&mut self, now: f64, spec: StreamSpec<R>) -> Result<u64> {
        if !now.is_finite() {
            return Err(Error::invalid(format!(
                "now must be a finite time, got {now}"
            )));
        }
        if spec.audio.is_empty() {
            return Err(Error::invalid("nothing to play: the audio is empty"));
        }
        if spec.payload_type > 127 {
            return Err(Error::invalid(format!(
                "RTP payload type {} is not within 0-127",
                spec.payload_type
            )));
        }
        let mut spec = spec;
        if spec.looping {
            spec.offset %= spec.audio.len();
        } else if spec.offset >= spec.audio.len() {
            return Err(Error::invalid(format!(
                "offset {} is past the end of {} bytes of audio",
                spec.offset,
                spec.audio.len()
            )));
        }
        if self.streams.is_empty() {
            self.epoch = now;
            self.frame = 0;
        }
        let id = self.next_id;
        self.next_id += 1;
        self.index.insert(id, self.streams.len());
        self.streams.push(Stream {
            id,
            spec,
            sent: 0,
            skipped: 0,
        });
        Ok(id)
    }

    /// Removes a stream, returning where it was (None if it is not running: it finished or
    /// was stopped already).
    pub fn stop(&mut self, id: u64) -> Option<Position> {
        let at = self.index.remove(&id)?;
        let gone = self.streams.swap_remove(at);
        if let Some(moved) = self.streams.get(at) {
            self.index.insert(moved.id, at);
        }
        Some(gone.position())
    }

    pub fn position(&self, id: u64) -> Option<Position> {
        self.index.get(&id).map(|&at| self.streams[at].position())
    }

    /// Replaces what a running stream plays, keeping its numbering (a prompt followed by music
    /// on hold, or a seek with the same audio).
    pub fn replace(
        &mut self,
        id: u64,
        audio: Arc<[u8]>,
        looping: bool,
        offset: usize,
    ) -> Result<()> {
        let at = *self
            .index
            .get(&id)
            .ok_or_else(|| Error::unknown("stream", &id.to_string()))?;
        if audio.is_empty() {
            return Err(Error::invalid("nothing to play: the audio is empty"));
        }
        if !looping && offset >= audio.len() {
            return Err(Error::invalid(format!(
                "offset {offset} is past the end of {} bytes of audio",
                audio.len()
            )));
        }
        let s = &mut self.streams[at].spec;
        s.offset = if looping {
            offset % audio.len()
        } else {
            offset
        };
        s.audio = audio;
        s.looping = looping;
        Ok(())
    }

    /// Cuts every frame due at `now`. A tick up to two frames late sends what is due (one or
    /// two frames per stream); a later one skips what the stall missed (timestamps jump with
    /// it) rather than send a burst the peer would play late. The packets are in `outgoing`
    /// until the next tick.
    pub fn tick(&mut self, now: f64) -> TickReport {
        self.buf.clear();
        self.out.clear();
        let mut report = TickReport::default();
        if self.streams.is_empty() || !now.is_finite() {
            return report;
        }
        let elapsed = ((now - self.epoch) / FRAME + 1e-6).floor();
        if elapsed < self.frame as f64 {
            return report; // early
        }
        let due = (elapsed as u64).saturating_sub(self.frame) + 1;
        let (skip, send) = if due >= 3 { (due - 1, 1) } else { (0, due) };
        report.skipped = skip;
        self.frame += due;
        self.buf
            .reserve(self.streams.len() * PACKET * send as usize);
        let mut i = 0;
        while i < self.streams.len() {
            let s = &mut self.streams[i];
            let mut alive = skip == 0 || s.skip(skip);
            for _ in 0..send {
                if !alive {
                    break;
                }
                let start = self.buf.len();
                alive = s.write(&mut self.buf);
                if alive {
                    self.out.push(Outgoing {
                        stream: s.id,
                        route: s.spec.route.clone(),
                        bytes: start..self.buf.len(),
                    });
                }
            }
            if alive {
                i += 1;
            } else {
                let id = s.id;
                let pos = self
                    .stop(id)
                    .expect("a stream being ticked is in the index");
                report.finished.push((id, pos));
            }
        }
        report
    }

    /// The latest tick's packets, in stream order (a stream's two frames are adjacent).
    pub fn outgoing(&self) -> &[Outgoing<R>] {
        &self.out
    }

    /// The buffer `Outgoing::bytes` index into.
    pub fn packets_buffer(&self) -> &[u8] {
        &self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::RtpPacket;

    fn audio(n: usize) -> Arc<[u8]> {
        (0..n).map(|i| (i % 251) as u8).collect::<Vec<_>>().into()
    }

    fn spec(route: u32, a: &Arc<[u8]>, looping: bool) -> StreamSpec<u32> {
        StreamSpec {
            route,
            payload_type: 0,
            ssrc: 0xABCD_0000 | route,
            sequence: 65_534,
            timestamp: u32::MAX - 200,
            marker: true,
            audio: a.clone(),
            looping,
            offset: 0,
            silence: 0xFF,
        }
    }

    /// (route, seq, ts, marker, payload) of the latest tick's packets.
    fn sent(p: &Pump<u32>) -> Vec<(u32, u16, u32, bool, Vec<u8>)> {
        p.outgoing()
            .iter()
            .map(|o| {
                let pk = RtpPacket::parse(&p.packets_buffer()[o.bytes.clone()]).unwrap();
                assert_eq!(o.bytes.len(), PACKET);
                (
                    o.route,
                    pk.header.sequence,
                    pk.header.timestamp,
                    pk.header.marker,
                    pk.payload.to_vec(),
                )
            })
            .collect()
    }

    #[test]
    fn looping_stream_is_continuous_across_wraps() {
        let a = audio(400); // not a multiple of 160: frames straddle the loop point
        let mut p = Pump::new();
        p.start(10.0, spec(1, &a, true)).unwrap();
        let looped: Vec<u8> = a.iter().copied().cycle().take(160 * 20).collect();
        let mut last: Option<(u16, u32)> = None;
        for n in 0..20 {
            let r = p.tick(10.0 + n as f64 * FRAME);
            assert_eq!(r, TickReport::default());
            let pk = sent(&p);
            assert_eq!(pk.len(), 1);
            let (_, seq, ts, marker, payload) = &pk[0];
            assert_eq!(*marker, n == 0, "marker only on the first packet");
            assert_eq!(payload[..], looped[n * 160..(n + 1) * 160]);
            if let Some((s, t)) = last {
                assert_eq!(*seq, s.wrapping_add(1));
                assert_eq!(*ts, t.wrapping_add(160));
            }
            last = Some((*seq, *ts));
        }
        let pos = p.position(1).unwrap();
        assert_eq!(pos.sent, 20);
        assert_eq!(pos.offset, (20 * 160) % 400);
    }

    #[test]
    fn one_shot_pads_last_frame_and_finishes() {
        let a = audio(400);
        let mut p = Pump::new();
        let id = p.start(0.0, spec(1, &a, false)).unwrap();
        for n in 0..3 {
            let r = p.tick(n as f64 * FRAME);
            assert!(r.finished.is_empty());
            assert_eq!(sent(&p).len(), 1);
        }
        let last = &sent(&p)[0].4;
        assert_eq!(last[..80], a[320..]);
        assert!(last[80..].iter().all(|&b| b == 0xFF));
        let r = p.tick(3.0 * FRAME);
        assert!(sent(&p).is_empty());
        assert_eq!(r.finished.len(), 1);
        assert_eq!(r.finished[0].0, id);
        assert_eq!(r.finished[0].1.sent, 3);
        assert!(p.is_empty());
        assert_eq!(p.next_due(), None);
        assert_eq!(p.stop(id), None);
    }

    #[test]
    fn streams_start_and_stop_while_others_run() {
        let a = audio(1600);
        let mut p = Pump::new();
        let ids: Vec<u64> = (0..5)
            .map(|r| p.start(0.0, spec(r, &a, true)).unwrap())
            .collect();
        p.tick(0.0);
        assert_eq!(sent(&p).len(), 5);
        // Stop the first (the last moves into its slot) and one in the middle.
        let pos = p.stop(ids[0]).unwrap();
        assert_eq!(pos.sent, 1);
        p.stop(ids[2]).unwrap();
        let late = p.start(0.011, spec(9, &a, true)).unwrap();
        assert_eq!(p.next_due(), Some(FRAME));
        p.tick(0.015); // early: nothing
        assert!(sent(&p).is_empty());
        p.tick(FRAME);
        let mut routes: Vec<u32> = sent(&p).iter().map(|s| s.0).collect();
        routes.sort_unstable();
        assert_eq!(routes, vec![1, 3, 4, 9]);
        let newcomer = sent(&p).into_iter().find(|s| s.0 == 9).unwrap();
        assert!(newcomer.3, "a stream's first packet has the marker");
        assert_eq!(newcomer.4[..], a[..160]);
        for (r, id) in [(1, ids[1]), (3, ids[3]), (4, ids[4]), (9, late)] {
            let pos = p.position(id).unwrap();
            assert_eq!(pos.sent, if r == 9 { 1 } else { 2 });
        }
        assert_eq!(p.len(), 4);
    }

    #[test]
    fn a_late_tick_sends_two_a_stall_skips() {
        let a = audio(16_000);
        let mut p = Pump::new();
        let id = p.start(0.0, spec(1, &a, true)).unwrap();
        p.tick(0.0);
        let t0 = sent(&p)[0].2;
        // 1.5 frames late: frames 1 and 2 both go now.
        let r = p.tick(2.5 * FRAME);
        assert_eq!(r.skipped, 0);
        let two = sent(&p);
        assert_eq!(two.len(), 2);
        assert_eq!(two[1].2, t0.wrapping_add(320));
        // Next due is frame 3 at 60 ms; arrive at 150 ms (frames 3..=7 due): skip 4, send 1.
        let r = p.tick(7.5 * FRAME);
        assert_eq!(r.skipped, 4);
        let one = sent(&p);
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].1, two[1].1.wrapping_add(1), "sequence has no hole");
        assert_eq!(
            one[0].2,
            t0.wrapping_add(7 * 160),
            "timestamp jumps with the skip"
        );
        assert_eq!(one[0].4[..], a[7 * 160..8 * 160]);
        assert_eq!(p.position(id).unwrap().skipped, 4);
    }

    #[test]
    fn replace_keeps_numbering_and_seeks() {
        let prompt = audio(320);
        let moh: Arc<[u8]> = vec![7u8; 800].into();
        let mut p = Pump::new();
        let id = p.start(0.0, spec(1, &prompt, false)).unwrap();
        p.tick(0.0);
        let first = sent(&p)[0].clone();
        p.replace(id, moh.clone(), true, 1000).unwrap(); // wraps to 200
        p.tick(FRAME);
        let next = &sent(&p)[0];
        assert_eq!(next.1, first.1.wrapping_add(1));
        assert_eq!(next.2, first.2.wrapping_add(160));
        assert!(!next.3, "no marker on a replaced play");
        assert_eq!(p.position(id).unwrap().offset, 360);
        assert!(p.replace(id, moh.clone(), false, 800).is_err());
        assert!(p.replace(99, moh, true, 0).is_err());
    }

    #[test]
    fn bad_starts_are_errors() {
        let mut p: Pump<u32> = Pump::new();
        let empty: Arc<[u8]> = Vec::new().into();
        assert!(p.start(0.0, spec(1, &empty, true)).is_err());
        assert!(p.start(f64::NAN, spec(1, &audio(10), true)).is_err());
        let mut s = spec(1, &audio(10), false);
        s.offset = 10;
        assert!(p.start(0.0, s).is_err());
        let mut s = spec(1, &audio(10), true);
        s.payload_type = 128;
        assert!(p.start(0.0, s).is_err());
        assert!(p.is_empty());
        assert!(p.tick(1.0).finished.is_empty());
    }
}
