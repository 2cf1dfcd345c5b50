//! Volume forecasting (`acdcore.forecast` wraps these): numpy arrays in and out; binning and
//! fitting copy their inputs and run without the GIL.

use acdcore::forecast::{self, Errors, Grid, Params, Profile};
use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::{CoreError, Int};

type Column<'py> = Bound<'py, PyArray1<f64>>;

fn grid(interval: Int<u32>, utc_offset: Int<i32>) -> PyResult<Grid> {
    Ok(Grid::new(interval.0, utc_offset.0).map_err(CoreError)?)
}

/// Bins call records or per-interval counts into whole local days of intervals. Returns (first
/// interval number, calls per interval, mean handle time per interval of the day, NaN where
/// the history has none, mean handle time overall or None).
#[pyfunction]
#[pyo3(signature = (times, calls, handled, handle_sum, *, interval, utc_offset))]
pub fn bin_history<'py>(
    py: Python<'py>,
    times: PyReadonlyArray1<'py, f64>,
    calls: PyReadonlyArray1<'py, f64>,
    handled: PyReadonlyArray1<'py, f64>,
    handle_sum: PyReadonlyArray1<'py, f64>,
    interval: Int<u32>,
    utc_offset: Int<i32>,
) -> PyResult<(i64, Column<'py>, Column<'py>, Option<f64>)> {
    let g = grid(interval, utc_offset)?;
    let inputs = [times, calls, handled, handle_sum].map(|a| a.as_array().to_vec());
    let (binned, aht, mean) = py
        .detach(|| {
            let [t, c, h, s] = &inputs;
            let b = forecast::bin(g, t, c, h, s)?;
            let aht = forecast::aht_by_slot_of_day(g, b.first, &b.handled, &b.handle_sum);
            let mean = forecast::mean_aht(&b.handled, &b.handle_sum);
            Ok((b, aht, mean))
        })
        .map_err(CoreError)?;
    let aht: Vec<f64> = aht.into_iter().map(|a| a.unwrap_or(f64::NAN)).collect();
    Ok((
        binned.first,
        PyArray1::from_vec(py, binned.calls),
        PyArray1::from_vec(py, aht),
        mean,
    ))
}

fn params_dict<'py>(py: Python<'py>, p: Params) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("alpha", p.alpha)?;
    d.set_item("beta", p.beta)?;
    d.set_item("gamma", p.gamma)?;
    Ok(d)
}

fn errors_dict<'py>(py: Python<'py>, e: Errors) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("n", e.n)?;
    d.set_item("mape", e.mape)?;
    d.set_item("wape", e.wape)?;
    d.set_item("rmse", e.rmse)?;
    Ok(d)
}

/// Fits the history (`calls` from interval `first`, whole local days) and forecasts `horizon`
/// intervals, holding out the last `holdout_days` days to score the method first. Returns a
/// dict: params, holdout, naive, holdout_params (None without a holdout), trend_per_day,
/// forecast.
#[pyfunction]
#[pyo3(signature = (first, calls, *, interval, utc_offset, horizon, holdout_days))]
pub fn fit_history<'py>(
    py: Python<'py>,
    first: Int<i64>,
    calls: PyReadonlyArray1<'py, f64>,
    interval: Int<u32>,
    utc_offset: Int<i32>,
    horizon: Int<u32>,
    holdout_days: Int<u32>,
) -> PyResult<Bound<'py, PyDict>> {
    let g = grid(interval, utc_offset)?;
    let calls = calls.as_array().to_vec();
    let fit = py
        .detach(|| {
            forecast::fit(
                g,
                first.0,
                &calls,
                horizon.0 as usize,
                holdout_days.0 as usize,
            )
        })
        .map_err(CoreError)?;
    let d = PyDict::new(py);
    d.set_item("params", params_dict(py, fit.params)?)?;
    let opt_errors = |e: Option<Errors>| e.map(|e| errors_dict(py, e)).transpose();
    d.set_item("holdout", opt_errors(fit.holdout)?)?;
    d.set_item("naive", opt_errors(fit.naive)?)?;
    let hp = fit.holdout_params.map(|p| params_dict(py, p)).transpose()?;
    d.set_item("holdout_params", hp)?;
    d.set_item("trend_per_day", fit.trend_per_day)?;
    d.set_item("forecast", PyArray1::from_vec(py, fit.forecast))?;
    Ok(d)
}

/// Spreads `total` calls over the `n` intervals from `first` by a week profile (one weight per
/// interval of the week, Monday 00:00 local time first); the parts add up to `total`.
#[pyfunction]
#[pyo3(signature = (total, first, n, weights, *, interval, utc_offset))]
pub fn spread_volume<'py>(
    py: Python<'py>,
    total: f64,
    first: Int<i64>,
    n: Int<u32>,
    weights: PyReadonlyArray1<'py, f64>,
    interval: Int<u32>,
    utc_offset: Int<i32>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let g = grid(interval, utc_offset)?;
    let p = Profile::new(g, weights.as_array().to_vec()).map_err(CoreError)?;
    let out = p
        .spread(g, total, first.0, n.0 as usize)
        .map_err(CoreError)?;
    Ok(PyArray1::from_vec(py, out))
}

/// The week profile of a history (`calls` from interval `first`): each interval of the week's
/// mean calls as a share of the mean week.
#[pyfunction]
#[pyo3(signature = (first, calls, *, interval, utc_offset))]
pub fn learn_profile<'py>(
    py: Python<'py>,
    first: Int<i64>,
    calls: PyReadonlyArray1<'py, f64>,
    interval: Int<u32>,
    utc_offset: Int<i32>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let g = grid(interval, utc_offset)?;
    let p = Profile::learn(g, first.0, &calls.as_array().to_vec()).map_err(CoreError)?;
    Ok(PyArray1::from_slice(py, p.weights()))
}
