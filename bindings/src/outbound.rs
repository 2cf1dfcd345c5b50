//! `acdcore._core` outbound classes: `DncList`, `LeadList`, `Campaign`. Translation only; the
//! Python facade (`acdcore.outbound`) adds CSV, iterables, named profiles and "HH:MM" hours.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use acdcore::outbound::{
    AbandonProfile, Action, Agents, Campaign, Config, Disposition, DncList, LeadList, Mode, Number,
    Outcome, Refusal, Rules, ZoneMap, phone, rules,
};
use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::errors::{CoreError, CoreResult, Int};

/// Batches at least this long release the GIL (shorter ones finish before it would pay off).
const DETACH_FROM: usize = 10_000;

#[pyclass(name = "DncList", module = "acdcore._core", frozen)]
pub struct PyDncList {
    inner: Arc<DncList>,
}

#[pymethods]
impl PyDncList {
    /// `numbers`: E.164 digits (after the `+`) as uint64, any order, duplicates allowed.
    #[new]
    fn new(py: Python<'_>, numbers: PyReadonlyArray1<'_, u64>) -> PyResult<Self> {
        let v = numbers.as_array().to_vec();
        let inner = py.detach(|| Arc::new(DncList::new(v)));
        Ok(PyDncList { inner })
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn contains(&self, number: Int<u64>) -> bool {
        self.inner.contains(number.0)
    }

    /// Answers straight into the numpy result, the GIL released for long columns.
    fn contains_many<'py>(
        &self,
        py: Python<'py>,
        numbers: PyReadonlyArray1<'py, u64>,
    ) -> PyResult<Bound<'py, PyArray1<bool>>> {
        let q = numbers.as_array();
        let result = PyArray1::<bool>::zeros(py, q.len(), false);
        {
            let mut rw = result.readwrite();
            let out = rw.as_slice_mut()?;
            match q.as_slice() {
                // A private copy: Python threads may write the caller's array meanwhile.
                Some(s) if s.len() >= DETACH_FROM => {
                    let s = s.to_vec();
                    py.detach(|| self.inner.contains_into(&s, out));
                }
                Some(s) => self.inner.contains_into(s, out),
                None => {
                    for (o, &x) in out.iter_mut().zip(q.iter()) {
                        *o = self.inner.contains(x);
                    }
                }
            }
        }
        Ok(result)
    }

    /// How many of the numbers are listed, without an answer per number.
    fn count_many(&self, py: Python<'_>, numbers: PyReadonlyArray1<'_, u64>) -> usize {
        let q = numbers.as_array();
        match q.as_slice() {
            Some(s) if s.len() >= DETACH_FROM => {
                let s = s.to_vec();
                py.detach(|| self.inner.count_many(&s))
            }
            Some(s) => self.inner.count_many(s),
            None => q.iter().filter(|&&x| self.inner.contains(x)).count(),
        }
    }
}

/// Parses E.164 texts: (the numbers that parsed, their indices, (index, reason) of the others).
/// (numbers that parsed, their indices, (index, reason) of the others).
type Parsed<'py> = (
    Bound<'py, PyArray1<u64>>,
    Bound<'py, PyArray1<u64>>,
    Vec<(u64, String)>,
);

#[pyfunction]
pub fn parse_e164<'py>(py: Python<'py>, texts: Vec<String>) -> Parsed<'py> {
    let mut good = Vec::with_capacity(texts.len());
    let mut idx = Vec::with_capacity(texts.len());
    let mut bad = Vec::new();
    for (i, t) in texts.iter().enumerate() {
        match phone::parse(t) {
            Ok(n) => {
                good.push(n);
                idx.push(i as u64);
            }
            Err(reason) => bad.push((i as u64, reason)),
        }
    }
    (
        PyArray1::from_vec(py, good),
        PyArray1::from_vec(py, idx),
        bad,
    )
}

