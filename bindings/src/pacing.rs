//! `acdcore._core.Pacer` (many campaigns paced per call from numpy columns, GIL released) and
//! `simulate_outbound` (one outbound day on the real engine, figures as numpy columns).

use std::sync::{Mutex, MutexGuard};

use acdcore::pacing::{Batch, Config, Mode, Pacer, Ringing, Service};
use acdcore::sim::Dist;
use acdcore::sim::outbound::{OutboundConfig, simulate_outbound as run_day};
use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::errors::{CoreError, CoreResult};

fn talk(aht: f64, sd: Option<f64>) -> Dist {
    match sd {
        Some(sd) => Dist::Lognormal { mean: aht, sd },
        None => Dist::exponential(aht),
    }
}

fn slice<'a, T: numpy::Element>(name: &str, a: &'a PyReadonlyArray1<'_, T>) -> PyResult<&'a [T]> {
    a.as_slice()
        .map_err(|_| PyValueError::new_err(format!("{name} must be a contiguous 1-d array")))
}

#[pyclass(name = "Pacer", module = "acdcore._core", frozen)]
pub struct PyPacer {
    inner: Mutex<Pacer>,
}

impl PyPacer {
    fn lock(&self) -> MutexGuard<'_, Pacer> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[pymethods]
impl PyPacer {
    /// One campaign per item of the equally long lists: mode name, abandon target, power
    /// ratio, mean talk seconds (exponential), wrap-up seconds; with `ring` (seconds a dial
    /// rings before it is given up) and `answer_cv` (the time to answer's coefficient of
    /// variation, lognormal) the dials in flight are weighed by their ages.
    #[new]
    #[pyo3(signature = (modes, target, ratio, aht, wrapup, ring=None, answer_cv=None))]
    fn new(
        modes: Vec<String>,
        target: Vec<f64>,
        ratio: Vec<f64>,
        aht: Vec<f64>,
        wrapup: Vec<f64>,
        ring: Option<Vec<f64>>,
        answer_cv: Option<Vec<f64>>,
    ) -> PyResult<Self> {
        let n = modes.len();
        let ringing = match (ring, answer_cv) {
            (Some(r), Some(cv)) => Some((r, cv)),
            (None, None) => None,
            _ => {
                return Err(PyValueError::new_err(
                    "give ring and answer_cv together, or neither",
                ));
            }
        };
        let (ring_len, cv_len) = ringing.as_ref().map_or((n, n), |(r, c)| (r.len(), c.len()));
        for (name, len) in [
            ("target", target.len()),
            ("ratio", ratio.len()),
            ("aht", aht.len()),
            ("wrapup", wrapup.len()),
            ("ring", ring_len),
            ("answer_cv", cv_len),
        ] {
            if len != n {
                return Err(PyValueError::new_err(format!(
                    "{name} has {len} values for {n} campaigns"
                )));
            }
        }
        let configs = (0..n)
            .map(|i| {
                let mode = Mode::parse(&modes[i], ratio[i])?;
                let service = Service::new(&Dist::exponential(aht[i]), wrapup[i])?;
                let cfg = Config::new(mode, target[i], service)?;
                let Some((ring, cv)) = &ringing else {
                    return Ok(cfg);
                };
                if !(cv[i].is_finite() && cv[i] > 0.0) {
                    return Err(acdcore::Error::Invalid(format!(
                        "answer_cv must be a positive number, got {}",
                        cv[i]
                    )));
                }
                // Only the shape matters: the scale follows the live mean time to answer.
                let shape = Dist::Lognormal {
                    mean: 1.0,
                    sd: cv[i],
                };
                Ok(cfg.with_ringing(Ringing::new(&shape, ring[i])?))
            })
            .enumerate()
            .map(|(i, c)| c.map_err(|e| acdcore::Error::Invalid(format!("campaign {i}: {e}"))))
            .collect::<acdcore::Result<Vec<_>>>()
            .map_err(CoreError)?;
        Ok(PyPacer {
            inner: Mutex::new(Pacer::new(configs)),
        })
    }

    fn __len__(&self) -> usize {
        self.lock().len()
    }

