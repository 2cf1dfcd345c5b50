//! `acdcore._core.AnsweringMachineDetector`: the Rust cadence detector over numpy int16 samples
//! or G.711 payloads, one per answered call (a packet's worth is too little work to drop the
//! GIL for).

use acdcore::media::amd::{AmdConfig, Decision, Detector};
use acdcore::media::{alaw_decode, ulaw_decode};
use numpy::PyReadonlyArray1;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::errors::CoreResult;

/// What the detector decided: `verdict` "human", "machine" or "not-sure", the rule that
/// decided it (`reason`), after `at` seconds of audio and `words` words.
#[pyclass(name = "AmdDecision", module = "acdcore._core", frozen, get_all)]
pub struct PyAmdDecision {
    pub verdict: &'static str,
    pub reason: &'static str,
    pub at: f64,
    pub words: u32,
}

impl From<Decision> for PyAmdDecision {
    fn from(d: Decision) -> Self {
        PyAmdDecision {
            verdict: d.verdict.as_str(),
            reason: d.reason.as_str(),
            at: d.at,
            words: d.words,
        }
    }
}

#[pymethods]
impl PyAmdDecision {
    fn __repr__(&self) -> String {
        format!(
            "AmdDecision(verdict={:?}, reason={:?}, at={}, words={})",
            self.verdict, self.reason, self.at, self.words
        )
    }
}

#[pyclass(name = "AnsweringMachineDetector", module = "acdcore._core")]
pub struct PyDetector {
    inner: Detector,
}

#[pymethods]
impl PyDetector {
    #[new]
    #[pyo3(signature = (*, initial_silence = 2.5, greeting = 1.5, after_greeting_silence = 0.8,
        total = 5.0, min_word = 0.1, between_words = 0.05, max_words = 4, silence_dbfs = -40.0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        initial_silence: f64,
        greeting: f64,
        after_greeting_silence: f64,
        total: f64,
        min_word: f64,
        between_words: f64,
        max_words: u32,
        silence_dbfs: f64,
    ) -> CoreResult<Self> {
        let cfg = AmdConfig {
            initial_silence,
            greeting,
            after_greeting_silence,
            total,
            min_word,
            between_words,
            max_words,
            silence_dbfs,
        };
        Ok(PyDetector {
            inner: Detector::new(cfg)?,
        })
    }

    /// Feeds 8 kHz samples; the decision once there is one, else None.
    fn feed(&mut self, samples: PyReadonlyArray1<'_, i16>) -> Option<PyAmdDecision> {
        let d = match samples.as_slice() {
            Ok(s) => self.inner.feed(s),
            Err(_) => self.inner.feed(&samples.as_array().to_vec()),
        };
        d.map(Into::into)
    }

    /// Feeds one RTP payload of G.711 codes ("PCMU" or "PCMA").
    #[pyo3(signature = (payload, codec = "PCMU"))]
    fn feed_g711(&mut self, payload: &[u8], codec: &str) -> PyResult<Option<PyAmdDecision>> {
        let samples = match codec {
            "PCMU" => ulaw_decode(payload),
            "PCMA" => alaw_decode(payload),
            _ => {
                return Err(PyValueError::new_err(format!(
                    "codec {codec:?} is not G.711 (PCMU or PCMA)"
                )));
            }
        };
        Ok(self.inner.feed(&samples).map(Into::into))
    }

    #[getter]
    fn decision(&self) -> Option<PyAmdDecision> {
        self.inner.decision().map(Into::into)
    }

    /// Seconds of audio analysed so far.
    #[getter]
    fn heard(&self) -> f64 {
        self.inner.heard()
    }

    fn __repr__(&self) -> String {
        format!(
            "AnsweringMachineDetector(heard={:.2}, decision={:?})",
            self.inner.heard(),
            self.inner.decision().map(|d| d.verdict.as_str())
        )
    }
}
