//! `acdcore._core` Erlang functions: float (or int) scalars or 1-d numpy arrays in, broadcast
//! against each other; scalars out for all-scalar input, float64/int64 arrays otherwise.
//! Arrays are copied and computed without the GIL; a bad item is a `ValueError` naming its
//! index.

use acdcore::erlang::{self, Metrics, Target};
use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::{CoreError, Int};

/// A float argument: one number, or a 1-d float64 array.
#[derive(FromPyObject)]
pub enum Floats<'py> {
    Array(PyReadonlyArray1<'py, f64>),
    Scalar(f64),
}

/// An agent-count argument: one int, or a 1-d int64 array.
#[derive(FromPyObject)]
pub enum Counts<'py> {
    Array(PyReadonlyArray1<'py, i64>),
    Scalar(Int<i64>),
}

/// An owned argument: one value for every item, or one per item.
enum Col<T> {
    One(T),
    Many(Vec<T>),
}

impl<T: Copy> Col<T> {
    fn len(&self) -> Option<usize> {
        match self {
            Col::One(_) => None,
            Col::Many(v) if v.len() == 1 => None,
            Col::Many(v) => Some(v.len()),
        }
    }
    fn at(&self, i: usize) -> T {
        match self {
            Col::One(x) => *x,
            Col::Many(v) if v.len() == 1 => v[0],
            Col::Many(v) => v[i],
        }
    }
    fn is_array(&self) -> bool {
        matches!(self, Col::Many(_))
    }
    /// (name, broadcast length, is an array) for [`broadcast`].
    fn shape<'a>(&self, name: &'a str) -> Shape<'a> {
        (name, self.len(), self.is_array())
    }
}

type Shape<'a> = (&'a str, Option<usize>, bool);

/// The shape of an optional argument (absent: a scalar).
fn opt_shape<'a, T: Copy>(name: &'a str, c: Option<&Col<T>>) -> Shape<'a> {
    c.map_or((name, None, false), |c| c.shape(name))
}

impl From<Floats<'_>> for Col<f64> {
    fn from(f: Floats<'_>) -> Self {
        match f {
            Floats::Array(a) => Col::Many(a.as_array().to_vec()),
            Floats::Scalar(x) => Col::One(x),
        }
    }
}

impl From<Counts<'_>> for Col<i64> {
    fn from(c: Counts<'_>) -> Self {
        match c {
            Counts::Array(a) => Col::Many(a.as_array().to_vec()),
            Counts::Scalar(x) => Col::One(x.0),
        }
    }
}

/// The common length of the array arguments (named in `names` for the message); `None`
/// when every argument is a scalar.
fn broadcast(cols: &[Shape<'_>]) -> PyResult<(usize, bool)> {
    let mut len: Option<(usize, &str)> = None;
    for &(name, l, _) in cols {
        if let Some(l) = l {
            match len {
                Some((have, first)) if have != l => {
                    return Err(PyValueError::new_err(format!(
                        "{name} has {l} items but {first} has {have}: arrays must have the same \
                         length (or one item)"
                    )));
                }
                None => len = Some((l, name)),
                _ => {}
            }
        }
    }
    let any_array = cols.iter().any(|c| c.2);
    Ok((len.map_or(1, |(l, _)| l), any_array))
}

fn agents_of(n: i64) -> acdcore::Result<u64> {
    u64::try_from(n)
        .map_err(|_| acdcore::Error::Invalid(format!("agents must be at least 1, got {n}")))
}

/// Runs `f` on every item: with the GIL released when any argument is an array.
fn run<T: Send>(
    py: Python<'_>,
    n: usize,
    array: bool,
    f: impl Fn(usize) -> acdcore::Result<T> + Sync,
) -> PyResult<Vec<T>> {
    // Big arrays are split over a few threads (same answers: each item is independent).
    let all = || erlang::map_items(n, &f);
    let out = if array { py.detach(all) } else { all() };
    out.map_err(|(i, e)| {
        let e = if array {
            acdcore::Error::Invalid(format!("item {i}: {e}"))
        } else {
            e
        };
        CoreError(e).into()
    })
}

fn column<'py>(py: Python<'py>, array: bool, v: Vec<f64>) -> PyResult<Bound<'py, PyAny>> {
    if array {
        Ok(PyArray1::from_vec(py, v).into_any())
    } else {
        Ok(v[0].into_pyobject(py)?.into_any())
    }
}

fn int_column<'py>(py: Python<'py>, array: bool, v: Vec<i64>) -> PyResult<Bound<'py, PyAny>> {
    if array {
        Ok(PyArray1::from_vec(py, v).into_any())
    } else {
        Ok(v[0].into_pyobject(py)?.into_any())
    }
}

