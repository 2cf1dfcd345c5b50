//! Outbound dialing: lead lists, their life cycle, the compliance rules every dial passes and
//! the dialing modes. Times are Unix seconds (calling hours need the calendar); pacing for
//! predictive mode is an input to `Campaign::tick`.

pub mod abandon;
pub mod campaign;
#[cfg(test)]
mod campaign_tests;
pub mod dnc;
pub mod leads;
pub mod phone;
pub mod rules;
mod schedule;
pub mod zone;

pub use abandon::AbandonProfile;
pub use campaign::{
    Action, Agents, Campaign, Config, Dial, Disposition, LeadState, Mode, Outcome, Stats,
};
/// Time zones of the tz database, for callers that name one.
pub use chrono_tz::Tz;
pub use dnc::{DncList, Layout as DncLayout};
pub use leads::{BadRow, Lead, LeadList, Number};
pub use rules::{Refusal, Rules};
pub use zone::ZoneMap;
