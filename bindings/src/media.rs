//! `acdcore._core` media: RTP packets, G.711 codecs, RFC 4733 events and the Goertzel meter.
//! Codecs take numpy int16 (samples) or bytes (G.711 codes) and copy once each way; buffers
//! larger than a few packets are converted without the GIL (a 20 ms packet is 160 samples,
//! where releasing the GIL would cost more than the work).

use acdcore::media::rtp::Extension;
use acdcore::media::telephone_event::{TelephoneEvent, event_for_digit};
use acdcore::media::{self, RtpHeader, RtpPacket};
use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::CoreResult;

/// Buffers at least this long (samples or codes, about half a second) are converted with
/// the GIL released.
const DETACH_AT: usize = 4096;

fn run<T: Send>(py: Python<'_>, len: usize, work: impl FnOnce() -> T + Send) -> T {
    if len >= DETACH_AT {
        py.detach(work)
    } else {
        work()
    }
}

fn owned(a: &PyReadonlyArray1<'_, i16>) -> Vec<i16> {
    a.as_array().to_vec()
}

#[pyfunction]
pub fn ulaw_encode<'py>(
    py: Python<'py>,
    samples: PyReadonlyArray1<'py, i16>,
) -> Bound<'py, PyBytes> {
    let s = owned(&samples);
    let out = run(py, s.len(), || media::ulaw_encode(&s));
    PyBytes::new(py, &out)
}

#[pyfunction]
pub fn alaw_encode<'py>(
    py: Python<'py>,
    samples: PyReadonlyArray1<'py, i16>,
) -> Bound<'py, PyBytes> {
    let s = owned(&samples);
    let out = run(py, s.len(), || media::alaw_encode(&s));
    PyBytes::new(py, &out)
}

#[pyfunction]
pub fn ulaw_decode<'py>(py: Python<'py>, data: &[u8]) -> Bound<'py, PyArray1<i16>> {
    let d = data.to_vec();
    PyArray1::from_vec(py, run(py, d.len(), || media::ulaw_decode(&d)))
}

#[pyfunction]
pub fn alaw_decode<'py>(py: Python<'py>, data: &[u8]) -> Bound<'py, PyArray1<i16>> {
    let d = data.to_vec();
    PyArray1::from_vec(py, run(py, d.len(), || media::alaw_decode(&d)))
}

#[pyfunction]
pub fn ulaw_to_alaw<'py>(py: Python<'py>, data: &[u8]) -> Bound<'py, PyBytes> {
    let d = data.to_vec();
    PyBytes::new(py, &run(py, d.len(), || media::ulaw_to_alaw(&d)))
}

#[pyfunction]
pub fn alaw_to_ulaw<'py>(py: Python<'py>, data: &[u8]) -> Bound<'py, PyBytes> {
    let d = data.to_vec();
    PyBytes::new(py, &run(py, d.len(), || media::alaw_to_ulaw(&d)))
}

#[pyfunction]
#[pyo3(signature = (samples, freq, rate = 8000.0))]
pub fn tone_amplitude(
    py: Python<'_>,
    samples: PyReadonlyArray1<'_, i16>,
    freq: f64,
    rate: f64,
) -> f64 {
    let s = owned(&samples);
    run(py, s.len(), || media::tone_amplitude(&s, rate, freq))
}

/// A received RTP packet, copied out of the datagram.
#[pyclass(name = "RtpPacket", module = "acdcore._core", frozen, get_all)]
pub struct PyRtpPacket {
    pub marker: bool,
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    pub csrc: Vec<u32>,
    /// (profile, data) of the header extension, or None.
    pub extension: Option<(u16, Py<PyBytes>)>,
    pub padding: u8,
    pub payload: Py<PyBytes>,
}

#[pymethods]
impl PyRtpPacket {
    #[staticmethod]
    fn parse(py: Python<'_>, data: &[u8]) -> CoreResult<Self> {
        let p = RtpPacket::parse(data)?;
        let h = p.header;
        Ok(PyRtpPacket {
            marker: h.marker,
            payload_type: h.payload_type,
            sequence: h.sequence,
            timestamp: h.timestamp,
            ssrc: h.ssrc,
            csrc: h.csrc,
            extension: h
                .extension
                .map(|e| (e.profile, PyBytes::new(py, &e.data).unbind())),
            padding: p.padding,
            payload: PyBytes::new(py, p.payload).unbind(),
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "RtpPacket(pt={}, seq={}, ts={}, ssrc={:#010x}, marker={})",
            self.payload_type, self.sequence, self.timestamp, self.ssrc, self.marker
        )
    }
}

/// One RTP datagram: header fields and payload (no padding).
#[pyfunction]
#[pyo3(signature = (payload_type, sequence, timestamp, ssrc, payload, marker = false, csrc = Vec::new(), extension = None))]
#[allow(clippy::too_many_arguments)]
pub fn rtp_build<'py>(
    py: Python<'py>,
    payload_type: u8,
    sequence: u16,
    timestamp: u32,
    ssrc: u32,
    payload: &[u8],
    marker: bool,
    csrc: Vec<u32>,
    extension: Option<(u16, Vec<u8>)>,
) -> CoreResult<Bound<'py, PyBytes>> {
    let header = RtpHeader {
        marker,
        payload_type,
        sequence,
        timestamp,
        ssrc,
        csrc,
        extension: extension.map(|(profile, data)| Extension { profile, data }),
    };
    Ok(PyBytes::new(py, &header.build(payload)?))
}

/// An RFC 4733 telephone-event payload.
#[pyclass(name = "TelephoneEvent", module = "acdcore._core", frozen, get_all)]
pub struct PyTelephoneEvent {
    pub event: u8,
    pub end: bool,
    pub volume: u8,
    pub duration: u16,
    /// "0"-"9", "*", "#", "A"-"D" for events 0-15, else None.
    pub digit: Option<char>,
}

impl From<TelephoneEvent> for PyTelephoneEvent {
    fn from(e: TelephoneEvent) -> Self {
        PyTelephoneEvent {
            event: e.event,
            end: e.end,
            volume: e.volume,
            duration: e.duration,
            digit: e.digit(),
        }
    }
}

#[pymethods]
impl PyTelephoneEvent {
    #[staticmethod]
    fn parse(payload: &[u8]) -> CoreResult<Self> {
        Ok(TelephoneEvent::parse(payload)?.into())
    }

    fn __repr__(&self) -> String {
        format!(
            "TelephoneEvent(event={}, end={}, volume={}, duration={})",
            self.event, self.end, self.volume, self.duration
        )
    }
}

/// A telephone-event payload for `digit` (a DTMF character) or `event` (a code).
#[pyfunction]
#[pyo3(signature = (digit, end = false, volume = 10, duration = 0))]
pub fn telephone_event<'py>(
    py: Python<'py>,
    digit: char,
    end: bool,
    volume: u8,
    duration: u16,
) -> CoreResult<Bound<'py, PyBytes>> {
    let event = event_for_digit(digit)?;
    let e = TelephoneEvent {
        event,
        end,
        volume,
        duration,
    };
    Ok(PyBytes::new(py, &e.build()?))
}