/// Phone numbers for a batch of rows: texts, or uint64 digits.
#[derive(FromPyObject)]
pub enum Numbers<'py> {
    Digits(PyReadonlyArray1<'py, u64>),
    Texts(Vec<String>),
}

/// An IANA zone argument; a bad one is a `ValueError` naming the argument.
fn zone_arg(what: &str, name: &str) -> CoreResult<acdcore::outbound::Tz> {
    acdcore::outbound::zone::parse_zone(name)
        .map_err(|e| CoreError(acdcore::Error::Invalid(format!("{what}: {e}"))))
}

#[pyclass(name = "LeadList", module = "acdcore._core", frozen)]
pub struct PyLeadList {
    inner: Mutex<LeadList>,
}

impl PyLeadList {
    fn lock(&self) -> MutexGuard<'_, LeadList> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[pymethods]
impl PyLeadList {
    /// `zone_prefixes`: (country/area code digits, IANA zone) for rows without a zone;
    /// `default_zone`: the zone when no prefix matches either (None: such rows are bad).
    #[new]
    #[pyo3(signature = (zone_prefixes=None, default_zone=None))]
    fn new(
        zone_prefixes: Option<Vec<(String, String)>>,
        default_zone: Option<String>,
    ) -> PyResult<Self> {
        let pairs: Vec<(&str, &str)> = zone_prefixes
            .iter()
            .flatten()
            .map(|(p, z)| (p.as_str(), z.as_str()))
            .collect();
        let zones = ZoneMap::new(&pairs).map_err(CoreError)?;
        let default_zone = default_zone
            .map(|z| zone_arg("default_zone", &z))
            .transpose()?;
        Ok(PyLeadList {
            inner: Mutex::new(LeadList::new(zones, default_zone)),
        })
    }

    /// Checks and adds rows; returns how many became leads. `rows` numbers them for reports.
    #[pyo3(signature = (rows, phones, zones=None, priorities=None))]
    fn push(
        &self,
        rows: PyReadonlyArray1<'_, u64>,
        phones: Numbers<'_>,
        zones: Option<Vec<Option<String>>>,
        priorities: Option<PyReadonlyArray1<'_, i64>>,
    ) -> PyResult<usize> {
        let rows = rows.as_array();
        let n = rows.len();
        let len = match &phones {
            Numbers::Digits(a) => a.len()?,
            Numbers::Texts(v) => v.len(),
        };
        let zl = zones.as_ref().map_or(n, Vec::len);
        let pl = priorities.as_ref().map_or(Ok(n), |p| p.len())?;
        if len != n || zl != n || pl != n {
            return Err(CoreError(acdcore::Error::Invalid(format!(
                "rows ({n}), phones ({len}), zones ({zl}) and priorities ({pl}) must have the same length"
            )))
            .into());
        }
        let prio = priorities.as_ref().map(|p| p.as_array());
        let digits = match &phones {
            Numbers::Digits(a) => Some(a.as_array()),
            Numbers::Texts(_) => None,
        };
        let mut l = self.lock();
        let mut added = 0;
        for i in 0..n {
            let number = match (&phones, &digits) {
                (_, Some(d)) => Number::Digits(d[i]),
                (Numbers::Texts(v), None) => Number::Text(&v[i]),
                (Numbers::Digits(_), None) => unreachable!("digits are viewed above"),
            };
            let zone = zones.as_ref().and_then(|z| z[i].as_deref());
            let p = prio.as_ref().map_or(0, |p| p[i]);
            added += usize::from(l.push(rows[i], number, zone, p));
        }
        Ok(added)
    }

    fn __len__(&self) -> usize {
        self.lock().leads.len()
    }

    /// (row, column, value, reason) of every rejected row, in the order they were seen.
    fn bad_rows(&self) -> Vec<(u64, &'static str, String, String)> {
        self.lock()
            .bad
            .iter()
            .map(|b| (b.row, b.column, b.value.clone(), b.reason.clone()))
            .collect()
    }

