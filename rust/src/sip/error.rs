//! One error type for everything the SIP parser rejects. The message names the line or header
//! so that a server can send it back as the reason phrase of a 400 (or 416, 505, 513: see
//! [`ParseError::status`]).

use std::fmt;

/// Input quoted in messages is clipped (the engine's rule): a reason phrase stays short.
pub(crate) use crate::error::clip;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// The message (headers and body) is larger than the limit.
    TooLarge { size: usize, limit: usize },
    /// More header lines than the limit.
    TooManyHeaders { limit: usize },
    /// A line (counted from 1, the start line) longer than the limit.
    LineTooLong { line: usize, limit: usize },
    /// The request line or status line.
    StartLine(String),
    /// A SIP version other than SIP/2.0 (answered with 505).
    Version(String),
    /// A header line that is not `name: value`, or not UTF-8.
    Line { line: usize, reason: String },
    /// A header whose value does not parse, or a required header that is missing.
    Header { name: String, reason: String },
    /// Content-Length disagrees with the bytes that arrived.
    Body(String),
    /// A URI that does not parse.
    Uri(String),
    /// A URI scheme other than sip, sips and tel (answered with 416).
    Scheme(String),
    /// An SDP line (counted from 1).
    Sdp { line: usize, reason: String },
}

impl ParseError {
    pub(crate) fn header(name: &str, reason: impl Into<String>) -> Self {
        ParseError::Header {
            name: clip(name),
            reason: reason.into(),
        }
    }

    pub(crate) fn uri(reason: impl Into<String>) -> Self {
        ParseError::Uri(reason.into())
    }

    /// The SIP status a server answers this error with: 505 for a version it does not speak,
    /// 416 for a URI scheme it does not support, 513 for a message too large, 400 otherwise.
    pub fn status(&self) -> u16 {
        match self {
            ParseError::Version(_) => 505,
            ParseError::Scheme(_) => 416,
            ParseError::TooLarge { .. } => 513,
            _ => 400,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::TooLarge { size, limit } => {
                write!(f, "message of {size} bytes exceeds the limit of {limit}")
            }
            ParseError::TooManyHeaders { limit } => {
                write!(f, "more than {limit} header lines")
            }
            ParseError::LineTooLong { line, limit } => {
                write!(f, "line {line} is longer than {limit} bytes")
            }
            ParseError::StartLine(m) => write!(f, "bad start line: {m}"),
            ParseError::Version(v) => write!(f, "unsupported SIP version {v:?}"),
            ParseError::Line { line, reason } => write!(f, "line {line}: {reason}"),
            ParseError::Header { name, reason } => write!(f, "bad {name} header: {reason}"),
            ParseError::Body(m) => f.write_str(m),
            ParseError::Uri(m) => write!(f, "bad URI: {m}"),
            ParseError::Scheme(s) => write!(f, "unsupported URI scheme {s:?}"),
            ParseError::Sdp { line, reason } => write!(f, "SDP line {line}: {reason}"),
        }
    }
}

impl std::error::Error for ParseError {}

pub type Result<T> = std::result::Result<T, ParseError>;