    /// Dials per campaign now (uint32). Busy agents' call ages of campaign i are
    /// `ages[offsets[i]:offsets[i + 1]]`, the ages of its dials in flight
    /// `flight_ages[flight_offsets[i]:flight_offsets[i + 1]]` (empty `flight_offsets`: none
    /// known) and the times to answer of its answered dials
    /// `answer_times[answer_offsets[i]:answer_offsets[i + 1]]` (none given: only `tta_sum`);
    /// the outcome counts are those since the last tick.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (now, ready, in_flight, waiting, ages, offsets, resolved, answered,
        machines, tta_sum, abandoned, flight_ages, flight_offsets, answer_times=None,
        answer_offsets=None))]
    fn tick<'py>(
        &self,
        py: Python<'py>,
        now: f64,
        ready: PyReadonlyArray1<'py, u32>,
        in_flight: PyReadonlyArray1<'py, u32>,
        waiting: PyReadonlyArray1<'py, u32>,
        ages: PyReadonlyArray1<'py, f64>,
        offsets: PyReadonlyArray1<'py, u64>,
        resolved: PyReadonlyArray1<'py, u32>,
        answered: PyReadonlyArray1<'py, u32>,
        machines: PyReadonlyArray1<'py, u32>,
        tta_sum: PyReadonlyArray1<'py, f64>,
        abandoned: PyReadonlyArray1<'py, u32>,
        flight_ages: PyReadonlyArray1<'py, f64>,
        flight_offsets: PyReadonlyArray1<'py, u64>,
        answer_times: Option<PyReadonlyArray1<'py, f64>>,
        answer_offsets: Option<PyReadonlyArray1<'py, u64>>,
    ) -> PyResult<Bound<'py, PyArray1<u32>>> {
        if answer_times.is_some() != answer_offsets.is_some() {
            return Err(PyValueError::new_err(
                "give answer_times and answer_offsets together, or neither",
            ));
        }
        let answer_times = match &answer_times {
            Some(a) => slice("answer_times", a)?,
            None => &[],
        };
        let answer_offsets = match &answer_offsets {
            Some(a) => slice("answer_offsets", a)?,
            None => &[],
        };
        let batch = Batch {
            now,
            ready: slice("ready", &ready)?,
            in_flight: slice("in_flight", &in_flight)?,
            waiting: slice("waiting", &waiting)?,
            ages: slice("ages", &ages)?,
            offsets: slice("offsets", &offsets)?,
            resolved: slice("resolved", &resolved)?,
            answered: slice("answered", &answered)?,
            machines: slice("machines", &machines)?,
            tta_sum: slice("tta_sum", &tta_sum)?,
            abandoned: slice("abandoned", &abandoned)?,
            flight_ages: slice("flight_ages", &flight_ages)?,
            flight_offsets: slice("flight_offsets", &flight_offsets)?,
            answer_times,
            answer_offsets,
        };
        let mut out = vec![0u32; batch.ready.len()];
        py.detach(|| self.lock().tick(&batch, &mut out))
            .map_err(CoreError)?;
        Ok(PyArray1::from_vec(py, out))
    }

    /// What every campaign learned, as bytes for `restore` after a restart.
    fn snapshot<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.lock().snapshot())
    }

    /// Takes back `snapshot()` bytes (the same number of campaigns); bad bytes are a
    /// ValueError and change nothing.
    fn restore(&self, data: &[u8]) -> PyResult<()> {
        Ok(self.lock().restore_states(data).map_err(CoreError)?)
    }

    /// Campaign `i`'s live estimates, measured abandon rate and risk level.
    fn state<'py>(&self, py: Python<'py>, i: usize) -> PyResult<Bound<'py, PyDict>> {
        let pacer = self.lock();
        let (Some(st), Some(cfg)) = (pacer.state(i), pacer.config(i)) else {
            return Err(pyo3::exceptions::PyIndexError::new_err(format!(
                "campaign {i} out of range ({} campaigns)",
                pacer.len()
            )));
        };
        let d = PyDict::new(py);
        let e = st.estimates();
        d.set_item("answer_rate", e.answer)?;
        d.set_item("machine_rate", e.machine)?;
        d.set_item("time_to_answer", e.tta)?;
        d.set_item("measured_abandon", st.measured_abandon(cfg.target))?;
        d.set_item("risk", st.risk())?;
        Ok(d)
    }

    /// Campaign `i`'s learned time-to-answer shape as (probability per bin, bin edges from 0
    /// to the ring timeout), like `numpy.histogram`; None before any answer time (or without
    /// a ring timeout).
    #[allow(clippy::type_complexity)]
    fn answer_shape<'py>(
        &self,
        py: Python<'py>,
        i: usize,
    ) -> PyResult<Option<(Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<f64>>)>> {
        let pacer = self.lock();
        let Some(st) = pacer.state(i) else {
            return Err(pyo3::exceptions::PyIndexError::new_err(format!(
                "campaign {i} out of range ({} campaigns)",
                pacer.len()
            )));
        };
        Ok(st.answer_shape().map(|shape| {
            let masses: Vec<f64> = shape.masses().collect();
            let edges = (0..=shape.bins())
                .map(|k| k as f64 * shape.width())
                .collect();
            (
                PyArray1::from_vec(py, masses),
                PyArray1::from_vec(py, edges),
            )
        }))
    }
}

