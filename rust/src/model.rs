//! The engine's vocabulary: strategies, queue configuration, escalation steps, agent states and
//! the events the host receives.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::error::{Error, Result};

/// Ids are shared, immutable strings: an event clones a pointer, not the bytes.
pub type Id = Arc<str>;

/// How a queue picks among eligible available agents when a call arrives.
/// Every order ends in the login sequence, so there are no unresolved ties.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Strategy {
    /// Earliest time the agent last became available, then lowest login sequence.
    LongestIdle,
    /// Lowest login sequence above the agent this queue last gave a call to, wrapping around.
    RoundRobin,
    /// Lowest login sequence: fixed order, from the top every call.
    Linear,
    /// Fewest calls taken from this queue since login, then as longest-idle.
    FewestCalls,
    /// Least talk seconds over ended calls since login, then as longest-idle.
    LeastTalkTime,
    /// Highest sum of the agent's levels over the call's required skills, then as longest-idle.
    SkillsBest,
    /// Uniform among eligible agents, from the engine's seeded generator.
    Random,
    /// Proportional to each agent's membership weight in the queue, seeded.
    WeightedRandom,
    /// Offer to every eligible agent; the first to accept wins. With offers accepted at once
    /// (replay, simulation) the longest-idle agent wins.
    RingAll,
}

impl Strategy {
    pub const ALL: [Strategy; 9] = [
        Strategy::LongestIdle,
        Strategy::RoundRobin,
        Strategy::Linear,
        Strategy::FewestCalls,
        Strategy::LeastTalkTime,
        Strategy::SkillsBest,
        Strategy::Random,
        Strategy::WeightedRandom,
        Strategy::RingAll,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::LongestIdle => "longest-idle",
            Strategy::RoundRobin => "round-robin",
            Strategy::Linear => "linear",
            Strategy::FewestCalls => "fewest-calls",
            Strategy::LeastTalkTime => "least-talk-time",
            Strategy::SkillsBest => "skills-best",
            Strategy::Random => "random",
            Strategy::WeightedRandom => "weighted-random",
            Strategy::RingAll => "ring-all",
        }
    }
}

impl FromStr for Strategy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Strategy::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Strategy::ALL.iter().map(|k| k.as_str()).collect();
                Error::invalid(format!(
                    "unknown strategy {:?} (expected one of {})",
                    crate::error::clip(s),
                    names.join(", ")
                ))
            })
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an escalation step does to a call still waiting `after` seconds after it entered its
/// queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Action {
    /// Lower every required skill level by this much (never below 1).
    LowerSkills(u8),
    /// Drop the skill requirements: any agent of the queue will do.
    ClearSkills,
    /// Also wait in these queues (overflow); the call keeps its place in its own.
    AddQueues(Vec<String>),
    /// Raise the call's priority by this much.
    RaisePriority(i64),
    /// Hand the call to the host (voicemail, callback, ...): it leaves the queue.
    Fallback(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EscalationStep {
    pub after: f64,
    pub action: Action,
}

/// What happens when a call reaches `max_wait`, or arrives at a full queue.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub enum OnLimit {
    /// The call leaves with a timeout (max wait) or is refused (queue full).
    #[default]
    End,
    /// The call moves to this queue.
    Overflow(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueConfig {
    pub strategy: Strategy,
    /// Seconds of after-call work before the agent is available again.
    pub wrapup: f64,
    /// Between queues: an agent freeing up takes calls from the heaviest queue first.
    pub weight: f64,
    /// Service-level threshold in seconds: answers within it count as "within SL".
    pub sl: f64,
    /// Most calls waiting at once; a call arriving at a full queue meets `on_limit`.
    pub max_waiting: Option<u32>,
    /// Longest a call waits here before `on_limit`.
    pub max_wait: Option<f64>,
    pub on_limit: OnLimit,
    /// Seconds an offer rings before it counts as a no-answer (live offers only; 0 = forever).
    pub ring_timeout: f64,
    /// Seconds an agent who declined or missed an offer rests before it is offered calls
    /// again (0 = at once: the call goes to another eligible agent if there is one, else back
    /// to the same agent).
    pub retry: f64,
    /// No-answers in a row after which an agent is paused with reason "no-answer" (0 = never).
    pub max_no_answers: u32,
    /// Priority points gained per second waited.
    pub aging: f64,
    /// Steps in order of `after`.
    pub escalation: Vec<EscalationStep>,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            strategy: Strategy::LongestIdle,
            wrapup: 0.0,
            weight: 0.0,
            sl: 20.0,
            max_waiting: None,
            max_wait: None,
            on_limit: OnLimit::End,
            ring_timeout: 15.0,
            retry: 5.0,
            max_no_answers: 3,
            aging: 0.0,
            escalation: Vec::new(),
        }
    }
}

