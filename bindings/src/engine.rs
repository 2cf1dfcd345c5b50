//! `acdcore.Engine`: plain Python values in, typed events out. The engine sits behind a mutex
//! (the class is frozen and shareable across threads); single operations hold the GIL (they
//! take microseconds), batch operations copy their inputs and release it.

use std::collections::HashMap;

use std::sync::{Mutex, MutexGuard};

use acdcore::{
    Action, Engine, EscalationStep, EventNames, Id, NewCall, OnLimit, Options, QueueConfig,
    RawEvent, RawEvents,
};
use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

use crate::errors::{CoreError, CoreResult, Int};
use crate::event::{PyEvent, to_py};
use crate::stats::{PyAgentInfo, PyCallInfo, PyQueueStats};

#[pyclass(name = "Engine", module = "acdcore._core", frozen)]
pub struct PyEngine {
    inner: Mutex<Engine>,
    names: Mutex<NameCache>,
}

/// Call ids for batch calls: a list of str, or integers (formatted in decimal).
#[derive(FromPyObject)]
pub enum Ids<'py> {
    Ints(PyReadonlyArray1<'py, i64>),
    Strs(Vec<String>),
}

impl Ids<'_> {
    fn is_ints(&self) -> bool {
        matches!(self, Ids::Ints(_))
    }

    fn into_strings(self) -> Vec<String> {
        match self {
            Ids::Ints(a) => a.as_array().iter().map(|i| i.to_string()).collect(),
            Ids::Strs(v) => v,
        }
    }
}

/// Queues for a batch: one name for every call, or one per call.
#[derive(FromPyObject)]
pub enum Queues {
    One(String),
    Many(Vec<String>),
}

/// Agent queues at login: names (weight 1 each) or a mapping name -> weight, in the order
/// given (it is the agent's queue order).
#[derive(FromPyObject)]
pub enum Memberships<'py> {
    Weighted(Bound<'py, PyDict>),
    Names(Vec<String>),
}

impl Memberships<'_> {
    fn pairs(self) -> PyResult<Vec<(String, u32)>> {
        match self {
            Memberships::Names(v) => Ok(v.into_iter().map(|q| (q, 1)).collect()),
            Memberships::Weighted(d) => d
                .iter()
                .map(|(k, v)| Ok((k.extract()?, v.extract::<Int<u32>>()?.0)))
                .collect(),
        }
    }
}

fn parse_step(item: &Bound<'_, PyAny>) -> PyResult<EscalationStep> {
    let shape = "an escalation step is a tuple (after, action[, arg])";
    let tuple = item
        .cast::<PyTuple>()
        .map_err(|_| PyTypeError::new_err(shape))?;
    if !(2..=3).contains(&tuple.len()) {
        return Err(PyValueError::new_err(format!(
            "{shape}, got {}",
            item.repr()?
        )));
    }
    let after: f64 = tuple.get_item(0)?.extract()?;
    let action: String = tuple.get_item(1)?.extract()?;
    let arg = if tuple.len() > 2 {
        Some(tuple.get_item(2)?)
    } else {
        None
    };
    let need = |what: &str| {
        arg.clone().ok_or_else(|| {
            PyValueError::new_err(format!("escalation action {action:?} needs {what}"))
        })
    };
    let action = match action.as_str() {
        "lower-skills" => Action::LowerSkills(need("a level step (int)")?.extract::<Int<u8>>()?.0),
        "clear-skills" => Action::ClearSkills,
        "add-queues" => Action::AddQueues(need("a list of queue ids")?.extract()?),
        "raise-priority" => {
            Action::RaisePriority(need("a priority step (int)")?.extract::<Int<i64>>()?.0)
        }
        "fallback" => Action::Fallback(need("a target name (str)")?.extract()?),
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown escalation action {other:?} (expected lower-skills, clear-skills, \
                 add-queues, raise-priority or fallback)"
            )));
        }
    };
    Ok(EscalationStep { after, action })
}

