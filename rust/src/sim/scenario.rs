//! What a simulation runs: queues, agent groups with schedules, and call streams. Read from a
//! TOML file (errors name the line, the table and the field) or built in code; `prepare`
//! checks it once against the engine's own validation, so a bad scenario fails before any call.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use super::dist::Dist;
use crate::error::{Error, Result};
use crate::model::{Action, EscalationStep, OnLimit, QueueConfig, Strategy};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(default)]
    pub simulation: Settings,
    #[serde(rename = "queue", default)]
    pub queues: Vec<QueueSpec>,
    #[serde(rename = "group", default)]
    pub groups: Vec<GroupSpec>,
    #[serde(rename = "calls", default)]
    pub streams: Vec<StreamSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Seconds per reporting interval (and per entry of a stream's `rates`).
    #[serde(default = "default_interval")]
    pub interval: f64,
    /// Arrivals stop after this many intervals (then the calls in the system finish).
    pub intervals: Option<u32>,
    /// Or after this many arrivals, whichever comes first.
    pub calls: Option<u64>,
    /// Clock time of t = 0, e.g. "08:00": schedule times written as "HH:MM" count from it.
    pub start: Option<Clock>,
    /// Calls arriving before this many seconds are left out of the statistics.
    #[serde(default)]
    pub warmup: f64,
    #[serde(default = "one")]
    pub replications: u32,
    pub seed: Option<u64>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            interval: default_interval(),
            intervals: None,
            calls: None,
            start: None,
            warmup: 0.0,
            replications: 1,
            seed: None,
        }
    }
}

fn default_interval() -> f64 {
    1800.0
}
fn one() -> u32 {
    1
}

/// A moment: seconds from the start of the simulation, or a clock time "HH:MM[:SS]" counted
/// from `simulation.start`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Clock {
    Seconds(f64),
    Time(String),
}

