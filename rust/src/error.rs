//! One error type for the whole engine. Each variant maps to one Python exception in the
//! bindings (`KeyError`, `ValueError`, `acdcore.StateError`), so callers can tell a typo from a
//! call that is simply in the wrong state.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// An id that names nothing the engine knows (`KeyError`).
    Unknown { kind: &'static str, id: String },
    /// An argument that can never be valid (`ValueError`).
    Invalid(String),
    /// A valid request that the current state forbids (`StateError`).
    State(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn unknown(kind: &'static str, id: &str) -> Self {
        Error::Unknown { kind, id: clip(id) }
    }
    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        Error::Invalid(msg.into())
    }
    pub(crate) fn state(msg: impl Into<String>) -> Self {
        Error::State(msg.into())
    }
}

/// Ids in messages are clipped so a megabyte-long bad id does not become a megabyte-long message.
pub(crate) fn clip(s: &str) -> String {
    const MAX: usize = 64;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} bytes)", &s[..end], s.len())
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Unknown { kind, id } => write!(f, "unknown {kind} {id:?}"),
            Error::Invalid(m) | Error::State(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}