fn skill_pairs(skills: &Option<HashMap<String, Int<i64>>>) -> Vec<(&str, i64)> {
    skills
        .iter()
        .flatten()
        .map(|(k, v)| (k.as_str(), v.0))
        .collect()
}

/// Agent and queue ids live as long as the engine and their numbers never change, so each
/// becomes one Python string, kept for every later batch (by the engine's agent and queue
/// numbers, as raw events name them).
#[derive(Default)]
struct NameCache {
    agents: Vec<Option<Py<PyString>>>,
    queues: Vec<Option<Py<PyString>>>,
}

/// No agent or queue in an event's column.
const NONE: u32 = u32::MAX;

/// An event's call slot, agent and queue numbers (`NONE` where the kind has none), and its
/// seconds: the wait of a connected or abandoned call, the talk of an ended one, else NaN.
fn parts(ev: &RawEvent) -> (Option<u32>, u32, u32, f64) {
    match *ev {
        RawEvent::Assign {
            call,
            agent,
            queue,
            wait,
            ..
        } => (Some(call), agent, queue, wait),
        RawEvent::End {
            call,
            agent,
            queue,
            talk,
            ..
        } => (Some(call), agent, queue, talk),
        RawEvent::Abandon {
            call, queue, wait, ..
        }
        | RawEvent::Withdraw {
            call, queue, wait, ..
        }
        | RawEvent::Timeout {
            call, queue, wait, ..
        }
        | RawEvent::Fallback {
            call, queue, wait, ..
        } => (Some(call), NONE, queue, wait),
        RawEvent::Overflow {
            call, from, wait, ..
        } => (Some(call), NONE, from, wait),
        RawEvent::Escalate { call, queue, .. } | RawEvent::Offer { call, queue, .. } => {
            (Some(call), NONE, queue, f64::NAN)
        }
        RawEvent::Unoffer { call, agent, .. } => (Some(call), agent, NONE, f64::NAN),
        RawEvent::AutoPause { agent, .. } => (None, agent, NONE, f64::NAN),
    }
}

/// Call ids of a batch's events: integers when the batch gave integer ids and every event's
/// call id parses, else the ids as text (back to back, `ends[i]` closing event i's; `None`
/// for an event with no call).
enum CallColumn {
    Ints(Vec<i64>),
    Text {
        text: String,
        ends: Vec<Option<usize>>,
    },
}

/// A batch's events as columns, read from the engine's raw events with the GIL released;
/// agents and queues stay numbers until `columns` turns them into the cached Python strings.
struct Gathered {
    kind: Vec<u8>,
    t: Vec<f64>,
    wait: Vec<f64>,
    agent: Vec<u32>,
    queue: Vec<u32>,
    call: CallColumn,
}

fn gather(raw: &RawEvents, names: &EventNames<'_>, int_calls: bool) -> Gathered {
    let n = raw.events.len();
    let mut g = Gathered {
        kind: Vec::with_capacity(n),
        t: Vec::with_capacity(n),
        wait: Vec::with_capacity(n),
        agent: Vec::with_capacity(n),
        queue: Vec::with_capacity(n),
        call: CallColumn::Ints(Vec::new()),
    };
    for ev in &raw.events {
        let (_, a, q, secs) = parts(ev);
        g.kind.push(ev.code());
        g.t.push(ev.t());
        g.wait.push(secs);
        g.agent.push(a);
        g.queue.push(q);
    }
    let calls = || raw.events.iter().map(|ev| parts(ev).0);
    let ints: Option<Vec<i64>> = int_calls
        .then(|| {
            calls()
                .map(|c| c.map_or(Some(-1), |c| names.call(c).parse().ok()))
                .collect()
        })
        .flatten();
    g.call = match ints {
        Some(ints) => CallColumn::Ints(ints),
        None => {
            let mut text = String::new();
            let ends = calls()
                .map(|c| {
                    c.map(|c| {
                        text.push_str(names.call(c));
                        text.len()
                    })
                })
                .collect();
            CallColumn::Text { text, ends }
        }
    };
    g
}