impl Clock {
    fn of_day(&self, what: &str) -> Result<f64> {
        match self {
            Clock::Seconds(s) => Ok(*s),
            Clock::Time(text) => {
                let bad = || {
                    Error::invalid(format!(
                        "{what}: {text:?} is not a clock time HH:MM or HH:MM:SS"
                    ))
                };
                let parts: Vec<&str> = text.split(':').collect();
                if !(2..=3).contains(&parts.len()) {
                    return Err(bad());
                }
                let mut secs = 0.0;
                for (i, p) in parts.iter().enumerate() {
                    let v: u32 = p.parse().map_err(|_| bad())?;
                    let limit = if i == 0 { 24 } else { 59 };
                    if v > limit {
                        return Err(bad());
                    }
                    secs += f64::from(v) * [3600.0, 60.0, 1.0][i];
                }
                Ok(secs)
            }
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueSpec {
    pub id: String,
    #[serde(default = "default_strategy")]
    pub strategy: String,
    #[serde(default)]
    pub wrapup: f64,
    #[serde(default)]
    pub weight: f64,
    #[serde(default = "default_sl")]
    pub sl: f64,
    pub max_waiting: Option<u32>,
    pub max_wait: Option<f64>,
    /// Where calls go at max_wait or a full queue (they leave when absent).
    pub overflow: Option<String>,
    #[serde(default)]
    pub aging: f64,
    #[serde(default)]
    pub escalation: Vec<StepSpec>,
}

fn default_strategy() -> String {
    "longest-idle".into()
}
fn default_sl() -> f64 {
    20.0
}

/// `{ after = 30, action = "lower-skills", by = 20 }`; actions as in the Python API:
/// lower-skills (by), clear-skills, add-queues (queues), raise-priority (by), fallback (target).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    pub after: f64,
    pub action: String,
    pub by: Option<i64>,
    pub queues: Option<Vec<String>>,
    pub target: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    pub name: String,
    pub agents: u32,
    #[serde(default)]
    pub skills: BTreeMap<String, i64>,
    pub queues: Vec<String>,
    /// Logged in from `start` to `end` (absent end: until the simulation ends). Default: one
    /// shift over the whole simulation.
    #[serde(default)]
    pub shifts: Vec<Shift>,
    #[serde(default)]
    pub breaks: Vec<Break>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shift {
    pub start: Clock,
    pub end: Option<Clock>,
}

/// A pause of `duration` seconds. Agent i of n starts it at `start + spread * i / n`, so a
/// lunch break can be staggered over the group; an agent on a call starts it when the call
/// (and its wrap-up) ends, and it still ends on time.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Break {
    pub start: Clock,
    pub duration: f64,
    #[serde(default)]
    pub spread: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamSpec {
    pub name: String,
    pub queue: String,
    /// Poisson arrivals at this many calls per second, all the time ...
    pub rate: Option<f64>,
    /// ... or this many calls per interval, interval by interval (the last applies after).
    pub rates: Option<Vec<f64>>,
    /// ... or per interval from a CSV file with a `calls` column (relative to the scenario) ...
    pub rates_csv: Option<String>,
    /// ... or at the times of a replay trace's `call` lines for this queue (JSON lines, see
    /// docs/trace-format.md; their priority and skills apply).
    pub trace: Option<String>,
    /// The trace's calls, read by `load`.
    #[serde(skip)]
    pub arrivals: Option<Vec<TraceCall>>,
    #[serde(default)]
    pub priority: i64,
    #[serde(default)]
    pub skills: BTreeMap<String, i64>,
    pub handle: Dist,
    /// How long callers wait before hanging up (absent: forever).
    pub patience: Option<Dist>,
    pub retrial: Option<Retrial>,
    pub callback: Option<Callback>,
    /// Share of callers served by the IVR alone, who never reach the queue.
    #[serde(default)]
    pub self_service: f64,
}

/// Callers who abandoned call again with `probability`, after `delay`, up to `max` more times.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retrial {
    pub probability: f64,
    pub delay: Dist,
    #[serde(default = "default_retries")]
    pub max: u32,
}

fn default_retries() -> u32 {
    3
}

/// Virtual hold: when the estimated wait at arrival is at least `offer_after` seconds, a
/// caller takes the callback with probability `accept`, hangs up and keeps the place in line;
/// the agent calls back when the call reaches the head (no abandonment meanwhile).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Callback {
    pub offer_after: f64,
    pub accept: f64,
}

/// One arrival taken from a trace.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceCall {
    pub t: f64,
    pub priority: i64,
    pub skills: Vec<(String, i64)>,
}

/// The `call` lines of a replay trace that go to `queue`, in order (other lines are skipped).
pub fn arrivals_from_trace(text: &str, queue: &str) -> Result<Vec<TraceCall>> {
    let mut out = Vec::new();
    let mut last = 0.0;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |why: String| Error::invalid(format!("line {}: {why}", i + 1));
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| bad(format!("not JSON: {e}")))?;
        let t = v
            .get("t")
            .and_then(serde_json::Value::as_f64)
            .ok_or_else(|| bad("no number \"t\"".into()))?;
        if !(t.is_finite() && t >= last) {
            return Err(bad(format!("t={t} is negative or before the line above")));
        }
        last = t;
        if v.get("op").and_then(|o| o.as_str()) != Some("call")
            || v.get("queue").and_then(|q| q.as_str()) != Some(queue)
        {
            continue;
        }
        let priority = match v.get("priority") {
            None => 0,
            Some(p) => p
                .as_i64()
                .ok_or_else(|| bad(format!("priority {p} is not an integer")))?,
        };
        let mut skills = Vec::new();
        if let Some(sk) = v.get("skills") {
            let map = sk
                .as_object()
                .ok_or_else(|| bad("skills is not an object".into()))?;
            for (name, level) in map {
                let level = level
                    .as_i64()
                    .ok_or_else(|| bad(format!("skill {name:?}: level is not an integer")))?;
                skills.push((name.clone(), level));
            }
        }
        out.push(TraceCall {
            t,
            priority,
            skills,
        });
    }
    Ok(out)
}