/// The state an agent shows on a wallboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AgentState {
    LoggedOut,
    Available,
    /// Offered a call, not yet answered.
    Reserved,
    Busy,
    WrapUp,
    Paused,
}

impl AgentState {
    pub const ALL: [AgentState; 6] = [
        AgentState::LoggedOut,
        AgentState::Available,
        AgentState::Reserved,
        AgentState::Busy,
        AgentState::WrapUp,
        AgentState::Paused,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AgentState::LoggedOut => "logged-out",
            AgentState::Available => "available",
            AgentState::Reserved => "reserved",
            AgentState::Busy => "busy",
            AgentState::WrapUp => "wrap-up",
            AgentState::Paused => "paused",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// Why an offer stopped ringing at an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Unoffer {
    /// Nobody answered within the queue's ring timeout.
    Timeout,
    /// Another agent answered first (ring-all).
    Taken,
    /// The caller hung up, or the agent logged out.
    Withdrawn,
}

impl Unoffer {
    pub fn as_str(self) -> &'static str {
        match self {
            Unoffer::Timeout => "timeout",
            Unoffer::Taken => "taken",
            Unoffer::Withdrawn => "withdrawn",
        }
    }
}

/// What the engine tells the host. Times are the moment the thing happened (a wrap-up that
/// ended at 12.0 reports 12.0 even if the host's next call said now=20.0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Event {
    /// Ring these agents for this call (live mode).
    Offer {
        t: f64,
        call: Id,
        queue: Id,
        agents: Vec<Id>,
    },
    /// Stop ringing this agent.
    Unoffer {
        t: f64,
        call: Id,
        agent: Id,
        why: Unoffer,
    },
    /// The call is connected to the agent.
    Assign {
        t: f64,
        call: Id,
        agent: Id,
        queue: Id,
        wait: f64,
    },
    /// The caller hung up while waiting.
    Abandon {
        t: f64,
        call: Id,
        queue: Id,
        wait: f64,
    },
    /// The host took a waiting call back (`Engine::withdraw`): nobody was on the line, e.g. a
    /// previewed lead no agent took. Not an abandon, and not counted as offered.
    Withdraw {
        t: f64,
        call: Id,
        queue: Id,
        wait: f64,
    },
    /// A connected call ended (`queue`: the queue that served it).
    End {
        t: f64,
        call: Id,
        agent: Id,
        queue: Id,
        talk: f64,
    },
    /// The call waited `max_wait` and left.
    Timeout {
        t: f64,
        call: Id,
        queue: Id,
        wait: f64,
    },
    /// The call moved from a full or timed-out queue (`to: None`: refused, it left).
    Overflow {
        t: f64,
        call: Id,
        from: Id,
        to: Option<Id>,
        wait: f64,
    },
    /// An escalation step (index into the queue's steps) applied to the call.
    Escalate {
        t: f64,
        call: Id,
        queue: Id,
        step: u32,
    },
    /// The call was handed to the host's fallback (voicemail, callback, ...) and left.
    Fallback {
        t: f64,
        call: Id,
        queue: Id,
        target: Id,
        wait: f64,
    },
    /// The agent missed too many offers in a row and was paused.
    AutoPause { t: f64, agent: Id, reason: Id },
}

impl Event {
    pub fn t(&self) -> f64 {
        match self {
            Event::Offer { t, .. }
            | Event::Unoffer { t, .. }
            | Event::Assign { t, .. }
            | Event::Abandon { t, .. }
            | Event::End { t, .. }
            | Event::Timeout { t, .. }
            | Event::Overflow { t, .. }
            | Event::Escalate { t, .. }
            | Event::Fallback { t, .. }
            | Event::AutoPause { t, .. }
            | Event::Withdraw { t, .. } => *t,
        }
    }

    /// Every kind's name, in the order of `code()` (the batch APIs' kind codes).
    pub const KINDS: [&'static str; 11] = [
        "offer",
        "unoffer",
        "assign",
        "abandon",
        "end",
        "timeout",
        "overflow",
        "escalate",
        "fallback",
        "auto-pause",
        "withdraw",
    ];

    /// The kind as a small number: its index in `KINDS`.
    pub fn code(&self) -> u8 {
        match self {
            Event::Offer { .. } => 0,
            Event::Unoffer { .. } => 1,
            Event::Assign { .. } => 2,
            Event::Abandon { .. } => 3,
            Event::End { .. } => 4,
            Event::Timeout { .. } => 5,
            Event::Overflow { .. } => 6,
            Event::Escalate { .. } => 7,
            Event::Fallback { .. } => 8,
            Event::AutoPause { .. } => 9,
            Event::Withdraw { .. } => 10,
        }
    }

    pub fn kind(&self) -> &'static str {
        Self::KINDS[self.code() as usize]
    }
}