/// The Python string of agent or queue number `i`, made the first time it is asked for.
fn cached<'py>(
    py: Python<'py>,
    cache: &mut Vec<Option<Py<PyString>>>,
    i: u32,
    id: impl FnOnce() -> Id,
) -> Bound<'py, PyAny> {
    let i = i as usize;
    if cache.len() <= i {
        cache.resize_with(i + 1, || None);
    }
    cache[i]
        .get_or_insert_with(|| PyString::new(py, &id()).unbind())
        .bind(py)
        .clone()
        .into_any()
}

/// Events of a batch as columns: kind codes (index into `EVENT_KINDS`), times, seconds (the
/// wait, or the talk of an `end`; NaN where a kind has neither) and ids. Call ids come back as
/// an int64 array (-1 where an event has no call) when the batch gave them as integers and
/// every one parses; otherwise as a list of str.
fn columns<'py>(py: Python<'py>, g: Gathered, engine: &PyEngine) -> PyResult<Bound<'py, PyDict>> {
    let mut names = engine.names.lock().unwrap_or_else(|p| p.into_inner());
    let names = &mut *names;
    // Ids are read from the engine only for a number not cached yet (the first batches); the
    // GIL is held, as in every single operation, so this lock order is the usual one.
    let mut e: Option<MutexGuard<'_, Engine>> = None;
    let none = py.None().into_bound(py);
    let mut id_list = |nums: &[u32], cache: &mut Vec<Option<Py<PyString>>>, agents: bool| {
        let items = nums.iter().map(|&i| {
            if i == NONE {
                return none.clone();
            }
            cached(py, cache, i, || {
                let e = e.get_or_insert_with(|| engine.lock());
                let id = if agents {
                    e.agent_id_at(i)
                } else {
                    e.queue_id_at(i)
                };
                id.expect("an event's agent or queue exists").clone()
            })
        });
        PyList::new(py, items)
    };
    let agent = id_list(&g.agent, &mut names.agents, true)?;
    let queue = id_list(&g.queue, &mut names.queues, false)?;
    let d = PyDict::new(py);
    d.set_item("kind", PyArray1::from_vec(py, g.kind))?;
    d.set_item("t", PyArray1::from_vec(py, g.t))?;
    d.set_item("wait", PyArray1::from_vec(py, g.wait))?;
    match g.call {
        CallColumn::Ints(ids) => d.set_item("call", PyArray1::from_vec(py, ids))?,
        CallColumn::Text { text, ends } => {
            let mut from = 0;
            let items = ends.iter().map(|end| match *end {
                None => none.clone(),
                Some(end) => {
                    let s = PyString::new(py, &text[from..end]).into_any();
                    from = end;
                    s
                }
            });
            d.set_item("call", PyList::new(py, items)?)?;
        }
    }
    d.set_item("agent", agent)?;
    d.set_item("queue", queue)?;
    Ok(d)
}

impl PyEngine {
    fn lock(&self) -> MutexGuard<'_, Engine> {
        // A panic cannot leave the engine half-changed in a way Python could observe (none
        // crosses the boundary), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs one operation and returns its events.
    fn op(&self, f: impl FnOnce(&mut Engine) -> acdcore::Result<()>) -> CoreResult<Vec<PyEvent>> {
        let mut e = self.lock();
        f(&mut e)?;
        Ok(to_py(e.take_events()))
    }

