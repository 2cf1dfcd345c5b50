//! A campaign's whole state as bytes, so a restarted dialer goes on where it stopped: every
//! lead's attempts and outcome, the retry and callback schedule, the abandonment window, the
//! statistics, the clock. The do-not-call list is not in it: the caller passes the current one
//! back in. Same envelope as the engine's snapshot: msgpack, tagged, versioned, checksummed.

use std::sync::Arc;

use super::Campaign;
use crate::engine::fnv1a;
use crate::error::{Error, Result};
use crate::outbound::DncList;

const MAGIC: &str = "acdcore-campaign";
const VERSION: u32 = 1;

impl Campaign {
    pub fn snapshot(&self) -> Vec<u8> {
        let body = rmp_serde::to_vec(self).expect("campaign state always serializes");
        let sum = fnv1a(&body);
        rmp_serde::to_vec(&(MAGIC, VERSION, sum, serde_bytes::Bytes::new(&body)))
            .expect("snapshot envelope always serializes")
    }

    /// Rebuilds a campaign from `snapshot()` bytes with `dnc` as its do-not-call list; from
    /// then on it decides as the original would. Bytes that are not a campaign snapshot, of
    /// another version, damaged or inconsistent are an error, never a panic later.
    pub fn restore(bytes: &[u8], dnc: Arc<DncList>) -> Result<Self> {
        let bad = |e: &dyn std::fmt::Display| {
            Error::invalid(format!("not an acdcore campaign snapshot: {e}"))
        };
        let (magic, version, sum, body): (String, u32, u64, serde_bytes::ByteBuf) =
            rmp_serde::from_slice(bytes).map_err(|e| bad(&e))?;
        if magic != MAGIC || version != VERSION {
            return Err(Error::invalid(format!(
                "unsupported snapshot {magic:?} version {version} (expected {MAGIC:?} {VERSION})"
            )));
        }
        if fnv1a(&body) != sum {
            return Err(Error::invalid(
                "campaign snapshot is damaged: checksum mismatch",
            ));
        }
        let mut c: Campaign = rmp_serde::from_slice(&body).map_err(|e| bad(&e))?;
        c.cfg.check().map_err(|e| bad(&e))?;
        crate::time::check_seconds("snapshot clock", c.now).map_err(|e| bad(&e))?;
        if let Some(lead) = c.schedule.leads().find(|&l| l as usize >= c.slots.len()) {
            return Err(bad(&format!(
                "lead {lead} scheduled of {} leads",
                c.slots.len()
            )));
        }
        c.dnc = dnc;
        Ok(c)
    }
}
