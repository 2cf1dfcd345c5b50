//! Answering-machine detection from the cadence of the first seconds after an answer.
//!
//! A person picking up says a short greeting ("Hello?", "Smith speaking") and waits for an
//! answer; a recorded greeting talks on ("Hi, you've reached ..., leave a message after the
//! tone"), or starts after a long silence. So, on 10 ms frames of the far end's audio, each
//! voiced or silent by its energy against a threshold:
//!
//! - no word within `initial_silence`: machine;
//! - speech running (pauses shorter than `after_greeting_silence` included) for longer than
//!   `greeting` from the first word: machine;
//! - more than `max_words` words: machine;
//! - a silence of `after_greeting_silence` after the greeting: human;
//! - still undecided after `total`: not sure (the host picks; a dialer counts it as a person,
//!   the cautious reading for the abandonment cap).
//!
//! A word is a voiced run of at least `min_word`; it ends after `between_words` of silence,
//! and shorter voiced runs (clicks, line noise) are ignored. Time is the audio itself (frames
//! counted), so the verdict depends only on the samples, never on when they arrived.

use crate::error::{Error, Result};

/// 8 kHz telephony audio in 10 ms frames.
pub const RATE: u32 = 8000;
const FRAME: usize = 80;
const FRAME_S: f64 = FRAME as f64 / RATE as f64;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AmdConfig {
    /// Seconds with no word before the verdict is machine.
    pub initial_silence: f64,
    /// Longest greeting a person gives, seconds from its first word.
    pub greeting: f64,
    /// Silence after a greeting that says a person is waiting for an answer.
    pub after_greeting_silence: f64,
    /// Seconds analysed before giving up as not sure.
    pub total: f64,
    /// Shortest voiced run that counts as a word.
    pub min_word: f64,
    /// Silence that ends a word.
    pub between_words: f64,
    /// More words than this is a machine.
    pub max_words: u32,
    /// Frames quieter than this (RMS, dB below full scale) are silence.
    pub silence_dbfs: f64,
}

impl Default for AmdConfig {
    fn default() -> Self {
        AmdConfig {
            initial_silence: 2.5,
            greeting: 1.5,
            after_greeting_silence: 0.8,
            total: 5.0,
            min_word: 0.1,
            between_words: 0.05,
            max_words: 4,
            silence_dbfs: -40.0,
        }
    }
}

impl AmdConfig {
    /// Every duration positive and finite, `total` the longest, the threshold below 0 dBFS.
    pub fn check(&self) -> Result<()> {
        for (name, v) in [
            ("initial_silence", self.initial_silence),
            ("greeting", self.greeting),
            ("after_greeting_silence", self.after_greeting_silence),
            ("total", self.total),
            ("min_word", self.min_word),
            ("between_words", self.between_words),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::invalid(format!(
                    "{name} must be a positive number of seconds, got {v}"
                )));
            }
        }
        if self.max_words == 0 {
            return Err(Error::invalid("max_words must be at least 1, got 0"));
        }
        if !(self.silence_dbfs.is_finite() && self.silence_dbfs < 0.0) {
            return Err(Error::invalid(format!(
                "silence_dbfs must be below 0 (dB under full scale), got {}",
                self.silence_dbfs
            )));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Human,
    Machine,
    NotSure,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Human => "human",
            Verdict::Machine => "machine",
            Verdict::NotSure => "not-sure",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    InitialSilence,
    LongGreeting,
    MaxWords,
    AfterGreetingSilence,
    TooLong,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::InitialSilence => "initial-silence",
            Reason::LongGreeting => "long-greeting",
            Reason::MaxWords => "max-words",
            Reason::AfterGreetingSilence => "after-greeting-silence",
            Reason::TooLong => "too-long",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    pub verdict: Verdict,
    pub reason: Reason,
    /// Seconds of audio heard when it was decided.
    pub at: f64,
    pub words: u32,
}

/// One answered call's detector: feed it the far end's samples as they come.
#[derive(Debug, Clone)]
pub struct Detector {
    cfg: AmdConfig,
    /// Sum of squares over a frame at or above which it is voiced.
    threshold: f64,
    /// Samples of an unfinished frame.
    partial: Vec<i16>,
    frames: u32,
    voiced_run: u32,
    silent_run: u32,
    in_word: bool,
    words: u32,
    /// Frame at which the first word started.
    greeting_from: Option<u32>,
    decision: Option<Decision>,
}