    /// Runs a batch without the GIL; on a bad item, stops there and keeps the events of the
    /// items before it for `take_events()`. The events are read once, at the end, from the
    /// engine's raw events (no public `Event` built): slots of calls that ended in the batch
    /// are reused only after that read, so every event still names its own call.
    fn batch<'py>(
        &self,
        py: Python<'py>,
        n: usize,
        int_calls: bool,
        f: impl Fn(&mut Engine, usize) -> acdcore::Result<()> + Send + Sync,
    ) -> PyResult<Bound<'py, PyDict>> {
        let result = py.detach(|| {
            let mut e = self.lock();
            for i in 0..n {
                // The pending events stay in the engine, for take_events().
                f(&mut e, i).map_err(|err| (i, err))?;
            }
            Ok(e.with_raw_events(|raw, names| gather(raw, names, int_calls)))
        });
        match result {
            Ok(g) => columns(py, g, self),
            Err((i, err)) => {
                let msg = format!("item {i}: {err} (items before it were applied)");
                Err(CoreError(match err {
                    acdcore::Error::Unknown { .. } => acdcore::Error::Invalid(msg),
                    acdcore::Error::Invalid(_) => acdcore::Error::Invalid(msg),
                    acdcore::Error::State(_) => acdcore::Error::State(msg),
                })
                .into())
            }
        }
    }
}

fn check_len(what: &str, got: usize, want: usize) -> PyResult<()> {
    if got != want {
        return Err(PyValueError::new_err(format!(
            "{what} has {got} items, expected {want}"
        )));
    }
    Ok(())
}

