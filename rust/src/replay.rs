//! The trace-replay contract (docs/trace-format.md): JSON lines in, JSON lines out, offers
//! accepted at once. The same `Engine` as live traffic; this module only parses, checks and
//! prints.

use rustc_hash::FxHashSet;
use serde_json::{Map, Value};
use std::fmt;
use std::io::{BufRead, Write};

use crate::engine::{Engine, NewCall, Options};
use crate::error::clip;
use crate::model::{Event, Id, QueueConfig};
use crate::time::MAX_SECONDS;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayError {
    /// An invalid line: its 1-based number and why.
    Line {
        line: usize,
        reason: String,
    },
    Io(String),
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplayError::Line { line, reason } => write!(f, "line {line}: {reason}"),
            ReplayError::Io(e) => write!(f, "I/O error: {e}"),
        }
    }
}

impl std::error::Error for ReplayError {}

/// Line length beyond which a line is refused unread: generous (a login with thousands of
/// skills fits), but a runaway line cannot exhaust memory.
const MAX_LINE_BYTES: usize = 64 << 20;

/// Replays `input` and writes the events, then the summary, to `out`. On an invalid line the
/// events of the lines before it have been written and no summary is.
pub fn run(input: impl BufRead, out: &mut impl Write) -> Result<(), ReplayError> {
    let mut replay = Replay::new();
    let mut line_no = 0usize;
    let mut buf = Vec::new();
    let mut input = input.take(u64::MAX);
    loop {
        buf.clear();
        line_no += 1;
        let limit = (MAX_LINE_BYTES + 2) as u64;
        input.set_limit(limit);
        let n = input
            .read_until(b'\n', &mut buf)
            .map_err(|e| ReplayError::Io(e.to_string()))?;
        if n == 0 {
            break;
        }
        let fail = |reason: String| ReplayError::Line {
            line: line_no,
            reason,
        };
        if buf.len() > MAX_LINE_BYTES {
            return Err(fail(format!("line longer than {MAX_LINE_BYTES} bytes")));
        }
        let text = std::str::from_utf8(&buf).map_err(|_| fail("not valid UTF-8".into()))?;
        if text.trim().is_empty() {
            continue;
        }
        replay.apply(text).map_err(fail)?;
        replay
            .write_events(out)
            .map_err(|e| ReplayError::Io(e.to_string()))?;
    }
    replay.engine.finish();
    replay
        .write_events(out)
        .map_err(|e| ReplayError::Io(e.to_string()))?;
    replay
        .write_summary(out)
        .map_err(|e| ReplayError::Io(e.to_string()))?;
    Ok(())
}

struct Replay {
    engine: Engine,
    /// Every call id seen: a trace may not reuse one, even after the call ended.
    seen: FxHashSet<Id>,
    last_t: f64,
    events: Vec<Event>,
}

type Obj = Map<String, Value>;

fn field<'a>(obj: &'a Obj, name: &str) -> Result<&'a Value, String> {
    obj.get(name)
        .ok_or_else(|| format!("missing field {name:?}"))
}

fn string<'a>(obj: &'a Obj, name: &str) -> Result<&'a str, String> {
    field(obj, name)?
        .as_str()
        .ok_or_else(|| format!("field {name:?} must be a string"))
}

fn number(obj: &Obj, name: &str, default: f64) -> Result<f64, String> {
    match obj.get(name) {
        None => Ok(default),
        Some(v) => v
            .as_f64()
            .ok_or_else(|| format!("field {name:?} must be a number")),
    }
}

fn integer(v: &Value, what: &str) -> Result<i64, String> {
    v.as_i64()
        .ok_or_else(|| format!("{what} must be an integer, got {}", clip(&v.to_string())))
}

fn skills(obj: &Obj) -> Result<Vec<(&str, i64)>, String> {
    let Some(v) = obj.get("skills") else {
        return Ok(Vec::new());
    };
    let map = v
        .as_object()
        .ok_or("field \"skills\" must be an object of name: level")?;
    if map.len() > crate::skills::MAX_SKILLS_PER_SET {
        return Err(format!(
            "field \"skills\" has {} skills (at most {})",
            map.len(),
            crate::skills::MAX_SKILLS_PER_SET
        ));
    }
    map.iter()
        .map(|(k, v)| {
            Ok((
                k.as_str(),
                integer(v, &format!("level of skill {:?}", clip(k)))?,
            ))
        })
        .collect()
}

fn only_fields(obj: &Obj, op: &str, allowed: &[&str]) -> Result<(), String> {
    match obj
        .keys()
        .find(|k| !["t", "op"].contains(&k.as_str()) && !allowed.contains(&k.as_str()))
    {
        Some(k) => Err(format!("unknown field {:?} for op {op:?}", clip(k))),
        None => Ok(()),
    }
}

impl Replay {
    fn new() -> Self {
        Replay {
            engine: Engine::new(Options {
                seed: 0,
                auto_accept: true,
            }),
            seen: FxHashSet::default(),
            last_t: 0.0,
            events: Vec::new(),
        }
    }

