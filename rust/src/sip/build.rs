//! Building messages: requests and responses from parts, and the responses and requests the
//! RFC derives from a request (section 8.2.6 responses, 9.1 CANCEL, 17.1.1.3 ACK).

use std::borrow::Cow;

use super::error::{ParseError, Result, clip};
use super::headers::canonical_name;
use super::message::{Header, Message, StartLine};
use super::text::is_token;

/// The RFC 3261 reason phrase of a status code ("" for codes it does not name).
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Trying",
        180 => "Ringing",
        181 => "Call Is Being Forwarded",
        182 => "Queued",
        183 => "Session Progress",
        200 => "OK",
        202 => "Accepted",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Moved Temporarily",
        305 => "Use Proxy",
        380 => "Alternative Service",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        410 => "Gone",
        413 => "Request Entity Too Large",
        414 => "Request-URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Unsupported URI Scheme",
        420 => "Bad Extension",
        421 => "Extension Required",
        423 => "Interval Too Brief",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        482 => "Loop Detected",
        483 => "Too Many Hops",
        484 => "Address Incomplete",
        485 => "Ambiguous",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        491 => "Request Pending",
        493 => "Undecipherable",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Server Time-out",
        505 => "Version Not Supported",
        513 => "Message Too Large",
        600 => "Busy Everywhere",
        603 => "Decline",
        604 => "Does Not Exist Anywhere",
        606 => "Not Acceptable",
        _ => "",
    }
}

/// Text that would end a line or the message cannot go into a header or start line.
fn no_line_break(what: &str, s: &str) -> Result<()> {
    if s.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(ParseError::header(
            what,
            format!("line break in {:?}", clip(s)),
        ));
    }
    Ok(())
}

impl<'a> Message<'a> {
    /// A request with no headers yet.
    pub fn request(method: impl Into<Cow<'a, str>>, uri: impl Into<Cow<'a, str>>) -> Result<Self> {
        let (method, uri) = (method.into(), uri.into());
        if !is_token(&method) {
            return Err(ParseError::StartLine(format!(
                "bad method {:?}",
                clip(&method)
            )));
        }
        if uri.is_empty() || uri.bytes().any(|b| b.is_ascii_control() || b == b' ') {
            return Err(ParseError::StartLine(format!(
                "bad Request-URI {:?}",
                clip(&uri)
            )));
        }
        Ok(Message {
            start: StartLine::Request { method, uri },
            headers: Vec::new(),
            body: Cow::Borrowed(&[]),
        })
    }

    /// A response with no headers yet; `reason` None takes the RFC's phrase.
    pub fn response(status: u16, reason: Option<Cow<'a, str>>) -> Result<Self> {
        if !(100..=699).contains(&status) {
            return Err(ParseError::StartLine(format!(
                "status {status} is not 100..699"
            )));
        }
        let reason = reason.unwrap_or(Cow::Borrowed(reason_phrase(status)));
        no_line_break("reason phrase", &reason)?;
        Ok(Message {
            start: StartLine::Response { status, reason },
            headers: Vec::new(),
            body: Cow::Borrowed(&[]),
        })
    }

    /// Appends a header (a compact or differently-cased known name is stored canonically).
    /// Content-Length is refused: it is written from the body.
    pub fn push_header(
        &mut self,
        name: impl Into<Cow<'a, str>>,
        value: impl Into<Cow<'a, str>>,
    ) -> Result<()> {
        let (name, value) = (name.into(), value.into());
        if !is_token(&name) {
            return Err(ParseError::header(&name, "bad header name"));
        }
        let name = canonical_name(&name).map_or(name, Cow::Borrowed);
        if name == "Content-Length" {
            return Err(ParseError::header(&name, "is written from the body"));
        }
        no_line_break(&name, &value)?;
        self.headers.push(Header { name, value });
        Ok(())
    }

    /// Builder form of [`Message::push_header`].
    pub fn with_header(
        mut self,
        name: impl Into<Cow<'a, str>>,
        value: impl Into<Cow<'a, str>>,
    ) -> Result<Self> {
        self.push_header(name, value)?;
        Ok(self)
    }

    /// Removes every header with this name; returns how many there were.
    pub fn remove_header(&mut self, name: &str) -> usize {
        let want = canonical_name(name).unwrap_or(name);
        let before = self.headers.len();
        self.headers.retain(|h| !h.name.eq_ignore_ascii_case(want));
        before - self.headers.len()
    }