/// Seconds to whole frames, at least one.
fn frames(s: f64) -> u32 {
    ((s / FRAME_S).round() as u32).max(1)
}

impl Detector {
    pub fn new(cfg: AmdConfig) -> Result<Self> {
        cfg.check()?;
        let rms = 32768.0 * 10f64.powf(cfg.silence_dbfs / 20.0);
        Ok(Detector {
            cfg,
            threshold: rms * rms * FRAME as f64,
            partial: Vec::with_capacity(FRAME),
            frames: 0,
            voiced_run: 0,
            silent_run: 0,
            in_word: false,
            words: 0,
            greeting_from: None,
            decision: None,
        })
    }

    pub fn config(&self) -> &AmdConfig {
        &self.cfg
    }

    pub fn decision(&self) -> Option<Decision> {
        self.decision
    }

    /// Seconds of audio analysed so far (whole frames).
    pub fn heard(&self) -> f64 {
        f64::from(self.frames) * FRAME_S
    }

    /// Takes the next samples (any count); returns the verdict once there is one (and the
    /// same one on every later call: more audio does not change it).
    pub fn feed(&mut self, samples: &[i16]) -> Option<Decision> {
        let mut rest = samples;
        if !self.partial.is_empty() {
            let take = (FRAME - self.partial.len()).min(rest.len());
            self.partial.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.partial.len() == FRAME {
                let frame = std::mem::take(&mut self.partial);
                self.frame(&frame);
                self.partial = frame;
                self.partial.clear();
            }
        }
        let mut chunks = rest.chunks_exact(FRAME);
        for frame in &mut chunks {
            if self.decision.is_some() {
                return self.decision;
            }
            self.frame(frame);
        }
        if self.decision.is_none() {
            self.partial.extend_from_slice(chunks.remainder());
        }
        self.decision
    }

    fn frame(&mut self, frame: &[i16]) {
        if self.decision.is_some() {
            return;
        }
        let energy: f64 = frame.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
        self.frames += 1;
        let c = &self.cfg;
        if energy >= self.threshold {
            self.voiced_run += 1;
            self.silent_run = 0;
            if !self.in_word && self.voiced_run >= frames(c.min_word) {
                self.in_word = true;
                self.words += 1;
                if self.greeting_from.is_none() {
                    self.greeting_from = Some(self.frames - self.voiced_run);
                }
                if self.words > c.max_words {
                    return self.decide(Verdict::Machine, Reason::MaxWords);
                }
            }
            if let Some(from) = self.greeting_from
                && self.frames - from > frames(c.greeting)
            {
                return self.decide(Verdict::Machine, Reason::LongGreeting);
            }
        } else {
            self.voiced_run = 0;
            self.silent_run += 1;
            if self.in_word && self.silent_run >= frames(c.between_words) {
                self.in_word = false;
            }
            if self.greeting_from.is_none() {
                if self.frames >= frames(c.initial_silence) {
                    return self.decide(Verdict::Machine, Reason::InitialSilence);
                }
            } else if self.silent_run >= frames(c.after_greeting_silence) {
                return self.decide(Verdict::Human, Reason::AfterGreetingSilence);
            }
        }
        if self.frames >= frames(c.total) {
            self.decide(Verdict::NotSure, Reason::TooLong);
        }
    }

