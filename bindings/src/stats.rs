//! Read-only views as typed Python objects.

use std::collections::HashMap;

use acdcore::{AgentInfo, AgentState, CallInfo, QueueStats};
use pyo3::prelude::*;

#[pyclass(name = "QueueStats", module = "acdcore._core", frozen, get_all)]
pub struct PyQueueStats {
    pub id: String,
    pub strategy: &'static str,
    pub offered: u64,
    pub answered: u64,
    pub abandoned: u64,
    pub answered_within_sl: u64,
    pub timed_out: u64,
    pub overflowed: u64,
    pub fallback: u64,
    pub waiting: u64,
    pub ended: u64,
    pub service_level: Option<f64>,
    pub asa: Option<f64>,
    pub aht: Option<f64>,
    pub longest_wait: f64,
    pub agents: HashMap<&'static str, u32>,
    pub estimated_wait: Option<f64>,
}

impl From<QueueStats> for PyQueueStats {
    fn from(s: QueueStats) -> Self {
        PyQueueStats {
            id: s.id.to_string(),
            strategy: s.strategy.as_str(),
            offered: s.offered,
            answered: s.answered,
            abandoned: s.abandoned,
            answered_within_sl: s.answered_within_sl,
            timed_out: s.timed_out,
            overflowed: s.overflowed,
            fallback: s.fallback,
            waiting: s.waiting,
            ended: s.ended,
            service_level: s.service_level,
            asa: s.asa,
            aht: s.aht,
            longest_wait: s.longest_wait,
            agents: AgentState::ALL
                .iter()
                .map(|k| (k.as_str(), s.agents[k.index()]))
                .collect(),
            estimated_wait: s.estimated_wait,
        }
    }
}

#[pymethods]
impl PyQueueStats {
    fn __repr__(&self) -> String {
        format!(
            "QueueStats(id={:?}, offered={}, answered={}, abandoned={}, waiting={}, service_level={})",
            self.id,
            self.offered,
            self.answered,
            self.abandoned,
            self.waiting,
            self.service_level
                .map_or("None".to_owned(), |v| v.to_string())
        )
    }
}

#[pyclass(name = "AgentInfo", module = "acdcore._core", frozen, get_all)]
pub struct PyAgentInfo {
    pub id: String,
    pub state: &'static str,
    pub pause_reason: Option<String>,
    pub pending_pause: bool,
    pub pending_logout: bool,
    pub login_seq: u64,
    pub login_time: f64,
    pub idle_since: f64,
    pub calls: u64,
    pub calls_per_queue: Vec<(String, u64)>,
    pub talk_time: f64,
    /// Seconds in each state since login, by state name.
    pub state_time: HashMap<&'static str, f64>,
    pub active_calls: Vec<String>,
    pub offers: Vec<String>,
    pub resting: bool,
    pub no_answers: u32,
    pub limit: u32,
    pub skills: HashMap<String, u8>,
}

impl From<AgentInfo> for PyAgentInfo {
    fn from(a: AgentInfo) -> Self {
        PyAgentInfo {
            id: a.id.to_string(),
            state: a.state.as_str(),
            pause_reason: a.pause_reason.map(|r| r.to_string()),
            pending_pause: a.pending_pause,
            pending_logout: a.pending_logout,
            login_seq: a.login_seq,
            login_time: a.login_time,
            idle_since: a.idle_since,
            calls: a.calls,
            calls_per_queue: a
                .queues
                .into_iter()
                .map(|(q, n)| (q.to_string(), n))
                .collect(),
            talk_time: a.talk_time,
            state_time: acdcore::AgentState::ALL
                .iter()
                .map(|s| (s.as_str(), a.state_time[s.index()]))
                .collect(),
            active_calls: a.active_calls.iter().map(|c| c.to_string()).collect(),
            offers: a.offers.iter().map(|c| c.to_string()).collect(),
            resting: a.resting,
            no_answers: a.no_answers,
            limit: a.limit,
            skills: a.skills.into_iter().collect(),
        }
    }
}

#[pymethods]
impl PyAgentInfo {
    fn __repr__(&self) -> String {
        format!(
            "AgentInfo(id={:?}, state={:?}, calls={})",
            self.id, self.state, self.calls
        )
    }
}

#[pyclass(name = "CallInfo", module = "acdcore._core", frozen, get_all)]
pub struct PyCallInfo {
    pub id: String,
    pub queue: String,
    pub state: &'static str,
    pub priority: f64,
    pub arrival: f64,
    pub position: Option<usize>,
    pub agents: Vec<String>,
    pub max_wait_exempt: bool,
    pub parked: bool,
}

impl From<CallInfo> for PyCallInfo {
    fn from(c: CallInfo) -> Self {
        PyCallInfo {
            id: c.id.to_string(),
            queue: c.queue.to_string(),
            state: c.state,
            priority: c.priority,
            arrival: c.arrival,
            position: c.position,
            agents: c.agents.iter().map(|a| a.to_string()).collect(),
            max_wait_exempt: c.max_wait_exempt,
            parked: c.parked,
        }
    }
}

#[pymethods]
impl PyCallInfo {
    fn __repr__(&self) -> String {
        format!(
            "CallInfo(id={:?}, queue={:?}, state={:?}, position={:?})",
            self.id, self.queue, self.state, self.position
        )
    }
}
