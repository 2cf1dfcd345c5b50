//! Skills as bitsets. A call's required skills and an agent's skills are both a set of interned
//! skill numbers (one bit each) plus levels; "does this agent have every required skill?" is a
//! few word ANDs, and levels are only compared once the bits match.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::error::{Error, Result, clip};

/// Most skills one agent or one call may list; beyond this the input is refused, not truncated.
pub const MAX_SKILLS_PER_SET: usize = 256;
/// Distinct skill names one engine will intern.
pub const MAX_SKILL_NAMES: usize = 65_536;
pub const MAX_NAME_BYTES: usize = 256;

/// Interns skill names to small numbers so sets of them are bitsets.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct SkillNames {
    by_name: FxHashMap<String, u32>,
    names: Vec<String>,
}

impl SkillNames {
    /// Whether the table read from a snapshot holds together: at most `MAX_SKILL_NAMES`
    /// names, each numbered by its place in `names`.
    pub(crate) fn consistent(&self) -> bool {
        self.names.len() <= MAX_SKILL_NAMES
            && self.by_name.len() == self.names.len()
            && self
                .by_name
                .iter()
                .all(|(name, &n)| self.names.get(n as usize) == Some(name))
    }

    pub fn name(&self, n: u32) -> &str {
        &self.names[n as usize]
    }

    /// A name's number: below `MAX_SKILL_NAMES`, so it fits the `u16` a set stores.
    fn intern(&mut self, name: &str) -> Result<u16> {
        if let Some(&n) = self.by_name.get(name) {
            // Never truncated into another skill's number (a damaged snapshot's table).
            return u16::try_from(n).map_err(|_| {
                Error::invalid(format!("skill {:?} numbered {n}, beyond u16", clip(name)))
            });
        }
        check_name("skill name", name)?;
        if self.names.len() >= MAX_SKILL_NAMES {
            return Err(Error::invalid(format!(
                "too many distinct skill names (limit {MAX_SKILL_NAMES}); cannot add {:?}",
                clip(name)
            )));
        }
        let n = self.names.len() as u16; // < MAX_SKILL_NAMES = 2^16, checked above
        self.names.push(name.to_owned());
        self.by_name.insert(name.to_owned(), u32::from(n));
        Ok(n)
    }

    /// Builds a set from (name, level) pairs, checking levels 1..=100 and the size limit.
    /// `what` names the owner in error messages ("agent skills", "call skills").
    pub fn set<'a>(
        &mut self,
        what: &str,
        pairs: impl IntoIterator<Item = (&'a str, i64)>,
    ) -> Result<SkillSet> {
        let pairs = pairs.into_iter();
        let mut levels = Levels::new();
        for (name, level) in pairs {
            if levels.len() >= MAX_SKILLS_PER_SET {
                return Err(Error::invalid(format!(
                    "{what}: more than {MAX_SKILLS_PER_SET} skills"
                )));
            }
            if !(1..=100).contains(&level) {
                return Err(Error::invalid(format!(
                    "{what}: level of skill {:?} must be 1..100, got {level}",
                    clip(name)
                )));
            }
            levels.push((self.intern(name)?, level as u8));
        }
        levels.sort_unstable();
        if let Some(w) = levels.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(Error::invalid(format!(
                "{what}: skill {:?} listed twice",
                self.name(u32::from(w[0].0))
            )));
        }
        Ok(SkillSet::from_sorted(levels))
    }
}

pub(crate) fn check_name(what: &str, s: &str) -> Result<()> {
    if s.is_empty() || s.len() > MAX_NAME_BYTES {
        return Err(Error::invalid(format!(
            "{what} must be 1..{MAX_NAME_BYTES} bytes, got {} bytes ({:?})",
            s.len(),
            clip(s)
        )));
    }
    Ok(())
}

/// Levels of a set, inline up to 8 skills (an agent lists 2-8 in practice, a call 0-3). Skill
/// numbers are below `MAX_SKILL_NAMES` (2^16), so a pair is 4 bytes: see `SkillSet`.
type Levels = SmallVec<[(u16, u8); 8]>;