    fn decide(&mut self, verdict: Verdict, reason: Reason) {
        self.decision = Some(Decision {
            verdict,
            reason,
            at: self.heard(),
            words: self.words,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 400 Hz tone at about -12 dBFS for `s` seconds: voiced.
    fn speech(s: f64) -> Vec<i16> {
        let n = (s * f64::from(RATE)) as usize;
        (0..n)
            .map(|i| {
                let t = i as f64 / f64::from(RATE);
                (8000.0 * (2.0 * std::f64::consts::PI * 400.0 * t).sin()) as i16
            })
            .collect()
    }

    /// Line noise well under the threshold for `s` seconds.
    fn quiet(s: f64) -> Vec<i16> {
        let n = (s * f64::from(RATE)) as usize;
        (0..n).map(|i| [30i16, -25, 12, -40][i % 4]).collect()
    }

    fn run(parts: &[Vec<i16>]) -> Decision {
        let mut d = Detector::new(AmdConfig::default()).unwrap();
        let all: Vec<i16> = parts.concat();
        // Odd-sized pieces, as RTP packets of other sizes would come.
        for piece in all.chunks(137) {
            if let Some(v) = d.feed(piece) {
                return v;
            }
        }
        panic!("no decision after {} s", d.heard());
    }

    #[test]
    fn a_short_hello_then_silence_is_a_person() {
        let v = run(&[quiet(0.4), speech(0.6), quiet(2.0)]);
        assert_eq!(
            (v.verdict, v.reason),
            (Verdict::Human, Reason::AfterGreetingSilence)
        );
        assert!((v.at - 1.8).abs() < 0.02, "{}", v.at);
        assert_eq!(v.words, 1);
    }

    #[test]
    fn a_greeting_that_talks_on_is_a_machine() {
        // Words of 0.3 s with 0.2 s pauses: too few words for max_words by 1.5 s, but the
        // greeting runs past 1.5 s.
        let mut parts = vec![quiet(0.3)];
        for _ in 0..3 {
            parts.push(speech(0.4));
            parts.push(quiet(0.2));
        }
        parts.push(speech(1.0));
        let v = run(&parts);
        assert_eq!(
            (v.verdict, v.reason),
            (Verdict::Machine, Reason::LongGreeting)
        );
        assert!((v.at - 1.81).abs() < 0.02, "{}", v.at);
    }

    #[test]
    fn many_quick_words_are_a_machine() {
        let mut parts = vec![];
        for _ in 0..6 {
            parts.push(speech(0.12));
            parts.push(quiet(0.1));
        }
        let v = run(&parts);
        assert_eq!(
            (v.verdict, v.reason, v.words),
            (Verdict::Machine, Reason::MaxWords, 5)
        );
    }

    #[test]
    fn silence_from_the_start_is_a_machine_and_clicks_are_not_words() {
        let mut parts = vec![];
        for _ in 0..20 {
            parts.push(speech(0.03)); // a click: shorter than min_word
            parts.push(quiet(0.2));
        }
        let v = run(&parts);
        assert_eq!(
            (v.verdict, v.reason, v.words),
            (Verdict::Machine, Reason::InitialSilence, 0)
        );
        assert!((v.at - 2.5).abs() < 0.011);
    }

    #[test]
    fn undecided_by_total_is_not_sure_and_the_verdict_then_stays() {
        let cfg = AmdConfig {
            greeting: 10.0,
            max_words: 100,
            ..AmdConfig::default()
        };
        let mut d = Detector::new(cfg).unwrap();
        let mut talk = vec![];
        for _ in 0..20 {
            talk.extend(speech(0.2));
            talk.extend(quiet(0.1));
        }
        let v = d.feed(&talk).unwrap();
        assert_eq!((v.verdict, v.reason), (Verdict::NotSure, Reason::TooLong));
        assert!((v.at - 5.0).abs() < 0.011);
        assert_eq!(d.feed(&quiet(3.0)), Some(v));
    }

    #[test]
    fn the_same_audio_in_any_pieces_gives_the_same_verdict() {
        let audio = [
            quiet(0.2),
            speech(0.5),
            quiet(0.15),
            speech(0.3),
            quiet(1.0),
        ]
        .concat();
        let whole = Detector::new(AmdConfig::default())
            .unwrap()
            .feed(&audio)
            .unwrap();
        let mut d = Detector::new(AmdConfig::default()).unwrap();
        let mut got = None;
        for piece in audio.chunks(1) {
            got = d.feed(piece).or(got);
        }
        assert_eq!(got, Some(whole));
        assert_eq!(whole.verdict, Verdict::Human);
    }

    #[test]
    fn bad_settings_are_named() {
        let bad = |cfg: AmdConfig| Detector::new(cfg).unwrap_err().to_string();
        let d = AmdConfig::default();
        assert!(bad(AmdConfig { greeting: 0.0, ..d }).contains("greeting"));
        assert!(
            bad(AmdConfig {
                total: f64::NAN,
                ..d
            })
            .contains("total")
        );
        assert!(bad(AmdConfig { max_words: 0, ..d }).contains("max_words"));
        assert!(
            bad(AmdConfig {
                silence_dbfs: 3.0,
                ..d
            })
            .contains("silence_dbfs")
        );
    }
}
