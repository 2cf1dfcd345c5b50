//! Events as one flat, typed Python class: every kind shares `kind`, `t` and `call`; the
//! other fields are None where a kind has nothing to say.

use acdcore::{Event, Id};
use pyo3::prelude::*;
use pyo3::types::PyDict;

#[pyclass(name = "Event", module = "acdcore._core", frozen, get_all)]
pub struct PyEvent {
    pub kind: &'static str,
    pub t: f64,
    pub call: Option<String>,
    pub agent: Option<String>,
    pub queue: Option<String>,
    pub wait: Option<f64>,
    pub talk: Option<f64>,
    /// Agents rung (offer).
    pub agents: Vec<String>,
    /// Overflow destination, fallback target, or auto-pause reason.
    pub target: Option<String>,
    /// Why an offer stopped ringing (unoffer).
    pub why: Option<&'static str>,
    /// Escalation step index.
    pub step: Option<u32>,
}

fn s(id: &Id) -> Option<String> {
    Some(id.to_string())
}

impl From<Event> for PyEvent {
    fn from(ev: Event) -> Self {
        let mut out = PyEvent {
            kind: ev.kind(),
            t: ev.t(),
            call: None,
            agent: None,
            queue: None,
            wait: None,
            talk: None,
            agents: Vec::new(),
            target: None,
            why: None,
            step: None,
        };
        match ev {
            Event::Offer {
                call,
                queue,
                agents,
                ..
            } => {
                out.call = s(&call);
                out.queue = s(&queue);
                out.agents = agents.iter().map(|a| a.to_string()).collect();
            }
            Event::Unoffer {
                call, agent, why, ..
            } => {
                out.call = s(&call);
                out.agent = s(&agent);
                out.why = Some(why.as_str());
            }
            Event::Assign {
                call,
                agent,
                queue,
                wait,
                ..
            } => {
                out.call = s(&call);
                out.agent = s(&agent);
                out.queue = s(&queue);
                out.wait = Some(wait);
            }
            Event::Abandon {
                call, queue, wait, ..
            }
            | Event::Withdraw {
                call, queue, wait, ..
            }
            | Event::Timeout {
                call, queue, wait, ..
            } => {
                out.call = s(&call);
                out.queue = s(&queue);
                out.wait = Some(wait);
            }
            Event::End {
                call,
                agent,
                queue,
                talk,
                ..
            } => {
                out.call = s(&call);
                out.agent = s(&agent);
                out.queue = s(&queue);
                out.talk = Some(talk);
            }
            Event::Overflow {
                call,
                from,
                to,
                wait,
                ..
            } => {
                out.call = s(&call);
                out.queue = s(&from);
                out.target = to.as_ref().and_then(s);
                out.wait = Some(wait);
            }
            Event::Escalate {
                call, queue, step, ..
            } => {
                out.call = s(&call);
                out.queue = s(&queue);
                out.step = Some(step);
            }
            Event::Fallback {
                call,
                queue,
                target,
                wait,
                ..
            } => {
                out.call = s(&call);
                out.queue = s(&queue);
                out.target = s(&target);
                out.wait = Some(wait);
            }
            Event::AutoPause { agent, reason, .. } => {
                out.agent = s(&agent);
                out.target = s(&reason);
            }
        }
        out
    }
}

#[pymethods]
impl PyEvent {
    /// The fields that are set, as a plain dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("kind", self.kind)?;
        d.set_item("t", self.t)?;
        let optional = [
            ("call", &self.call),
            ("agent", &self.agent),
            ("queue", &self.queue),
        ];
        for (k, v) in optional {
            if let Some(v) = v {
                d.set_item(k, v)?;
            }
        }
        for (k, v) in [("wait", self.wait), ("talk", self.talk)] {
            if let Some(v) = v {
                d.set_item(k, v)?;
            }
        }
        if !self.agents.is_empty() {
            d.set_item("agents", &self.agents)?;
        }
        if let Some(v) = &self.target {
            d.set_item("target", v)?;
        }
        if let Some(v) = self.why {
            d.set_item("why", v)?;
        }
        if let Some(v) = self.step {
            d.set_item("step", v)?;
        }
        Ok(d)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let d = self.to_dict(py)?;
        let inner: Vec<String> = d
            .iter()
            .skip(1)
            .map(|(k, v)| Ok(format!("{}={}", k.str()?, v.repr()?)))
            .collect::<PyResult<_>>()?;
        Ok(format!("Event({:?}, {})", self.kind, inner.join(", ")))
    }
}

pub fn to_py(events: Vec<Event>) -> Vec<PyEvent> {
    events.into_iter().map(PyEvent::from).collect()
}