    /// The source row of each lead.
    fn rows<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u64>> {
        PyArray1::from_vec(py, self.lock().rows.clone())
    }

    fn numbers<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u64>> {
        PyArray1::from_vec(py, self.lock().leads.iter().map(|l| l.number).collect())
    }

    fn zones(&self) -> Vec<&'static str> {
        self.lock().leads.iter().map(|l| l.zone.name()).collect()
    }

    fn priorities<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        PyArray1::from_vec(py, self.lock().leads.iter().map(|l| l.priority).collect())
    }
}

#[pyclass(name = "Campaign", module = "acdcore._core", frozen)]
pub struct PyCampaign {
    inner: Mutex<Campaign>,
}

/// (lead, number digits, ring timeout, preferred agent).
type DialTuple = (u32, u64, f64, Option<String>);
/// (kind, lead, agent, time): the preferred agent and until when, or the message deadline.
type ActionTuple = (&'static str, u32, Option<String>, Option<f64>);

fn dial_tuple(d: acdcore::outbound::Dial) -> DialTuple {
    (
        d.lead,
        d.number,
        d.ring_timeout,
        d.preferred_agent.map(|a| a.to_string()),
    )
}

fn action_tuple(a: Action) -> ActionTuple {
    match a {
        Action::Connect { lead, preferred } => {
            let (agent, until) = preferred.map(|(a, t)| (a.to_string(), t)).unzip();
            ("connect", lead, agent, until)
        }
        Action::PlayMessage { lead } => ("play-message", lead, None, None),
        Action::PlayInfoMessage { lead, deadline } => {
            ("play-info-message", lead, None, Some(deadline))
        }
    }
}

impl PyCampaign {
    fn lock(&self) -> MutexGuard<'_, Campaign> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn with<T>(&self, f: impl FnOnce(&mut Campaign) -> acdcore::Result<T>) -> CoreResult<T> {
        Ok(f(&mut self.lock())?)
    }
}

fn lead_id(lead: Int<u32>) -> u32 {
    lead.0
}

/// The compliance rules from the Python arguments, each bad one named.
fn rules_arg(
    hours: (Int<u32>, Int<u32>),
    holidays: &[(Option<String>, String)],
    min_gap: f64,
    max_attempts: Int<u32>,
    ring_timeout: f64,
) -> PyResult<Rules> {
    let mut r = Rules::default();
    r.set_hours(hours.0.0, hours.1.0).map_err(CoreError)?;
    r.set_min_gap(min_gap).map_err(CoreError)?;
    r.set_max_attempts(max_attempts.0).map_err(CoreError)?;
    r.set_ring_timeout(ring_timeout).map_err(CoreError)?;
    for (zone, date) in holidays {
        let zone = zone
            .as_deref()
            .map(|z| zone_arg("holiday zone", z))
            .transpose()?;
        r.add_holiday(zone, rules::parse_date(date).map_err(CoreError)?);
    }
    Ok(r)
}

/// Retry delays per outcome (in `Outcome::ALL` order) from outcome name -> seconds or None;
/// the outcomes not named keep the defaults.
fn retry_arg(retry: Option<HashMap<String, Option<f64>>>) -> PyResult<[Option<f64>; 6]> {
    let mut delays = Config::default().retry;
    for (outcome, delay) in retry.into_iter().flatten() {
        let o = Outcome::parse(&outcome).map_err(CoreError)?;
        if o == Outcome::Human {
            return Err(CoreError(acdcore::Error::Invalid(
                "retry: a human answer ends in the agent's disposition, not a retry delay".into(),
            ))
            .into());
        }
        let i = Outcome::ALL.iter().position(|x| *x == o).unwrap_or(0);
        delays[i] = delay;
    }
    Ok(delays)
}