    /// Replaces the body and its Content-Type (removed when `content_type` is None).
    pub fn set_body(
        &mut self,
        content_type: Option<&'a str>,
        body: impl Into<Cow<'a, [u8]>>,
    ) -> Result<()> {
        self.remove_header("Content-Type");
        if let Some(ct) = content_type {
            self.push_header("Content-Type", ct)?;
        }
        self.body = body.into();
        Ok(())
    }

    fn copy_headers(&self, into: &mut Message<'a>, names: &[&str]) {
        for name in names {
            for h in self
                .headers
                .iter()
                .filter(|h| h.name.eq_ignore_ascii_case(name))
            {
                into.headers.push(h.clone());
            }
        }
    }

    /// A response to this request (RFC 3261 section 8.2.6): Via, From, Call-ID and CSeq copied,
    /// To copied with `to_tag` added when it has no tag yet (never on 100), Timestamp echoed
    /// on 100, Record-Route copied on responses that can create a dialog (101..299).
    pub fn reply(
        &self,
        status: u16,
        reason: Option<Cow<'a, str>>,
        to_tag: Option<&str>,
    ) -> Result<Message<'a>> {
        if !self.is_request() {
            return Err(ParseError::StartLine("cannot reply to a response".into()));
        }
        let mut r = Message::response(status, reason)?;
        self.copy_headers(&mut r, &["Via", "From"]);
        let to = self
            .headers
            .iter()
            .find(|h| h.name == "To")
            .ok_or_else(|| ParseError::header("To", "missing"))?;
        let value = match to_tag {
            Some(tag) if status > 100 && self.to()?.tag().is_none() => {
                if !is_token(tag) {
                    return Err(ParseError::header("To", format!("bad tag {:?}", clip(tag))));
                }
                Cow::Owned(format!("{};tag={tag}", to.value))
            }
            _ => to.value.clone(),
        };
        r.headers.push(Header {
            name: Cow::Borrowed("To"),
            value,
        });
        self.copy_headers(&mut r, &["Call-ID", "CSeq"]);
        if status == 100 {
            self.copy_headers(&mut r, &["Timestamp"]);
        }
        if (101..300).contains(&status) {
            self.copy_headers(&mut r, &["Record-Route"]);
        }
        Ok(r)
    }

    /// CANCEL for this (INVITE) request (section 9.1): same Request-URI, Call-ID, From, To and
    /// CSeq number, only the top Via, Route copied.
    pub fn cancel(&self) -> Result<Message<'a>> {
        self.derived("CANCEL", None)
    }

    /// ACK for a non-2xx final response to this INVITE (section 17.1.1.3): like CANCEL, but
    /// To comes from the response (it carries the UAS's tag).
    pub fn ack_for(&self, response: &Message<'a>) -> Result<Message<'a>> {
        let to = response
            .headers
            .iter()
            .find(|h| h.name == "To")
            .ok_or_else(|| ParseError::header("To", "missing in the response"))?;
        self.derived("ACK", Some(to.clone()))
    }

    fn derived(&self, method: &'static str, to: Option<Header<'a>>) -> Result<Message<'a>> {
        let StartLine::Request { uri, .. } = &self.start else {
            return Err(ParseError::StartLine(format!(
                "{method} is built from a request"
            )));
        };
        let mut m = Message::request(method, uri.clone())?;
        let via = self
            .headers
            .iter()
            .find(|h| h.name == "Via")
            .ok_or_else(|| ParseError::header("Via", "missing"))?;
        // The top Via of a header holding several comma-separated values is its first value.
        let top = super::text::split_outside(&via.value, b',')
            .next()
            .unwrap_or("");
        m.headers.push(Header {
            name: Cow::Borrowed("Via"),
            value: Cow::Owned(top.to_owned()),
        });
        self.copy_headers(&mut m, &["From"]);
        match to {
            Some(h) => m.headers.push(h),
            None => self.copy_headers(&mut m, &["To"]),
        }
        self.copy_headers(&mut m, &["Call-ID"]);
        let cseq = self.cseq()?;
        m.headers.push(Header {
            name: Cow::Borrowed("CSeq"),
            value: Cow::Owned(format!("{} {method}", cseq.number)),
        });
        self.copy_headers(&mut m, &["Route"]);
        m.headers.push(Header {
            name: Cow::Borrowed("Max-Forwards"),
            value: Cow::Borrowed("70"),
        });
        Ok(m)
    }
}