/// Loads a scenario file; relative `rates_csv` and `trace` paths are read beside it.
pub fn load(path: &Path) -> Result<Scenario> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::invalid(format!("{}: {e}", path.display())))?;
    let mut scn: Scenario = toml::from_str(&text)
        .map_err(|e| Error::invalid(format!("{}: {}", path.display(), e.to_string().trim_end())))?;
    let base = path.parent().unwrap_or(Path::new("."));
    for s in &mut scn.streams {
        if let Some(csv) = &s.rates_csv {
            if s.rates.is_some() || s.rate.is_some() {
                return Err(Error::invalid(format!(
                    "calls {:?}: give one of rate, rates, rates_csv",
                    s.name
                )));
            }
            s.rates = Some(read_beside(base, csv, &s.name, rates_from_csv)?);
        }
        if let Some(trace) = &s.trace {
            let queue = s.queue.clone();
            let parse = |text: &str| arrivals_from_trace(text, &queue);
            s.arrivals = Some(read_beside(base, trace, &s.name, parse)?);
        }
    }
    Ok(scn)
}

/// Reads a file a stream names (relative to the scenario) and parses it; errors name the stream
/// or the file.
fn read_beside<T>(
    base: &Path,
    name: &str,
    stream: &str,
    parse: impl FnOnce(&str) -> Result<T>,
) -> Result<T> {
    let file = base.join(name);
    let text = std::fs::read_to_string(&file)
        .map_err(|e| Error::invalid(format!("calls {stream:?}: {}: {e}", file.display())))?;
    parse(&text).map_err(|e| Error::invalid(format!("{}: {e}", file.display())))
}

/// The `calls` column of a CSV with a header row (the staffing format `interval,calls,aht`).
pub fn rates_from_csv(text: &str) -> Result<Vec<f64>> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines
        .next()
        .ok_or_else(|| Error::invalid("empty CSV: expected a header with a calls column"))?;
    let col = header
        .split(',')
        .position(|h| h.trim() == "calls")
        .ok_or_else(|| Error::invalid(format!("line 1: no calls column in header {header:?}")))?;
    lines
        .map(|(i, line)| {
            let field = line.split(',').nth(col).map(str::trim).unwrap_or("");
            match field.parse::<f64>() {
                Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
                _ => Err(Error::invalid(format!(
                    "line {}: calls {field:?} is not a non-negative number",
                    i + 1
                ))),
            }
        })
        .collect()
}

impl Scenario {
    pub fn from_toml(text: &str) -> Result<Scenario> {
        toml::from_str(text).map_err(|e| Error::invalid(e.to_string().trim_end().to_owned()))
    }

    /// The textbook M/M/c (+M with patience): one queue, `agents` identical agents, Poisson
    /// arrivals at `rate` per second, exponential handle times, `calls` arrivals in all.
    pub fn mmc(
        agents: u32,
        rate: f64,
        aht: f64,
        calls: u64,
        patience: Option<f64>,
        sl: f64,
    ) -> Self {
        Scenario {
            simulation: Settings {
                calls: Some(calls),
                ..Settings::default()
            },
            queues: vec![QueueSpec {
                id: "queue".into(),
                strategy: default_strategy(),
                wrapup: 0.0,
                weight: 0.0,
                sl,
                max_waiting: None,
                max_wait: None,
                overflow: None,
                aging: 0.0,
                escalation: Vec::new(),
            }],
            groups: vec![GroupSpec {
                name: "agents".into(),
                agents,
                skills: BTreeMap::new(),
                queues: vec!["queue".into()],
                shifts: Vec::new(),
                breaks: Vec::new(),
            }],
            streams: vec![StreamSpec {
                name: "calls".into(),
                queue: "queue".into(),
                rate: Some(rate),
                rates: None,
                rates_csv: None,
                trace: None,
                arrivals: None,
                priority: 0,
                skills: BTreeMap::new(),
                handle: Dist::exponential(aht),
                patience: patience.map(Dist::exponential),
                retrial: None,
                callback: None,
                self_service: 0.0,
            }],
        }
    }
}

