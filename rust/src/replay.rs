//! The trace-replay contract (docs/trace-format.md): JSON lines in, JSON lines out, offers
//! accepted at once. The same `Engine` as live traffic; this module only parses, checks and
//! prints.

use rustc_hash::FxHashSet;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::io::{BufRead, Write};

use crate::engine::{Engine, NewCall, Options, RawEvent};
use crate::error::clip;
use crate::model::{Id, QueueConfig};
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

/// One trace line with its shape checked; the engine checks the rest.
struct Line<'a> {
    t: f64,
    op: Op<'a>,
}

enum Op<'a> {
    Queue {
        id: &'a str,
        strategy: Option<&'a str>,
        wrapup: f64,
        weight: f64,
        sl: f64,
    },
    Login {
        id: &'a str,
        skills: Vec<(&'a str, i64)>,
        queues: Vec<(&'a str, u32)>,
    },
    Logout(&'a str),
    Pause(&'a str),
    Unpause(&'a str),
    Call {
        id: &'a str,
        queue: &'a str,
        priority: i64,
        skills: Vec<(&'a str, i64)>,
    },
    Hangup(&'a str),
}

/// The general parser: every field checked with a message naming it.
fn checked_line(obj: &Obj) -> Result<Line<'_>, String> {
    let t = field(obj, "t")?
        .as_f64()
        .ok_or("field \"t\" must be a number")?;
    let op = string(obj, "op")?;
    let op = match op {
        "queue" => {
            only_fields(obj, op, &["id", "strategy", "wrapup", "weight", "sl"])?;
            let strategy = match obj.get("strategy") {
                None => None,
                Some(s) => Some(s.as_str().ok_or("field \"strategy\" must be a string")?),
            };
            Op::Queue {
                id: string(obj, "id")?,
                strategy,
                wrapup: number(obj, "wrapup", 0.0)?,
                weight: number(obj, "weight", 0.0)?,
                sl: number(obj, "sl", 20.0)?,
            }
        }
        "login" => {
            only_fields(obj, op, &["id", "skills", "queues"])?;
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
            Op::Login {
                id: string(obj, "id")?,
                skills: skills(obj)?,
                queues,
            }
        }
        "logout" | "pause" | "unpause" | "hangup" => {
            only_fields(obj, op, &["id"])?;
            let id = string(obj, "id")?;
            match op {
                "logout" => Op::Logout(id),
                "pause" => Op::Pause(id),
                "unpause" => Op::Unpause(id),
                _ => Op::Hangup(id),
            }
        }
        "call" => {
            only_fields(obj, op, &["id", "queue", "priority", "skills"])?;
            let priority = match obj.get("priority") {
                None => 0,
                Some(v) => integer(v, "field \"priority\"")?,
            };
            Op::Call {
                id: string(obj, "id")?,
                queue: string(obj, "queue")?,
                priority,
                skills: skills(obj)?,
            }
        }
        other => return Err(format!("unknown op {:?}", clip(other))),
    };
    Ok(Line { t, op })
}

/// A field that was given (null is not "given": it fails the parse and takes the general
/// path, which names it).
#[derive(Default)]
enum Given<T> {
    #[default]
    Absent,
    Is(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Given<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(Given::Is)
    }
}

impl<T> Given<T> {
    fn given(&self) -> bool {
        matches!(self, Given::Is(_))
    }
}

impl<T: Copy> Given<T> {
    fn or(&self, default: T) -> T {
        match self {
            Given::Absent => default,
            Given::Is(v) => *v,
        }
    }
}

/// The typed fast path: every field any op may carry, borrowed from the line.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fast<'a> {
    t: f64,
    op: &'a str,
    #[serde(default, borrow)]
    id: Given<&'a str>,
    #[serde(default, borrow)]
    queue: Given<&'a str>,
    #[serde(default, borrow)]
    strategy: Given<&'a str>,
    #[serde(default)]
    wrapup: Given<f64>,
    #[serde(default)]
    weight: Given<f64>,
    #[serde(default)]
    sl: Given<f64>,
    #[serde(default)]
    priority: Given<i64>,
    #[serde(default, borrow)]
    skills: Given<BTreeMap<&'a str, i64>>,
    #[serde(default, borrow)]
    queues: Given<Vec<&'a str>>,
}

impl<'a> Fast<'a> {
    /// The line, or None when it needs the general parser (which then reports why).
    fn line(&self) -> Option<Line<'_>> {
        let Given::Is(id) = self.id else { return None };
        let queue_fields = [
            self.strategy.given(),
            self.wrapup.given(),
            self.weight.given(),
        ]
        .into_iter()
        .chain([self.sl.given()])
        .any(|g| g);
        let call_fields = self.queue.given() || self.priority.given();
        let login_fields = self.queues.given();
        let skills = || match &self.skills {
            Given::Absent => Some(Vec::new()),
            Given::Is(m) if m.len() <= crate::skills::MAX_SKILLS_PER_SET => {
                Some(m.iter().map(|(k, v)| (*k, *v)).collect())
            }
            Given::Is(_) => None,
        };
        let only_id = !(queue_fields || call_fields || login_fields || self.skills.given());
        let op = match self.op {
            "queue" if !call_fields && !login_fields && !self.skills.given() => Op::Queue {
                id,
                strategy: match self.strategy {
                    Given::Is(s) => Some(s),
                    Given::Absent => None,
                },
                wrapup: self.wrapup.or(0.0),
                weight: self.weight.or(0.0),
                sl: self.sl.or(20.0),
            },
            "login" if !queue_fields && !call_fields => Op::Login {
                id,
                skills: skills()?,
                queues: match &self.queues {
                    Given::Is(q) => q.iter().map(|q| (*q, 1)).collect(),
                    Given::Absent => Vec::new(),
                },
            },
            "call" if !queue_fields && !login_fields => Op::Call {
                id,
                queue: match self.queue {
                    Given::Is(q) => q,
                    Given::Absent => return None,
                },
                priority: self.priority.or(0),
                skills: skills()?,
            },
            "logout" if only_id => Op::Logout(id),
            "pause" if only_id => Op::Pause(id),
            "unpause" if only_id => Op::Unpause(id),
            "hangup" if only_id => Op::Hangup(id),
            _ => return None,
        };
        Some(Line { t: self.t, op })
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
        }
    }

    fn apply(&mut self, text: &str) -> Result<(), String> {
        // Fast path: a typed, zero-copy parse for well-formed lines. Anything it cannot take
        // (escaped strings, nulls, unknown or misplaced fields, bad types) goes through the
        // general parser, which finds the precise reason.
        let fast: Option<Fast<'_>> = serde_json::from_str(text).ok();
        let value: Value;
        let line = match fast.as_ref().and_then(Fast::line) {
            Some(line) => line,
            None => {
                value = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
                checked_line(value.as_object().ok_or("a line must be a JSON object")?)?
            }
        };
        let t = line.t;
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
        let e = &mut self.engine;
        let engine_err = |err: crate::Error| err.to_string();
        match line.op {
            Op::Queue {
                id,
                strategy,
                wrapup,
                weight,
                sl,
            } => {
                let mut cfg = QueueConfig {
                    wrapup,
                    weight,
                    sl,
                    ..QueueConfig::default()
                };
                if let Some(s) = strategy {
                    cfg.strategy = s.parse().map_err(engine_err)?;
                }
                e.advance(t).map_err(engine_err)?;
                e.add_queue(id, cfg).map_err(engine_err)?;
            }
            Op::Login { id, skills, queues } => {
                e.login(t, id, &skills, &queues, 1).map_err(engine_err)?;
            }
            Op::Logout(id) => e.logout(t, id).map_err(engine_err)?,
            Op::Pause(id) => e.pause(t, id, "pause").map_err(engine_err)?,
            Op::Unpause(id) => e.unpause(t, id).map_err(engine_err)?,
            Op::Call {
                id,
                queue,
                priority,
                skills,
            } => {
                if self.seen.contains(id) {
                    return Err(format!("call {:?} was seen before", clip(id)));
                }
                let call = NewCall {
                    id,
                    queue,
                    priority,
                    skills: &skills,
                    preferred: None,
                    max_wait_exempt: false,
                    parked: false,
                };
                e.enqueue(t, &call).map_err(engine_err)?;
                self.seen.insert(id.into());
            }
            Op::Hangup(id) => {
                if self.seen.contains(id) && e.call_info(id).is_err() {
                    return Err(format!("call {:?} has already finished", clip(id)));
                }
                e.hangup(t, id).map_err(engine_err)?;
            }
        }
        self.last_t = t;
        Ok(())
    }

    /// Writes the pending events with their ids borrowed from the engine (no `Arc` clone per
    /// event); only the kinds the trace format defines.
    fn write_events(&mut self, out: &mut impl Write) -> std::io::Result<()> {
        use Val::{N, S};
        self.engine.with_raw_events(|raw, names| {
            for ev in &raw.events {
                match *ev {
                    RawEvent::Assign {
                        t,
                        call,
                        agent,
                        queue,
                        wait,
                    } => write_line(
                        out,
                        [
                            ("t", N(t)),
                            ("event", S("assign")),
                            ("call", S(names.call(call))),
                        ]
                        .into_iter()
                        .chain([
                            ("agent", S(names.agent(agent))),
                            ("queue", S(names.queue(queue))),
                            ("wait", N(wait)),
                        ]),
                    )?,
                    RawEvent::Abandon {
                        t,
                        call,
                        queue,
                        wait,
                    } => write_line(
                        out,
                        [
                            ("t", N(t)),
                            ("event", S("abandon")),
                            ("call", S(names.call(call))),
                        ]
                        .into_iter()
                        .chain([("queue", S(names.queue(queue))), ("wait", N(wait))]),
                    )?,
                    RawEvent::End {
                        t,
                        call,
                        agent,
                        talk,
                        ..
                    } => write_line(
                        out,
                        [
                            ("t", N(t)),
                            ("event", S("end")),
                            ("call", S(names.call(call))),
                        ]
                        .into_iter()
                        .chain([("agent", S(names.agent(agent))), ("talk", N(talk))]),
                    )?,
                    _ => {}
                }
            }
            Ok(())
        })
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