    fn apply(&mut self, text: &str) -> Result<(), String> {
        let value: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
        let obj = value.as_object().ok_or("a line must be a JSON object")?;
        let t = field(obj, "t")?
            .as_f64()
            .ok_or("field \"t\" must be a number")?;
        if !(0.0..=MAX_SECONDS).contains(&t) {
            return Err(format!(
                "t must be a number in 0..={MAX_SECONDS:e}, got {t}"
            ));
        }
        if t < self.last_t {
            return Err(format!(
                "t={t} is before the previous line's t={}",
                self.last_t
            ));
        }
        let op = string(obj, "op")?;
        let e = &mut self.engine;
        let engine_err = |err: crate::Error| err.to_string();
        match op {
            "queue" => {
                only_fields(obj, op, &["id", "strategy", "wrapup", "weight", "sl"])?;
                let id = string(obj, "id")?;
                let mut cfg = QueueConfig::default();
                if let Some(s) = obj.get("strategy") {
                    let s = s.as_str().ok_or("field \"strategy\" must be a string")?;
                    cfg.strategy = s.parse().map_err(engine_err)?;
                }
                cfg.wrapup = number(obj, "wrapup", 0.0)?;
                cfg.weight = number(obj, "weight", 0.0)?;
                cfg.sl = number(obj, "sl", 20.0)?;
                e.advance(t).map_err(engine_err)?;
                e.add_queue(id, cfg).map_err(engine_err)?;
            }
            "login" => {
                only_fields(obj, op, &["id", "skills", "queues"])?;
                let id = string(obj, "id")?;
                let skills = skills(obj)?;
                let queues = match obj.get("queues") {
                    None => Vec::new(),
                    Some(v) => v
                        .as_array()
                        .ok_or("field \"queues\" must be a list of queue ids")?
                        .iter()
                        .map(|q| {
                            q.as_str()
                                .map(|q| (q, 1))
                                .ok_or("queue ids must be strings")
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                };
                e.login(t, id, &skills, &queues, 1).map_err(engine_err)?;
            }
            "logout" | "pause" | "unpause" => {
                only_fields(obj, op, &["id"])?;
                let id = string(obj, "id")?;
                match op {
                    "logout" => e.logout(t, id),
                    "pause" => e.pause(t, id, "pause"),
                    _ => e.unpause(t, id),
                }
                .map_err(engine_err)?;
            }
            "call" => {
                only_fields(obj, op, &["id", "queue", "priority", "skills"])?;
                let id = string(obj, "id")?;
                let queue = string(obj, "queue")?;
                let priority = match obj.get("priority") {
                    None => 0,
                    Some(v) => integer(v, "field \"priority\"")?,
                };
                let skills = skills(obj)?;
                if self.seen.contains(id) {
                    return Err(format!("call {:?} was seen before", clip(id)));
                }
                let call = NewCall {
                    id,
                    queue,
                    priority,
                    skills: &skills,
                    preferred: None,
                };
                e.enqueue(t, &call).map_err(engine_err)?;
                self.seen.insert(id.into());
            }
            "hangup" => {
                only_fields(obj, op, &["id"])?;
                let id = string(obj, "id")?;
                if self.seen.contains(id) && e.call_info(id).is_err() {
                    return Err(format!("call {:?} has already finished", clip(id)));
                }
                e.hangup(t, id).map_err(engine_err)?;
            }
            other => return Err(format!("unknown op {:?}", clip(other))),
        }
        self.last_t = t;
        Ok(())
    }

    fn write_events(&mut self, out: &mut impl Write) -> std::io::Result<()> {
        use Val::{N, S};
        self.engine.drain_events_into(&mut self.events);
        for ev in self.events.drain(..) {
            match &ev {
                Event::Assign {
                    t,
                    call,
                    agent,
                    queue,
                    wait,
                } => write_line(
                    out,
                    [("t", N(*t)), ("event", S("assign")), ("call", S(call))]
                        .into_iter()
                        .chain([("agent", S(agent)), ("queue", S(queue)), ("wait", N(*wait))]),
                )?,
                Event::Abandon {
                    t,
                    call,
                    queue,
                    wait,
                } => write_line(
                    out,
                    [("t", N(*t)), ("event", S("abandon")), ("call", S(call))]
                        .into_iter()
                        .chain([("queue", S(queue)), ("wait", N(*wait))]),
                )?,
                Event::End {
                    t,
                    call,
                    agent,
                    talk,
                    ..
                } => write_line(
                    out,
                    [("t", N(*t)), ("event", S("end")), ("call", S(call))]
                        .into_iter()
                        .chain([("agent", S(agent)), ("talk", N(*talk))]),
                )?,
                _ => {}
            }
        }
        Ok(())
    }

    fn write_summary(&self, out: &mut impl Write) -> std::io::Result<()> {
        // Written by hand: queues in definition order, fields in the documented order.
        write!(out, r#"{{"event":"summary","queues":{{"#)?;
        for (i, id) in self.engine.queue_ids().enumerate() {
            let c = self.engine.queue_counters(id).expect("listed queue exists");
            write!(
                out,
                r#"{}{}:{{"offered":{},"answered":{},"abandoned":{},"answered_within_sl":{},"waiting":{}}}"#,
                if i == 0 { "" } else { "," },
                js(id),
                c.offered,
                c.answered,
                c.abandoned,
                c.answered_within_sl,
                c.waiting
            )?;
        }
        writeln!(out, "}}}}")
    }
}

fn js(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialize")
}

enum Val<'a> {
    S(&'a str),
    N(f64),
}

/// One output object on one line, written straight into `out` (no per-field strings).
fn write_line<'a>(
    out: &mut impl Write,
    fields: impl IntoIterator<Item = (&'static str, Val<'a>)>,
) -> std::io::Result<()> {
    let mut sep = b'{';
    for (key, val) in fields {
        out.write_all(&[sep, b'"'])?;
        out.write_all(key.as_bytes())?;
        out.write_all(b"\":")?;
        match val {
            Val::S(s) => serde_json::to_writer(&mut *out, s)?,
            Val::N(x) => serde_json::to_writer(&mut *out, &x)?,
        }
        sep = b',';
    }
    out.write_all(b"}\n")
}