/// Skill numbers with levels, sorted by number, plus the same numbers as a bitset.
///
/// Both parts are inline for the common sizes (skill numbers below 128, up to 8 skills): the
/// eligibility test of routing reads an agent's set for every candidate it looks at, and an
/// inline set is in the agent's own record instead of two more heap blocks (two more cache
/// misses per candidate); building a call's set allocates nothing. Larger sets spill to the
/// heap. The pairs are (u16, u8), so the whole set is 64 bytes, one cache line (it was 96 with
/// u32 numbers: an agent's set straddled two lines, and each of the 10,000 agents of the
/// routing day is one more line to miss). Serialized as two sequences, as the boxed slices
/// before; msgpack writes an integer by its value, so the bytes are those of the u32 form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SkillSet {
    bits: SmallVec<[u64; 2]>,
    levels: Levels,
}

impl SkillSet {
    fn from_sorted(levels: Levels) -> Self {
        let words = levels.last().map_or(0, |&(n, _)| n as usize / 64 + 1);
        let mut bits = SmallVec::from_elem(0u64, words);
        for &(n, _) in &levels {
            bits[n as usize / 64] |= 1 << (n % 64);
        }
        SkillSet { bits, levels }
    }

    pub fn levels(&self) -> &[(u16, u8)] {
        &self.levels
    }

    pub fn is_empty(&self) -> bool {
        self.levels.is_empty()
    }

    pub fn level(&self, skill: u32) -> Option<u8> {
        let skill = u16::try_from(skill).ok()?;
        self.levels
            .binary_search_by_key(&skill, |&(n, _)| n)
            .ok()
            .map(|i| self.levels[i].1)
    }

    /// True when `self` (an agent) has every skill of `req` at or above its minimum level.
    #[inline]
    pub fn satisfies(&self, req: &SkillSet) -> bool {
        if req.bits.len() > self.bits.len() {
            return false;
        }
        if req.bits.iter().zip(&self.bits).any(|(r, a)| r & !a != 0) {
            return false;
        }
        req.levels
            .iter()
            .all(|&(n, min)| self.level(u32::from(n)).is_some_and(|l| l >= min))
    }

    /// Sum of this agent's levels over the skills `req` names (the skills-best score).
    pub fn score(&self, req: &SkillSet) -> u32 {
        req.levels
            .iter()
            .map(|&(n, _)| u32::from(self.level(u32::from(n)).unwrap_or(0)))
            .sum()
    }

    /// Every minimum lowered by `by`, never below 1 (an escalation step).
    pub fn lowered(&self, by: u8) -> SkillSet {
        let levels = self
            .levels
            .iter()
            .map(|&(n, l)| (n, l.saturating_sub(by).max(1)))
            .collect();
        SkillSet::from_sorted(levels)
    }
}

type ReqKey = SmallVec<[(u16, u8); 4]>;

/// The distinct skill requirements of waiting calls, shared: a day has a few hundred whatever
/// its number of calls, so a call holds a 4-byte id instead of its own set. Counted, so a set no
/// call needs any more is freed; id 0 is the empty requirement and is never freed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Requirements {
    sets: Vec<SkillSet>,
    refs: Vec<u32>,
    /// Keyed by the levels themselves, inline (a call needs 0-3 skills): finding a set reads
    /// the table's entry only, not a boxed key elsewhere on the heap. Serialized as the
    /// sequence the boxed slices were.
    by_levels: FxHashMap<ReqKey, u32>,
    free: Vec<u32>,
}

impl Default for Requirements {
    fn default() -> Self {
        Requirements {
            sets: vec![SkillSet::default()],
            refs: vec![0],
            by_levels: FxHashMap::default(),
            free: Vec::new(),
        }
    }
}

impl Requirements {
    pub const NONE: u32 = 0;

    pub fn get(&self, id: u32) -> &SkillSet {
        &self.sets[id as usize]
    }

    pub fn len(&self) -> usize {
        self.sets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }

    /// The id of this set, counting one more user.
    pub fn acquire(&mut self, set: SkillSet) -> u32 {
        if set.is_empty() {
            return Self::NONE;
        }
        if let Some(&id) = self.by_levels.get(set.levels()) {
            self.refs[id as usize] += 1;
            return id;
        }
        let key = ReqKey::from_slice(set.levels());
        let id = match self.free.pop() {
            Some(id) => {
                self.sets[id as usize] = set;
                self.refs[id as usize] = 1;
                id
            }
            None => {
                self.sets.push(set);
                self.refs.push(1);
                (self.sets.len() - 1) as u32
            }
        };
        self.by_levels.insert(key, id);
        id
    }

    /// One user fewer; the set is freed with its last.
    pub fn release(&mut self, id: u32) {
        if id == Self::NONE {
            return;
        }
        let refs = &mut self.refs[id as usize];
        *refs -= 1;
        if *refs == 0 {
            let set = std::mem::take(&mut self.sets[id as usize]);
            self.by_levels.remove(set.levels());
            self.free.push(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A damaged table (as a snapshot could bring) is refused by the restore's check, and a
    /// number beyond u16 is an error, never truncated into another skill's.
    #[test]
    fn a_damaged_name_table_is_caught() {
        let bad: SkillNames =
            serde_json::from_str(r#"{"by_name": {"x": 70000}, "names": ["x"]}"#).unwrap();
        assert!(!bad.consistent());
        let err = bad
            .clone()
            .set("agent", [("x", 5)])
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"x\" numbered 70000"), "{err}");
        let swapped: SkillNames =
            serde_json::from_str(r#"{"by_name": {"x": 1, "y": 0}, "names": ["x", "y"]}"#).unwrap();
        assert!(!swapped.consistent());
        let mut good = SkillNames::default();
        good.set("agent", [("x", 5), ("y", 7)]).unwrap();
        assert!(good.consistent());
    }

    #[test]
    fn satisfies_checks_bits_then_levels() {
        let mut names = SkillNames::default();
        let agent = names.set("agent", [("en", 50), ("billing", 80)]).unwrap();
        let ok = names.set("call", [("billing", 80)]).unwrap();
        let too_high = names.set("call", [("billing", 81)]).unwrap();
        let missing = names.set("call", [("es", 1)]).unwrap();
        assert!(agent.satisfies(&ok));
        assert!(agent.satisfies(&SkillSet::default()));
        assert!(!agent.satisfies(&too_high));
        assert!(!agent.satisfies(&missing));
        assert_eq!(agent.score(&ok), 80);
    }

    #[test]
    fn bad_levels_and_duplicates_are_refused() {
        let mut names = SkillNames::default();
        assert!(names.set("agent", [("en", 0)]).is_err());
        assert!(names.set("agent", [("en", 101)]).is_err());
        let err = names.set("agent", [("en", 5), ("en", 6)]).unwrap_err();
        assert!(err.to_string().contains("\"en\""), "{err}");
        let many = (0..300).map(|i| (format!("s{i}"), 1)).collect::<Vec<_>>();
        let err = names
            .set("agent", many.iter().map(|(s, l)| (s.as_str(), *l)))
            .unwrap_err();
        assert!(err.to_string().contains("more than 256"), "{err}");
    }

    #[test]
    fn requirements_are_shared_and_freed_with_their_last_user() {
        let mut names = SkillNames::default();
        let mut reqs = Requirements::default();
        let fr_set = names.set("call", [("fr", 40)]).unwrap();
        let es_set = names.set("call", [("es", 10)]).unwrap();
        let fr = || fr_set.clone();
        let a = reqs.acquire(fr());
        let b = reqs.acquire(fr());
        assert_eq!(a, b);
        assert_eq!(reqs.acquire(SkillSet::default()), Requirements::NONE);
        reqs.release(a);
        assert_eq!(reqs.get(b).levels(), fr().levels(), "one user left");
        reqs.release(b);
        let es = reqs.acquire(es_set);
        assert_eq!(es, a, "the freed id is reused");
        assert_eq!(
            reqs.acquire(fr()),
            2,
            "and the freed set is gone from the index"
        );
    }

    #[test]
    fn lowered_never_goes_below_one() {
        let mut names = SkillNames::default();
        let req = names.set("call", [("a", 30), ("b", 5)]).unwrap();
        assert_eq!(req.lowered(10).levels(), &[(0, 20), (1, 1)]);
    }
}