#[pymethods]
impl PyEngine {
    #[new]
    #[pyo3(signature = (*, seed = Int(0), auto_accept = false),
        text_signature = "(*, seed=0, auto_accept=False)")]
    fn new(seed: Int<u64>, auto_accept: bool) -> Self {
        let options = Options {
            seed: seed.0,
            auto_accept,
        };
        PyEngine {
            inner: Mutex::new(Engine::new(options)),
            names: Mutex::default(),
        }
    }

    #[getter]
    fn now(&self) -> f64 {
        self.lock().now()
    }

    /// When the next timer fires (a wrap-up ending, an offer timing out...), or None: a
    /// discrete-event host advances to it instead of polling.
    fn next_timer_at(&self) -> Option<f64> {
        self.lock().next_timer_at()
    }

    #[getter]
    fn auto_accept(&self) -> bool {
        self.lock().auto_accept()
    }

    #[pyo3(signature = (id, *, strategy = "longest-idle", wrapup = 0.0, weight = 0.0, sl = 20.0,
        max_waiting = None, max_wait = None, overflow = None, ring_timeout = 15.0, retry = 5.0,
        max_no_answers = Int(3), aging = 0.0, escalation = None),
        text_signature = "(self, /, id, *, strategy='longest-idle', wrapup=0.0, weight=0.0, \
        sl=20.0, max_waiting=None, max_wait=None, overflow=None, ring_timeout=15.0, retry=5.0, \
        max_no_answers=3, aging=0.0, escalation=None)")]
    #[allow(clippy::too_many_arguments)]
    fn add_queue(
        &self,
        id: &str,
        strategy: &str,
        wrapup: f64,
        weight: f64,
        sl: f64,
        max_waiting: Option<Int<u32>>,
        max_wait: Option<f64>,
        overflow: Option<String>,
        ring_timeout: f64,
        retry: f64,
        max_no_answers: Int<u32>,
        aging: f64,
        escalation: Option<Vec<Bound<'_, PyAny>>>,
    ) -> PyResult<()> {
        let cfg = QueueConfig {
            strategy: strategy.parse().map_err(CoreError)?,
            wrapup,
            weight,
            sl,
            max_waiting: max_waiting.map(|m| m.0),
            max_wait,
            on_limit: overflow.map_or(OnLimit::End, OnLimit::Overflow),
            ring_timeout,
            retry,
            max_no_answers: max_no_answers.0,
            aging,
            escalation: escalation
                .iter()
                .flatten()
                .map(parse_step)
                .collect::<PyResult<_>>()?,
        };
        Ok(self.lock().add_queue(id, cfg).map_err(CoreError)?)
    }

    #[pyo3(signature = (now, agent, *, skills = None, queues = None, limit = Int(1)),
        text_signature = "(self, /, now, agent, *, skills=None, queues=None, limit=1)")]
    fn login(
        &self,
        now: f64,
        agent: &str,
        skills: Option<HashMap<String, Int<i64>>>,
        queues: Option<Memberships<'_>>,
        limit: Int<u32>,
    ) -> PyResult<Vec<PyEvent>> {
        let limit = limit.0;
        let queues = queues.map_or(Ok(Vec::new()), Memberships::pairs)?;
        let queues: Vec<(&str, u32)> = queues.iter().map(|(q, w)| (q.as_str(), *w)).collect();
        let skills = skill_pairs(&skills);
        Ok(self.op(|e| e.login(now, agent, &skills, &queues, limit))?)
    }

    fn logout(&self, now: f64, agent: &str) -> PyResult<Vec<PyEvent>> {
        Ok(self.op(|e| e.logout(now, agent))?)
    }

    #[pyo3(signature = (now, agent, reason = "break"))]
    fn pause(&self, now: f64, agent: &str, reason: &str) -> PyResult<Vec<PyEvent>> {
        Ok(self.op(|e| e.pause(now, agent, reason))?)
    }

    fn unpause(&self, now: f64, agent: &str) -> PyResult<Vec<PyEvent>> {
        Ok(self.op(|e| e.unpause(now, agent))?)
    }

    #[pyo3(signature = (now, call, queue, *, priority = Int(0), skills = None,
        preferred_agent = None, preferred_wait = 0.0, max_wait_exempt = false, parked = false),
        text_signature = "(self, /, now, call, queue, *, priority=0, skills=None, \
        preferred_agent=None, preferred_wait=0.0, max_wait_exempt=False, parked=False)")]
    #[allow(clippy::too_many_arguments)]
    fn enqueue(
        &self,
        now: f64,
        call: &str,
        queue: &str,
        priority: Int<i64>,
        skills: Option<HashMap<String, Int<i64>>>,
        preferred_agent: Option<&str>,
        preferred_wait: f64,
        max_wait_exempt: bool,
        parked: bool,
    ) -> PyResult<Vec<PyEvent>> {
        let skills = skill_pairs(&skills);
        let new = NewCall {
            id: call,
            queue,
            priority: priority.0,
            skills: &skills,
            preferred: preferred_agent.map(|a| (a, preferred_wait)),
            max_wait_exempt,
            parked,
        };
        Ok(self.op(|e| e.enqueue(now, &new))?)
    }

    /// Keeps a waiting call in line (its place, timers) without offering it until `unpark`.
    fn park(&self, now: f64, call: &str) -> PyResult<Vec<PyEvent>> {
        Ok(self.op(|e| e.park(now, call))?)
    }

    /// Releases a parked call from its place: offered now if an eligible agent is free.
    fn unpark(&self, now: f64, call: &str) -> PyResult<Vec<PyEvent>> {
        Ok(self.op(|e| e.unpark(now, call))?)
    }

    /// The queue's max wait no longer applies to the call (a held callback): it is never
    /// timed out or overflowed for waiting; escalation steps still apply.
    fn exempt_max_wait(&self, now: f64, call: &str) -> PyResult<Vec<PyEvent>> {
        Ok(self.op(|e| e.exempt_max_wait(now, call))?)
    }

    fn hangup(&self, now: f64, call: &str) -> PyResult<Vec<PyEvent>> {
        Ok(self.op(|e| e.hangup(now, call))?)
    }

    /// The host takes back a call nobody is on the line for (not an abandon; see the Rust doc).
    fn withdraw(&self, now: f64, call: &str) -> PyResult<Vec<PyEvent>> {
        Ok(self.op(|e| e.withdraw(now, call))?)
    }

    fn accept(&self, now: f64, call: &str, agent: &str) -> PyResult<Vec<PyEvent>> {
        Ok(self.op(|e| e.accept(now, call, agent))?)
    }

    fn reject(&self, now: f64, call: &str, agent: &str) -> PyResult<Vec<PyEvent>> {
        Ok(self.op(|e| e.reject(now, call, agent))?)
    }

    fn advance(&self, now: f64) -> PyResult<Vec<PyEvent>> {
        Ok(self.op(|e| e.advance(now))?)
    }

    /// Runs every pending timer (end of a replay or simulation).
    fn finish(&self) -> Vec<PyEvent> {
        let mut e = self.lock();
        e.finish();
        to_py(e.take_events())
    }

    /// Events not yet returned (left behind by an operation that raised).
    fn take_events(&self) -> Vec<PyEvent> {
        to_py(self.lock().take_events())
    }

    #[pyo3(signature = (now, calls, queues, priorities = None))]
    fn enqueue_many<'py>(
        &self,
        py: Python<'py>,
        now: PyReadonlyArray1<'py, f64>,
        calls: Ids<'py>,
        queues: Queues,
        priorities: Option<PyReadonlyArray1<'py, i64>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let now = now.as_array().to_vec();
        let int_calls = calls.is_ints();
        let calls = calls.into_strings();
        check_len("calls", calls.len(), now.len())?;
        if let Queues::Many(q) = &queues {
            check_len("queues", q.len(), now.len())?;
        }
        let priorities = priorities.map(|p| p.as_array().to_vec());
        if let Some(p) = &priorities {
            check_len("priorities", p.len(), now.len())?;
        }
        self.batch(py, now.len(), int_calls, |e, i| {
            let queue = match &queues {
                Queues::One(q) => q.as_str(),
                Queues::Many(q) => q[i].as_str(),
            };
            let priority = priorities.as_ref().map_or(0, |p| p[i]);
            let call = NewCall {
                id: &calls[i],
                queue,
                priority,
                skills: &[],
                preferred: None,
                max_wait_exempt: false,
                parked: false,
            };
            e.enqueue(now[i], &call)
        })
    }

    fn hangup_many<'py>(
        &self,
        py: Python<'py>,
        now: PyReadonlyArray1<'py, f64>,
        calls: Ids<'py>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let now = now.as_array().to_vec();
        let int_calls = calls.is_ints();
        let calls = calls.into_strings();
        check_len("calls", calls.len(), now.len())?;
        self.batch(py, now.len(), int_calls, |e, i| e.hangup(now[i], &calls[i]))
    }

    /// Every agent's id and state code (index into `AGENT_STATES`).
    fn agent_states<'py>(&self, py: Python<'py>) -> (Vec<String>, Bound<'py, PyArray1<u8>>) {
        let e = self.lock();
        let (ids, codes): (Vec<String>, Vec<u8>) = e
            .agent_states()
            .map(|(id, s)| (id.to_string(), s.index() as u8))
            .unzip();
        (ids, PyArray1::from_vec(py, codes))
    }

    fn queue_stats(&self, queue: &str) -> PyResult<PyQueueStats> {
        Ok(self.lock().queue_stats(queue).map_err(CoreError)?.into())
    }

    fn agent(&self, agent: &str) -> PyResult<PyAgentInfo> {
        Ok(self.lock().agent_info(agent).map_err(CoreError)?.into())
    }

    fn call(&self, call: &str) -> PyResult<PyCallInfo> {
        Ok(self.lock().call_info(call).map_err(CoreError)?.into())
    }

    fn position(&self, call: &str) -> PyResult<usize> {
        Ok(self.lock().position(call).map_err(CoreError)?)
    }

    /// Seconds until an agent eligible for the waiting call is expected free (0: one is
    /// available now; else the earliest wrap-up end that frees one); None when neither.
    fn agent_free_in(&self, call: &str) -> PyResult<Option<f64>> {
        Ok(self.lock().agent_free_in(call).map_err(CoreError)?)
    }

    fn queues(&self) -> Vec<String> {
        self.lock().queue_ids().map(|q| q.to_string()).collect()
    }

    fn agents(&self) -> Vec<String> {
        self.lock().agent_ids().map(|a| a.to_string()).collect()
    }

    fn snapshot<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        let bytes = self.lock().snapshot();
        PyBytes::new(py, &bytes)
    }

    #[staticmethod]
    fn restore(data: &[u8]) -> PyResult<Self> {
        let engine = Engine::restore(data).map_err(CoreError)?;
        Ok(PyEngine {
            inner: Mutex::new(engine),
            names: Mutex::default(),
        })
    }
}
