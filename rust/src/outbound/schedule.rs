//! Which lead to dial next, without looking at every lead: leads waiting for a time sit in a
//! heap ordered by that time; once due they move to a heap ordered by priority (then by how
//! long they have been due). Rescheduling a lead bumps its generation, so entries it left
//! behind are skipped when they surface instead of being searched for and removed.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use serde::{Deserialize, Serialize};

use crate::time::Time;

/// (priority, earlier due first, seq, lead, generation).
type DueKey = (i64, Reverse<Time>, Reverse<u64>, u32, u32);

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Schedule {
    /// (due, seq, lead, generation), earliest first.
    future: BinaryHeap<Reverse<(Time, u64, u32, u32)>>,
    due: BinaryHeap<DueKey>,
    seq: u64,
}

impl Schedule {
    /// Every lead with an entry (possibly stale), for checking a restored schedule.
    pub fn leads(&self) -> impl Iterator<Item = u32> + '_ {
        let future = self.future.iter().map(|Reverse((_, _, lead, _))| *lead);
        future.chain(self.due.iter().map(|(_, _, _, lead, _)| *lead))
    }

    pub fn push(&mut self, lead: u32, generation: u32, at: f64) {
        self.seq += 1;
        self.future
            .push(Reverse((Time(at), self.seq, lead, generation)));
    }

    /// The highest-priority lead due by `now`, with the generation it was queued under and its
    /// priority looked up by `priority`; the caller checks the generation is still current.
    pub fn pop_due(&mut self, now: f64, priority: impl Fn(u32) -> i64) -> Option<(u32, u32)> {
        while let Some(Reverse((at, _, _, _))) = self.future.peek() {
            if at.0 > now {
                break;
            }
            let Some(Reverse((at, seq, lead, generation))) = self.future.pop() else {
                break;
            };
            self.due
                .push((priority(lead), Reverse(at), Reverse(seq), lead, generation));
        }
        self.due
            .pop()
            .map(|(_, _, _, lead, generation)| (lead, generation))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_leads_come_out_by_priority_then_due_time() {
        let mut s = Schedule::default();
        let prio = [0i64, 5, 5, 9];
        s.push(0, 0, 10.0);
        s.push(1, 0, 20.0);
        s.push(2, 0, 15.0);
        s.push(3, 0, 100.0);
        let p = |l: u32| prio[l as usize];
        assert_eq!(s.pop_due(5.0, p), None);
        assert_eq!(s.pop_due(50.0, p), Some((2, 0)));
        assert_eq!(s.pop_due(50.0, p), Some((1, 0)));
        assert_eq!(s.pop_due(50.0, p), Some((0, 0)));
        assert_eq!(s.pop_due(50.0, p), None);
        assert_eq!(s.pop_due(100.0, p), Some((3, 0)));
        assert!(s.future.is_empty() && s.due.is_empty());
    }
}
