//! acdcore: an automatic call distribution engine.
//!
//! The [`Engine`] matches waiting calls to agents by skills, strategy, priority and
//! escalation. Time is an input to every operation, so live traffic, trace replay
//! ([`replay`]) and simulation all run this same code, deterministically.

pub mod distribution;
pub mod engine;
pub mod erlang;
pub mod error;
pub mod forecast;
pub mod media;
pub mod model;
pub mod outbound;
pub mod pacing;
mod ranked;
pub mod replay;
pub mod rng;
pub mod sim;
pub mod sip;
pub mod skills;
pub mod time;

pub use distribution::Distributor;
pub use engine::{
    AgentInfo, CallInfo, CallKey, Engine, EventNames, NewCall, Options, QueueCounters, QueueStats,
    RawEvent, RawEvents,
};
pub use error::{Error, Result};
pub use model::{
    Action, AgentState, EscalationStep, Event, Id, OnLimit, QueueConfig, Strategy, Unoffer,
};