/// A scenario checked and resolved into what the run loop needs.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub interval: f64,
    /// Arrivals stop here (None: only the call count stops them).
    pub horizon: Option<f64>,
    pub calls: Option<u64>,
    pub warmup: f64,
    pub queues: Vec<(String, QueueConfig)>,
    pub groups: Vec<PreparedGroup>,
    pub streams: Vec<PreparedStream>,
}

#[derive(Debug, Clone)]
pub struct PreparedGroup {
    pub name: String,
    pub agents: Vec<String>,
    pub skills: Vec<(String, i64)>,
    pub queues: Vec<(String, u32)>,
    /// (login, logout) seconds per shift.
    pub shifts: Vec<(f64, Option<f64>)>,
    /// (start, duration, spread) per break.
    pub breaks: Vec<(f64, f64, f64)>,
}

#[derive(Debug, Clone)]
pub struct PreparedStream {
    pub name: String,
    pub queue: u32,
    /// Calls per second, interval by interval (the last one holds on); empty for a trace.
    pub rates: Vec<f64>,
    /// Arrivals from a trace instead of Poisson rates.
    pub arrivals: Option<Arc<Vec<TraceCall>>>,
    pub priority: i64,
    pub skills: Vec<(String, i64)>,
    pub handle: Dist,
    pub patience: Option<Dist>,
    pub retrial: Option<Retrial>,
    pub callback: Option<Callback>,
    pub self_service: f64,
}

fn share(what: &str, v: f64) -> Result<f64> {
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(Error::invalid(format!(
            "{what} must be within 0..=1, got {v}"
        )))
    }
}

fn seconds(what: &str, v: f64) -> Result<f64> {
    crate::time::check_seconds(what, v)
}