/// One outbound day; totals as numbers, per-interval figures as numpy columns.
#[pyfunction]
#[pyo3(signature = (agents, answer_rate, aht, *, wrapup=0.0, mode="predictive", ratio=1.0,
    target=0.03, hours=8.0, seed=1, machine_rate=0.0, handle_sd=None, ring=25.0, interval=900.0,
    answer_time=None, pacer_answer_time=None, learn_answer_shape=true))]
#[allow(clippy::too_many_arguments)]
pub fn simulate_outbound<'py>(
    py: Python<'py>,
    agents: u32,
    answer_rate: f64,
    aht: f64,
    wrapup: f64,
    mode: &str,
    ratio: f64,
    target: f64,
    hours: f64,
    seed: u64,
    machine_rate: f64,
    handle_sd: Option<f64>,
    ring: f64,
    interval: f64,
    answer_time: Option<&str>,
    pacer_answer_time: Option<&str>,
    learn_answer_shape: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let mode = Mode::parse(mode, ratio).map_err(CoreError)?;
    let spec = |s: Option<&str>, what: &str| {
        s.map(|s| Dist::from_spec(s, what))
            .transpose()
            .map_err(CoreError)
    };
    let answer_time = spec(answer_time, "answer_time")?;
    let pacer_answer_time = spec(pacer_answer_time, "pacer_answer_time")?;
    let mut cfg = OutboundConfig::new(agents, answer_rate, aht, mode);
    cfg.handle = talk(aht, handle_sd);
    cfg.wrapup = wrapup;
    cfg.target = target;
    cfg.duration = hours * 3600.0;
    cfg.machine_rate = machine_rate;
    cfg.ring = ring;
    cfg.interval = interval;
    if let Some(d) = answer_time {
        cfg.answer_time = d;
    }
    cfg.pacer_answer_time = pacer_answer_time;
    cfg.learn_answer_shape = learn_answer_shape;
    let r: CoreResult<_> = py.detach(|| run_day(&cfg, seed)).map_err(CoreError);
    let r = r?;
    let d = PyDict::new(py);
    let t = &r.totals;
    d.set_item("mode", r.mode.as_str())?;
    for (k, v) in [
        ("dials", t.dials),
        ("live", t.live),
        ("machines", t.machines),
        ("connects", t.connects),
        ("abandoned", t.abandoned),
    ] {
        d.set_item(k, v)?;
    }
    d.set_item("abandon_rate", r.abandon_rate())?;
    d.set_item("occupancy", r.occupancy())?;
    d.set_item("agent_wait_s", r.agent_wait())?;
    d.set_item("interval", r.interval)?;
    let columns = PyDict::new(py);
    let col = |f: fn(&acdcore::sim::outbound::OutboundInterval) -> f64| {
        PyArray1::from_vec(py, r.intervals.iter().map(f).collect())
    };
    columns.set_item("dials", col(|i| i.dials as f64))?;
    columns.set_item("live", col(|i| i.live as f64))?;
    columns.set_item("connects", col(|i| i.connects as f64))?;
    columns.set_item("abandoned", col(|i| i.abandoned as f64))?;
    columns.set_item("occupancy", col(|i| i.busy / i.staffed))?;
    columns.set_item("abandon_rate", col(|i| i.abandoned as f64 / i.live as f64))?;
    d.set_item("intervals", columns)?;
    Ok(d)
}