#[pymethods]
impl PyCampaign {
    /// Times are Unix seconds. `hours`: local calling hours (seconds after midnight, [start,
    /// end)); `holidays`: (IANA zone or None for every zone, "YYYY-MM-DD"); `retry`: outcome ->
    /// delay in seconds or None (end the lead).
    #[new]
    #[pyo3(signature = (id, leads, now, *, dnc=None, mode="progressive", ratio=1.0, lines=Int(1),
        hours=(Int(28_800), Int(75_600)), holidays=Vec::new(), min_gap=0.0, max_attempts=Int(3),
        ring_timeout=20.0, abandon_cap=0.03, abandon_window=2_592_000.0,
        amd_false_positive_rate=0.0, retry=None, callback_window=300.0, outbound_share=1.0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        id: &str,
        leads: &PyLeadList,
        now: f64,
        dnc: Option<&PyDncList>,
        mode: &str,
        ratio: f64,
        lines: Int<u32>,
        hours: (Int<u32>, Int<u32>),
        holidays: Vec<(Option<String>, String)>,
        min_gap: f64,
        max_attempts: Int<u32>,
        ring_timeout: f64,
        abandon_cap: f64,
        abandon_window: f64,
        amd_false_positive_rate: f64,
        retry: Option<HashMap<String, Option<f64>>>,
        callback_window: f64,
        outbound_share: f64,
    ) -> PyResult<Self> {
        let mut cfg = Config {
            mode: Mode::parse(mode).map_err(CoreError)?,
            ratio,
            lines: lines.0,
            abandon: AbandonProfile {
                cap: abandon_cap,
                window: abandon_window,
                amd_false_positive_rate,
            },
            callback_window,
            outbound_share,
            ..Config::default()
        };
        cfg.rules = rules_arg(hours, &holidays, min_gap, max_attempts, ring_timeout)?;
        cfg.retry = retry_arg(retry)?;
        let dnc = dnc.map(|d| d.inner.clone()).unwrap_or_default();
        let list = leads.lock();
        let c = Campaign::new(id, cfg, &list.leads, dnc, now).map_err(CoreError)?;
        Ok(PyCampaign {
            inner: Mutex::new(c),
        })
    }

    /// New rules from now on (`Campaign::set_rules`: hours, holidays, gap, attempts, ring,
    /// retry delays, callback window, outbound share; the abandonment profile stays).
    #[pyo3(signature = (*, hours, holidays, min_gap, max_attempts, ring_timeout, retry,
        callback_window, outbound_share))]
    #[allow(clippy::too_many_arguments)]
    fn set_rules(
        &self,
        hours: (Int<u32>, Int<u32>),
        holidays: Vec<(Option<String>, String)>,
        min_gap: f64,
        max_attempts: Int<u32>,
        ring_timeout: f64,
        retry: Option<HashMap<String, Option<f64>>>,
        callback_window: f64,
        outbound_share: f64,
    ) -> PyResult<()> {
        let rules = rules_arg(hours, &holidays, min_gap, max_attempts, ring_timeout)?;
        let retry = retry_arg(retry)?;
        self.lock()
            .set_rules(rules, retry, callback_window, outbound_share)
            .map_err(|e| CoreError(e).into())
    }

    #[getter]
    fn id(&self) -> String {
        self.lock().id().to_owned()
    }

    #[getter]
    fn mode(&self) -> &'static str {
        self.lock().mode().as_str()
    }

    #[getter]
    fn ratio(&self) -> f64 {
        self.lock().config().ratio
    }

    #[getter]
    fn lines(&self) -> u32 {
        self.lock().config().lines
    }

    #[getter]
    fn state(&self) -> &'static str {
        self.lock().run_state()
    }

    fn __len__(&self) -> usize {
        self.lock().len()
    }

    /// The whole campaign state (leads' attempts, retries, callbacks, the abandonment window,
    /// statistics, the clock) as versioned bytes; the DNC list is not in it.
    fn snapshot<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        let bytes = self.lock().snapshot();
        PyBytes::new(py, &bytes)
    }

    /// A campaign from `snapshot()` bytes, with `dnc` as its do-not-call list.
    #[staticmethod]
    #[pyo3(signature = (data, dnc=None))]
    fn restore(data: &[u8], dnc: Option<&PyDncList>) -> PyResult<Self> {
        let dnc = dnc.map(|d| d.inner.clone()).unwrap_or_default();
        let c = Campaign::restore(data, dnc).map_err(CoreError)?;
        Ok(PyCampaign {
            inner: Mutex::new(c),
        })
    }

    /// Counts the changes a snapshot keeps (an idle tick adds none): save when it moved.
    #[getter]
    fn changes(&self) -> u64 {
        self.lock().changes()
    }

    /// After `restore`: closes the leads whose calls died with the process; (lead, the
    /// state it was in) for each.
    fn interrupted(&self, now: f64) -> CoreResult<Vec<(u32, &'static str)>> {
        let cut = self.with(|c| c.interrupted(now))?;
        Ok(cut.into_iter().map(|(l, s)| (l, s.as_str())).collect())
    }

    fn start(&self, now: f64) -> CoreResult<()> {
        self.with(|c| c.start(now))
    }

    fn pause(&self, now: f64) -> CoreResult<()> {
        self.with(|c| c.pause(now))
    }

    fn stop(&self, now: f64) -> CoreResult<()> {
        self.with(|c| c.stop(now))
    }

    #[pyo3(signature = (mode, ratio=None, lines=None))]
    fn set_mode(&self, mode: &str, ratio: Option<f64>, lines: Option<Int<u32>>) -> CoreResult<()> {
        let mode = Mode::parse(mode)?;
        self.with(|c| c.set_mode(mode, ratio, lines.map(|l| l.0)))
    }

    #[pyo3(signature = (now, ready, staffed, dials_wanted=None))]
    fn tick(
        &self,
        now: f64,
        ready: Int<u32>,
        staffed: Int<u32>,
        dials_wanted: Option<Int<u32>>,
    ) -> CoreResult<Vec<DialTuple>> {
        let agents = Agents {
            ready: ready.0,
            staffed: staffed.0,
        };
        let dials = self.with(|c| c.tick(now, agents, dials_wanted.map(|d| d.0)))?;
        Ok(dials.into_iter().map(dial_tuple).collect())
    }

    fn preview(&self, now: f64) -> CoreResult<Option<u32>> {
        self.with(|c| c.preview(now))
    }

    fn release(&self, lead: Int<u32>, now: f64) -> CoreResult<()> {
        self.with(|c| c.release(lead_id(lead), now))
    }

    /// Adds lead `index` of `leads` (a row pushed there for it) to the running campaign, as
    /// its next lead; returns that lead's index here.
    fn add_lead(&self, leads: &PyLeadList, index: Int<u32>) -> CoreResult<u32> {
        let lead = leads.lock().leads.get(index.0 as usize).copied();
        let lead = lead.ok_or_else(|| acdcore::Error::Unknown {
            kind: "lead",
            id: index.0.to_string(),
        })?;
        self.with(|c| c.add_lead(lead))
    }

    fn dial(&self, lead: Int<u32>, now: f64) -> CoreResult<DialTuple> {
        Ok(dial_tuple(self.with(|c| c.dial(lead_id(lead), now))?))
    }

    fn dial_result(&self, lead: Int<u32>, outcome: &str, now: f64) -> CoreResult<Vec<ActionTuple>> {
        let outcome = Outcome::parse(outcome)?;
        let actions = self.with(|c| c.dial_result(lead_id(lead), outcome, now))?;
        Ok(actions.into_iter().map(action_tuple).collect())
    }

    fn abandon(&self, lead: Int<u32>, now: f64) -> CoreResult<ActionTuple> {
        Ok(action_tuple(self.with(|c| c.abandon(lead_id(lead), now))?))
    }

    fn connect(&self, lead: Int<u32>, now: f64) -> CoreResult<()> {
        self.with(|c| c.connect(lead_id(lead), now))
    }

    fn hangup(&self, lead: Int<u32>, now: f64) -> CoreResult<()> {
        self.with(|c| c.hangup(lead_id(lead), now))
    }

    /// `callback_at` None: final. Otherwise call back then, offered first to `agent`.
    #[pyo3(signature = (lead, now, callback_at=None, agent=None))]
    fn disposition(
        &self,
        lead: Int<u32>,
        now: f64,
        callback_at: Option<f64>,
        agent: Option<String>,
    ) -> CoreResult<()> {
        let d = match callback_at {
            None => Disposition::Final,
            Some(at) => Disposition::Callback {
                at,
                agent: agent.map(Into::into),
            },
        };
        self.with(|c| c.disposition(lead_id(lead), d, now))
    }

    fn lead<'py>(&self, py: Python<'py>, lead: Int<u32>) -> PyResult<Bound<'py, PyDict>> {
        let v = self.lock().lead(lead.0).map_err(CoreError)?;
        let d = PyDict::new(py);
        d.set_item("number", phone::format(v.number))?;
        d.set_item("timezone", v.zone)?;
        d.set_item("priority", v.priority)?;
        d.set_item("state", v.state.as_str())?;
        d.set_item("attempts", v.attempts)?;
        d.set_item("last_attempt", v.last_attempt)?;
        d.set_item("outcome", v.outcome.map(Outcome::as_str))?;
        d.set_item("refusal", v.refusal.map(Refusal::as_str))?;
        let (agent, until) = v.preferred_agent.map(|(a, t)| (a.to_string(), t)).unzip();
        d.set_item("preferred_agent", agent)?;
        d.set_item("preferred_until", until)?;
        Ok(d)
    }

    /// The rules in force (`set_rules`' arguments, holidays left out) and the profile.
    fn rules<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let c = self.lock();
        let cfg = c.config();
        let d = PyDict::new(py);
        d.set_item("hours", cfg.rules.hours)?;
        d.set_item("min_gap", cfg.rules.min_gap)?;
        d.set_item("max_attempts", cfg.rules.max_attempts)?;
        d.set_item("ring_timeout", cfg.rules.ring_timeout)?;
        let retry = PyDict::new(py);
        for (o, delay) in Outcome::ALL.iter().zip(cfg.retry) {
            if *o != Outcome::Human {
                retry.set_item(o.as_str(), delay)?;
            }
        }
        d.set_item("retry", retry)?;
        d.set_item("callback_window", cfg.callback_window)?;
        d.set_item("outbound_share", cfg.outbound_share)?;
        d.set_item("abandon_cap", cfg.abandon.cap)?;
        d.set_item("abandon_window", cfg.abandon.window)?;
        Ok(d)
    }

    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.lock().stats();
        let d = PyDict::new(py);
        d.set_item("dials", s.dials)?;
        d.set_item("connects", s.connects)?;
        d.set_item("machines", s.machines)?;
        d.set_item("no_answers", s.no_answers)?;
        d.set_item("busy", s.busy)?;
        d.set_item("failed", s.failed)?;
        d.set_item("abandoned", s.abandoned)?;
        d.set_item("answer_rate", s.answer_rate)?;
        d.set_item("machine_rate", s.machine_rate)?;
        d.set_item("abandon_rate", s.abandon_rate)?;
        d.set_item("talk_time", s.talk_time)?;
        d.set_item("agent_time", s.agent_time)?;
        d.set_item("occupancy", s.occupancy)?;
        d.set_item("in_flight", s.in_flight)?;
        d.set_item("leads_left", s.leads_left)?;
        d.set_item("capped", s.capped)?;
        let refused = PyDict::new(py);
        for (r, n) in Refusal::ALL.iter().zip(s.refused) {
            refused.set_item(r.as_str(), n)?;
        }
        d.set_item("refused", refused)?;
        Ok(d)
    }
}
