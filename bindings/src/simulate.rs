//! `acdcore._core.Scenario` and `Simulation`: a scenario is checked once, each replication
//! runs in Rust with the GIL released, and results come back as numpy columns.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use acdcore::sim::{Prepared, RunResult, Scenario, Simulation, replication_seed};
use numpy::{PyArray1, PyArray2};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::errors::{CoreError, CoreResult, StateError};

#[pyclass(name = "Scenario", module = "acdcore._core", frozen)]
pub struct PyScenario {
    prepared: Arc<Prepared>,
    replications: u32,
    seed: Option<u64>,
}

impl PyScenario {
    fn new(scn: &Scenario) -> CoreResult<Self> {
        Ok(PyScenario {
            prepared: Arc::new(scn.prepare()?),
            replications: scn.simulation.replications,
            seed: scn.simulation.seed,
        })
    }
}

#[pymethods]
impl PyScenario {
    /// Reads and checks a scenario TOML file (rates_csv paths are relative to it).
    #[staticmethod]
    fn load(path: PathBuf) -> CoreResult<Self> {
        Self::new(&acdcore::sim::scenario::load(&path)?)
    }

    #[staticmethod]
    fn from_toml(text: &str) -> CoreResult<Self> {
        Self::new(&Scenario::from_toml(text)?)
    }

    /// M/M/c (+M with `patience`): one queue, `agents` agents, Poisson arrivals per second,
    /// exponential handle and patience times, `calls` arrivals.
    #[staticmethod]
    #[pyo3(signature = (agents, arrival_rate, aht, calls, patience=None, threshold=20.0, warmup=0.0))]
    fn mmc(
        agents: u32,
        arrival_rate: f64,
        aht: f64,
        calls: u64,
        patience: Option<f64>,
        threshold: f64,
        warmup: f64,
    ) -> CoreResult<Self> {
        let mut scn = Scenario::mmc(agents, arrival_rate, aht, calls, patience, threshold);
        scn.simulation.warmup = warmup;
        Self::new(&scn)
    }

    #[getter]
    fn replications(&self) -> u32 {
        self.replications
    }

    #[getter]
    fn seed(&self) -> Option<u64> {
        self.seed
    }

    #[getter]
    fn interval(&self) -> f64 {
        self.prepared.interval
    }

    /// When arrivals stop (None when only a call count stops them).
    #[getter]
    fn horizon(&self) -> Option<f64> {
        self.prepared.horizon
    }

    #[getter]
    fn calls(&self) -> Option<u64> {
        self.prepared.calls
    }

    #[getter]
    fn groups(&self) -> Vec<String> {
        self.prepared
            .groups
            .iter()
            .map(|g| g.name.clone())
            .collect()
    }

    #[getter]
    fn queues(&self) -> Vec<String> {
        self.prepared
            .queues
            .iter()
            .map(|(q, _)| q.clone())
            .collect()
    }

    /// Replication `replication` of this scenario under `seed` (the same pair always gives the
    /// same run).
    fn simulation(&self, replication: u32, seed: u64) -> CoreResult<PySimulation> {
        let sim = Simulation::new(
            Arc::clone(&self.prepared),
            replication_seed(seed, replication),
        )?;
        Ok(PySimulation {
            inner: Mutex::new(sim),
        })
    }
}

#[pyclass(name = "Simulation", module = "acdcore._core", frozen)]
pub struct PySimulation {
    inner: Mutex<Simulation>,
}

impl PySimulation {
    fn lock(&self) -> MutexGuard<'_, Simulation> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[pymethods]
impl PySimulation {
    /// Runs up to simulated time `until` (seconds); False once the run is over.
    fn run_until(&self, py: Python<'_>, until: f64) -> CoreResult<bool> {
        py.detach(|| self.lock().run_until(until))
            .map_err(CoreError::from)
    }

    /// Simulated time reached so far.
    #[getter]
    fn now(&self) -> f64 {
        self.lock().now()
    }

    #[getter]
    fn done(&self) -> bool {
        self.lock().is_done()
    }

    /// The figures of the finished run as plain values and numpy arrays.
    fn result<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let sim = self.lock();
        if !sim.is_done() {
            return Err(StateError::new_err(
                "the simulation has not finished: run it to the end first",
            ));
        }
        to_dict(py, &sim.result())
    }
}

fn to_dict<'py>(py: Python<'py>, r: &RunResult) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("interval", r.interval)?;
    let t = &r.totals;
    let totals = PyDict::new(py);
    for (k, v) in [
        ("service_level", t.service_level),
        ("asa", t.asa),
        ("abandon_rate", t.abandon_rate),
        ("occupancy", t.occupancy),
        ("p_wait", t.p_wait),
        ("queue_mean", t.queue_mean),
        ("wait_mean", t.wait_mean),
        ("arrival_rate", t.arrival_rate),
        ("measured_seconds", t.measured_seconds),
    ] {
        totals.set_item(k, v)?;
    }
    for (k, v) in [
        ("calls", t.calls),
        ("answered", t.answered),
        ("abandoned", t.abandoned),
        ("unserved", t.unserved),
    ] {
        totals.set_item(k, v)?;
    }
    d.set_item("totals", totals)?;
    let columns = PyDict::new(py);
    for (name, values) in r.columns() {
        columns.set_item(name, PyArray1::from_vec(py, values))?;
    }
    d.set_item("columns", columns)?;
    d.set_item("groups", r.groups.clone())?;
    // Every group has one value per interval (a run has at least one), so rows are equal.
    let occ = PyArray2::from_vec2(py, &r.group_occupancy())
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
    d.set_item("group_occupancy", occ)?;
    let hist: Vec<i64> = r.wait_histogram.iter().map(|&n| n as i64).collect();
    d.set_item("wait_histogram", PyArray1::from_vec(py, hist))?;
    let queues = PyList::empty(py);
    for (id, q) in &r.queues {
        let qd = PyDict::new(py);
        qd.set_item("id", id)?;
        for (k, v) in [
            ("arrivals", q.arrivals),
            ("answered", q.answered),
            ("abandoned", q.abandoned),
            ("answered_within", q.answered_within),
            ("settled", q.settled()),
            ("callbacks", q.callbacks),
            ("self_service", q.self_service),
        ] {
            qd.set_item(k, v)?;
        }
        qd.set_item("answer_wait", q.answer_wait)?;
        queues.append(qd)?;
    }
    d.set_item("queues", queues)?;
    Ok(d)
}

/// Mean and 95% confidence half-width (Student t) of replication values (half-width NaN for
/// fewer than two).
#[pyfunction]
pub fn mean_ci(values: Vec<f64>) -> (f64, f64) {
    acdcore::sim::mean_ci(&values)
}

/// The 0.975 quantile of Student's t with `df` degrees of freedom (95% two-sided intervals).
#[pyfunction]
pub fn student_t975(df: usize) -> f64 {
    acdcore::sim::stats::t975(df)
}