impl Scenario {
    pub fn prepare(&self) -> Result<Prepared> {
        let s = &self.simulation;
        let interval = seconds("simulation.interval", s.interval)?;
        if interval <= 0.0 {
            return Err(Error::invalid("simulation.interval must be > 0 seconds"));
        }
        if s.intervals.is_none() && s.calls.is_none() {
            return Err(Error::invalid(
                "simulation: give intervals or calls (when arrivals stop)",
            ));
        }
        if s.replications == 0 {
            return Err(Error::invalid("simulation.replications must be >= 1"));
        }
        let origin = match &s.start {
            Some(c) => c.of_day("simulation.start")?,
            None => 0.0,
        };
        let at = |what: &str, c: &Clock| -> Result<f64> {
            let v = match c {
                Clock::Seconds(v) => *v,
                Clock::Time(_) => c.of_day(what)? - origin,
            };
            seconds(what, v)
        };
        if self.queues.is_empty() || self.groups.is_empty() || self.streams.is_empty() {
            return Err(Error::invalid(
                "a scenario needs at least one [[queue]], one [[group]] and one [[calls]]",
            ));
        }
        // The engine validates queue settings exactly as it will use them.
        let mut probe = crate::Engine::new(crate::Options::default());
        let mut queues = Vec::new();
        for q in &self.queues {
            let cfg = queue_config(q)?;
            probe
                .add_queue(&q.id, cfg.clone())
                .map_err(|e| Error::invalid(format!("queue {:?}: {e}", q.id)))?;
            queues.push((q.id.clone(), cfg));
        }
        let queue_of = |what: &str, id: &str| -> Result<u32> {
            self.queues
                .iter()
                .position(|q| q.id == id)
                .map(|i| i as u32)
                .ok_or_else(|| Error::invalid(format!("{what}: queue {id:?} is not defined")))
        };
        let mut groups = Vec::new();
        let mut names = std::collections::HashSet::new();
        for g in &self.groups {
            let what = format!("group {:?}", g.name);
            if !names.insert(g.name.as_str()) {
                return Err(Error::invalid(format!("{what} is defined twice")));
            }
            if g.agents == 0 {
                return Err(Error::invalid(format!("{what}: agents must be >= 1")));
            }
            if g.agents > 1_000_000 {
                return Err(Error::invalid(format!("{what}: agents must be <= 1000000")));
            }
            if g.queues.is_empty() {
                return Err(Error::invalid(format!("{what}: queues is empty")));
            }
            for q in &g.queues {
                queue_of(&what, q)?;
            }
            let mut shifts: Vec<(f64, Option<f64>)> = Vec::new();
            for (i, sh) in g.shifts.iter().enumerate() {
                let start = at(&format!("{what} shift {i} start"), &sh.start)?;
                let end = match &sh.end {
                    Some(e) => Some(at(&format!("{what} shift {i} end"), e)?),
                    None => None,
                };
                if end.is_some_and(|e| e <= start) {
                    return Err(Error::invalid(format!(
                        "{what} shift {i}: end is not after start"
                    )));
                }
                if let Some(&(_, prev)) = shifts.last()
                    && prev.is_none_or(|p| p > start)
                {
                    return Err(Error::invalid(format!(
                        "{what} shift {i} starts before the previous shift ends"
                    )));
                }
                shifts.push((start, end));
            }
            if shifts.is_empty() {
                shifts.push((0.0, None));
            }
            let mut breaks = Vec::new();
            for (i, b) in g.breaks.iter().enumerate() {
                let w = format!("{what} break {i}");
                breaks.push((
                    at(&format!("{w} start"), &b.start)?,
                    seconds(&format!("{w} duration"), b.duration)?,
                    seconds(&format!("{w} spread"), b.spread)?,
                ));
            }
            let skills: Vec<(String, i64)> =
                g.skills.iter().map(|(k, v)| (k.clone(), *v)).collect();
            let agents: Vec<String> = (0..g.agents).map(|i| format!("{}-{i}", g.name)).collect();
            let skill_refs: Vec<(&str, i64)> =
                skills.iter().map(|(k, v)| (k.as_str(), *v)).collect();
            let member_refs: Vec<(&str, u32)> = g.queues.iter().map(|q| (q.as_str(), 1)).collect();
            probe
                .login(0.0, &agents[0], &skill_refs, &member_refs, 1)
                .map_err(|e| Error::invalid(format!("{what}: {e}")))?;
            groups.push(PreparedGroup {
                name: g.name.clone(),
                agents,
                skills,
                queues: g.queues.iter().map(|q| (q.clone(), 1)).collect(),
                shifts,
                breaks,
            });
        }
        let mut streams = Vec::new();
        for st in &self.streams {
            let what = format!("calls {:?}", st.name);
            let queue = queue_of(&what, &st.queue)?;
            if st.trace.is_some() && st.arrivals.is_none() {
                return Err(Error::invalid(format!(
                    "{what}: trace arrivals are read by Scenario.load (a file, not text)"
                )));
            }
            let rates = match (&st.rate, &st.rates, &st.arrivals) {
                (None, None, Some(_)) => Vec::new(),
                (Some(r), None, None) => vec![*r],
                (None, Some(rs), None) if !rs.is_empty() => {
                    rs.iter().map(|c| c / interval).collect()
                }
                (None, Some(_), None) => {
                    return Err(Error::invalid(format!("{what}: rates is empty")));
                }
                _ => {
                    return Err(Error::invalid(format!(
                        "{what}: give exactly one of rate, rates, rates_csv, trace"
                    )));
                }
            };
            if let Some(r) = rates.iter().find(|r| !(r.is_finite() && **r >= 0.0)) {
                return Err(Error::invalid(format!(
                    "{what}: arrival rate {r} must be >= 0"
                )));
            }
            if st.arrivals.is_none() && rates.iter().all(|r| *r == 0.0) {
                return Err(Error::invalid(format!(
                    "{what}: every arrival rate is zero"
                )));
            }
            st.handle.check(&format!("{what} handle"))?;
            if let Some(p) = &st.patience {
                p.check(&format!("{what} patience"))?;
            }
            if let Some(r) = &st.retrial {
                share(&format!("{what} retrial probability"), r.probability)?;
                r.delay.check(&format!("{what} retrial delay"))?;
            }
            if let Some(c) = &st.callback {
                share(&format!("{what} callback accept"), c.accept)?;
                seconds(&format!("{what} callback offer_after"), c.offer_after)?;
            }
            share(&format!("{what} self_service"), st.self_service)?;
            let skills: Vec<(String, i64)> =
                st.skills.iter().map(|(k, v)| (k.clone(), *v)).collect();
            let refs: Vec<(&str, i64)> = skills.iter().map(|(k, v)| (k.as_str(), *v)).collect();
            let id = format!("probe-{}", streams.len());
            probe
                .enqueue(
                    0.0,
                    &crate::NewCall {
                        id: &id,
                        queue: &st.queue,
                        priority: st.priority,
                        skills: &refs,
                        preferred: None,
                        max_wait_exempt: false,
                        parked: false,
                    },
                )
                .map_err(|e| Error::invalid(format!("{what}: {e}")))?;
            if let Some(calls) = &st.arrivals {
                for (i, c) in calls.iter().enumerate() {
                    let refs: Vec<(&str, i64)> =
                        c.skills.iter().map(|(k, v)| (k.as_str(), *v)).collect();
                    probe
                        .enqueue(
                            0.0,
                            &crate::NewCall {
                                id: &format!("probe-{}-{i}", streams.len()),
                                queue: &st.queue,
                                priority: c.priority,
                                skills: &refs,
                                preferred: None,
                                max_wait_exempt: false,
                                parked: false,
                            },
                        )
                        .map_err(|e| Error::invalid(format!("{what}: trace call {i}: {e}")))?;
                }
            }
            streams.push(PreparedStream {
                name: st.name.clone(),
                queue,
                rates,
                arrivals: st.arrivals.clone().map(Arc::new),
                priority: st.priority,
                skills,
                handle: st.handle.clone(),
                patience: st.patience.clone(),
                retrial: st.retrial.clone(),
                callback: st.callback.clone(),
                self_service: st.self_service,
            });
        }
        if s.calls == Some(0) {
            return Err(Error::invalid("simulation.calls must be >= 1"));
        }
        Ok(Prepared {
            interval,
            horizon: s.intervals.map(|n| f64::from(n) * interval),
            calls: s.calls,
            warmup: seconds("simulation.warmup", s.warmup)?,
            queues,
            groups,
            streams,
        })
    }
}