/// Metrics as a dict of columns.
fn metric_columns<'py>(
    py: Python<'py>,
    array: bool,
    ms: &[Metrics],
    d: &Bound<'py, PyDict>,
) -> PyResult<()> {
    let pick = |f: fn(&Metrics) -> f64| ms.iter().map(f).collect::<Vec<f64>>();
    d.set_item(
        "service_level",
        column(py, array, pick(|m| m.service_level))?,
    )?;
    d.set_item("asa", column(py, array, pick(|m| m.asa))?)?;
    d.set_item("occupancy", column(py, array, pick(|m| m.occupancy))?)?;
    d.set_item("p_wait", column(py, array, pick(|m| m.p_wait))?)?;
    d.set_item("abandon", column(py, array, pick(|m| m.abandon))?)?;
    Ok(())
}

/// Erlang B blocking probability of `agents` offered `traffic` Erlangs.
#[pyfunction]
pub fn erlang_b<'py>(
    py: Python<'py>,
    agents: Counts<'py>,
    traffic: Floats<'py>,
) -> PyResult<Bound<'py, PyAny>> {
    let (agents, traffic): (Col<i64>, Col<f64>) = (agents.into(), traffic.into());
    let (n, array) = broadcast(&[agents.shape("agents"), traffic.shape("traffic")])?;
    let out = run(py, n, array, |i| {
        erlang::erlang_b(agents_of(agents.at(i))?, traffic.at(i))
    })?;
    column(py, array, out)
}

/// Erlang C metrics, or Erlang A when `patience` is given: a dict of `p_wait`,
/// `service_level`, `asa`, `occupancy`, `abandon`.
#[pyfunction]
#[pyo3(signature = (agents, traffic, aht, threshold, patience=None))]
pub fn erlang_metrics<'py>(
    py: Python<'py>,
    agents: Counts<'py>,
    traffic: Floats<'py>,
    aht: Floats<'py>,
    threshold: Floats<'py>,
    patience: Option<Floats<'py>>,
) -> PyResult<Bound<'py, PyDict>> {
    let agents: Col<i64> = agents.into();
    let (traffic, aht, threshold): (Col<f64>, Col<f64>, Col<f64>) =
        (traffic.into(), aht.into(), threshold.into());
    let patience: Option<Col<f64>> = patience.map(Into::into);
    let p = patience.as_ref();
    let (n, array) = broadcast(&[
        agents.shape("agents"),
        traffic.shape("traffic"),
        aht.shape("aht"),
        threshold.shape("threshold"),
        opt_shape("patience", p),
    ])?;
    let ms = run(py, n, array, |i| {
        let a = agents_of(agents.at(i))?;
        match p {
            None => erlang::erlang_c(a, traffic.at(i), aht.at(i), threshold.at(i)),
            Some(p) => erlang::erlang_a(a, traffic.at(i), aht.at(i), p.at(i), threshold.at(i)),
        }
    })?;
    let d = PyDict::new(py);
    metric_columns(py, array, &ms, &d)?;
    Ok(d)
}

/// Agents required for a target (Erlang C, or Erlang A with `patience`) and agents scheduled
/// after shrinkage, with the metrics at the required count.
#[pyfunction]
#[pyo3(signature = (traffic, aht, *, service_level=None, threshold=20.0, max_asa=None,
                    max_abandon=None, max_occupancy=None, shrinkage=0.0, patience=None))]
#[allow(clippy::too_many_arguments)]
pub fn staffing<'py>(
    py: Python<'py>,
    traffic: Floats<'py>,
    aht: Floats<'py>,
    service_level: Option<f64>,
    threshold: f64,
    max_asa: Option<f64>,
    max_abandon: Option<f64>,
    max_occupancy: Option<f64>,
    shrinkage: f64,
    patience: Option<Floats<'py>>,
) -> PyResult<Bound<'py, PyDict>> {
    let (traffic, aht): (Col<f64>, Col<f64>) = (traffic.into(), aht.into());
    let patience: Option<Col<f64>> = patience.map(Into::into);
    let p = patience.as_ref();
    let (n, array) = broadcast(&[
        traffic.shape("traffic"),
        aht.shape("aht"),
        opt_shape("patience", p),
    ])?;
    let target = Target {
        service_level,
        threshold,
        max_asa,
        max_abandon,
        max_occupancy,
        shrinkage,
    };
    let out = run(py, n, array, |i| {
        erlang::staff(traffic.at(i), aht.at(i), p.map(|p| p.at(i)), &target)
    })?;
    let d = PyDict::new(py);
    let count =
        |f: fn(&erlang::Staffing) -> u64| out.iter().map(|s| f(s) as i64).collect::<Vec<i64>>();
    d.set_item("agents", int_column(py, array, count(|s| s.agents))?)?;
    d.set_item("scheduled", int_column(py, array, count(|s| s.scheduled))?)?;
    let ms: Vec<Metrics> = out.iter().map(|s| s.metrics).collect();
    metric_columns(py, array, &ms, &d)?;
    Ok(d)
}