fn queue_config(q: &QueueSpec) -> Result<QueueConfig> {
    let what = format!("queue {:?}", q.id);
    let strategy: Strategy = q
        .strategy
        .parse()
        .map_err(|e| Error::invalid(format!("{what}: {e}")))?;
    let mut escalation = Vec::new();
    for (i, st) in q.escalation.iter().enumerate() {
        let w = format!("{what} escalation step {i}");
        let need = |field: &str| Error::invalid(format!("{w}: {} needs {field}", st.action));
        let action = match st.action.as_str() {
            "lower-skills" => {
                let by = st.by.ok_or_else(|| need("by"))?;
                Action::LowerSkills(u8::try_from(by).map_err(|_| {
                    Error::invalid(format!("{w}: by must be within 0..=255, got {by}"))
                })?)
            }
            "clear-skills" => Action::ClearSkills,
            "add-queues" => Action::AddQueues(st.queues.clone().ok_or_else(|| need("queues"))?),
            "raise-priority" => Action::RaisePriority(st.by.ok_or_else(|| need("by"))?),
            "fallback" => Action::Fallback(st.target.clone().ok_or_else(|| need("target"))?),
            other => {
                return Err(Error::invalid(format!(
                    "{w}: unknown action {other:?} (expected lower-skills, clear-skills, add-queues, raise-priority, fallback)"
                )));
            }
        };
        escalation.push(EscalationStep {
            after: st.after,
            action,
        });
    }
    Ok(QueueConfig {
        strategy,
        wrapup: q.wrapup,
        weight: q.weight,
        sl: q.sl,
        max_waiting: q.max_waiting,
        max_wait: q.max_wait,
        on_limit: q.overflow.clone().map_or(OnLimit::End, OnLimit::Overflow),
        aging: q.aging,
        escalation,
        ..QueueConfig::default()
    })
}
