//! `acdcore._core.SipMessage`, `Uri`, `Sdp` and friends: SIP parsing and building from Python.
//! A message owns its parsed form; typed views (Via, NameAddr, Challenge) are copied out as
//! plain frozen objects. Parsing a datagram takes microseconds, so the GIL is kept.

use std::borrow::Cow;

use acdcore::sip::sdp::{self, Local, Media, NotAcceptable, Sdp};
use acdcore::sip::{Challenge, Contact, Framed, Limits, Message, NameAddr, ParseError, Uri, Via};
use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

create_exception!(
    acdcore,
    SipParseError,
    PyValueError,
    "A SIP message, URI or SDP body that does not parse; `status` is the response it deserves (400, 416, 505, 513)."
);

create_exception!(
    acdcore,
    NotAcceptableError,
    PyValueError,
    "An SDP offer with nothing this side can accept (answered with 488 Not Acceptable Here)."
);

fn parse_err(py: Python<'_>, e: ParseError) -> PyErr {
    let err = SipParseError::new_err(e.to_string());
    // The status goes on the instance so a server can answer without parsing the message text.
    let _ = err.value(py).setattr("status", e.status());
    err
}

fn not_acceptable(e: NotAcceptable) -> PyErr {
    NotAcceptableError::new_err(e.0)
}

type Params = Vec<(String, Option<String>)>;

fn own_params(p: &acdcore::sip::Params<'_>) -> Params {
    p.0.iter()
        .map(|(n, v)| ((*n).to_owned(), v.map(str::to_owned)))
        .collect()
}

#[pyclass(name = "Uri", module = "acdcore._core", frozen, get_all)]
pub struct PyUri {
    pub scheme: &'static str,
    pub user: Option<String>,
    pub password: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    pub params: Params,
    pub headers: Vec<(String, String)>,
    /// The URI serialized.
    pub text: String,
}

impl From<&Uri<'_>> for PyUri {
    fn from(u: &Uri<'_>) -> Self {
        PyUri {
            scheme: u.scheme.as_str(),
            user: u.user.map(str::to_owned),
            password: u.password.map(str::to_owned),
            host: u.host.to_owned(),
            port: u.port,
            params: own_params(&u.params),
            headers: u
                .headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            text: u.to_string(),
        }
    }
}

#[pymethods]
impl PyUri {
    #[staticmethod]
    fn parse(py: Python<'_>, text: &str) -> PyResult<Self> {
        Uri::parse(text)
            .map(|u| PyUri::from(&u))
            .map_err(|e| parse_err(py, e))
    }

    fn __str__(&self) -> &str {
        &self.text
    }

    fn __repr__(&self) -> String {
        format!("Uri({:?})", self.text)
    }
}

#[pyclass(name = "Via", module = "acdcore._core", frozen, get_all)]
pub struct PyVia {
    pub transport: String,
    pub host: String,
    pub port: Option<u16>,
    pub branch: Option<String>,
    pub received: Option<String>,
    /// `;rport` present (with or without a value).
    pub has_rport: bool,
    pub rport: Option<u16>,
    pub maddr: Option<String>,
    pub ttl: Option<u8>,
    pub params: Params,
    /// The value serialized.
    pub text: String,
}

impl From<&Via<'_>> for PyVia {
    fn from(v: &Via<'_>) -> Self {
        PyVia {
            transport: v.transport.to_owned(),
            host: v.host.to_owned(),
            port: v.port,
            branch: v.branch().map(str::to_owned),
            received: v.received().map(str::to_owned),
            has_rport: v.rport().is_some(),
            rport: v.rport().flatten(),
            maddr: v.maddr().map(str::to_owned),
            ttl: v.ttl(),
            params: own_params(&v.params),
            text: v.to_string(),
        }
    }
}

#[pymethods]
impl PyVia {
    fn __str__(&self) -> &str {
        &self.text
    }
}

/// From, To, Contact, Route, Record-Route.
#[pyclass(name = "NameAddr", module = "acdcore._core", frozen, get_all)]
pub struct PyNameAddr {
    pub display: Option<String>,
    pub uri: Py<PyUri>,
    pub tag: Option<String>,
    /// A Contact's `expires` parameter.
    pub expires: Option<u32>,
    pub params: Params,
    /// The value serialized.
    pub text: String,
}

impl PyNameAddr {
    fn new(py: Python<'_>, a: &NameAddr<'_>) -> PyResult<Self> {
        Ok(PyNameAddr {
            display: a.display.map(str::to_owned),
            uri: Py::new(py, PyUri::from(&a.uri))?,
            tag: a.tag().map(str::to_owned),
            expires: Contact::Addr(a.clone()).expires(),
            params: own_params(&a.params),
            text: a.to_string(),
        })
    }
}

#[pymethods]
impl PyNameAddr {
    fn __str__(&self) -> &str {
        &self.text
    }
}

/// A WWW-Authenticate / Proxy-Authenticate challenge or Authorization credentials.
#[pyclass(name = "Challenge", module = "acdcore._core", frozen, get_all)]
pub struct PyChallenge {
    pub scheme: String,
    /// Parameter values without their quotes, in order.
    pub params: Vec<(String, String)>,
}

impl From<&Challenge<'_>> for PyChallenge {
    fn from(c: &Challenge<'_>) -> Self {
        PyChallenge {
            scheme: c.scheme.to_owned(),
            params: c
                .params
                .iter()
                .map(|(n, _)| ((*n).to_owned(), c.param(n).unwrap_or("").to_owned()))
                .collect(),
        }
    }
}

#[pymethods]
impl PyChallenge {
    /// A parameter's value (name compared case-insensitively).
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[pyclass(name = "SipMessage", module = "acdcore._core", frozen)]
pub struct PySipMessage {
    inner: Message<'static>,
}

fn build(
    py: Python<'_>,
    mut m: Message<'static>,
    headers: Vec<(String, String)>,
    body: &[u8],
    content_type: Option<String>,
) -> PyResult<PySipMessage> {
    for (n, v) in headers {
        m.push_header(n, v).map_err(|e| parse_err(py, e))?;
    }
    if !body.is_empty() || content_type.is_some() {
        m.remove_header("Content-Type");
        if let Some(ct) = content_type {
            m.push_header("Content-Type", ct)
                .map_err(|e| parse_err(py, e))?;
        }
        m.body = Cow::Owned(body.to_vec());
    }
    Ok(PySipMessage { inner: m })
}

impl PySipMessage {
    fn wrap(m: Message<'_>) -> Self {
        PySipMessage {
            inner: m.into_owned(),
        }
    }

    fn addrs(&self, py: Python<'_>, name: &'static str) -> PyResult<Vec<PyNameAddr>> {
        let list = match name {
            "Route" => self.inner.routes(),
            _ => self.inner.record_routes(),
        };
        list.map_err(|e| parse_err(py, e))?
            .iter()
            .map(|a| PyNameAddr::new(py, a))
            .collect()
    }
}

fn limits(max_message: usize) -> Limits {
    Limits {
        max_message,
        ..Limits::default()
    }
}

#[pymethods]
impl PySipMessage {
    /// Parses one datagram.
    #[staticmethod]
    #[pyo3(signature = (data, max_message = 65_535))]
    fn parse(py: Python<'_>, data: &[u8], max_message: usize) -> PyResult<Self> {
        Message::parse_with(data, &limits(max_message))
            .map(Self::wrap)
            .map_err(|e| parse_err(py, e))
    }

    /// Reads the first message of a stream buffer: (message, bytes consumed); (None, n) for
    /// n bytes of keepalive CRLFs, (None, 0) when more bytes are needed.
    #[staticmethod]
    #[pyo3(signature = (data, max_message = 65_535))]
    fn parse_stream(
        py: Python<'_>,
        data: &[u8],
        max_message: usize,
    ) -> PyResult<(Option<Self>, usize)> {
        match Message::parse_stream(data, &limits(max_message)).map_err(|e| parse_err(py, e))? {
            Framed::Complete { message, consumed } => Ok((Some(Self::wrap(message)), consumed)),
            Framed::Keepalive { consumed } => Ok((None, consumed)),
            Framed::Incomplete => Ok((None, 0)),
        }
    }

    #[staticmethod]
    #[pyo3(signature = (method, uri, headers = Vec::new(), body = b"".as_slice(), content_type = None))]
    fn request(
        py: Python<'_>,
        method: String,
        uri: String,
        headers: Vec<(String, String)>,
        body: &[u8],
        content_type: Option<String>,
    ) -> PyResult<Self> {
        let m = Message::request(method, uri).map_err(|e| parse_err(py, e))?;
        build(py, m, headers, body, content_type)
    }

    #[staticmethod]
    #[pyo3(signature = (status, reason = None, headers = Vec::new(), body = b"".as_slice(), content_type = None))]
    fn response(
        py: Python<'_>,
        status: u16,
        reason: Option<String>,
        headers: Vec<(String, String)>,
        body: &[u8],
        content_type: Option<String>,
    ) -> PyResult<Self> {
        let m = Message::response(status, reason.map(Cow::Owned)).map_err(|e| parse_err(py, e))?;
        build(py, m, headers, body, content_type)
    }

    /// A response to this request (RFC 3261 8.2.6), with extra headers and an optional body.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (status, reason = None, to_tag = None, headers = Vec::new(), body = b"".as_slice(), content_type = None))]
    fn reply(
        &self,
        py: Python<'_>,
        status: u16,
        reason: Option<String>,
        to_tag: Option<&str>,
        headers: Vec<(String, String)>,
        body: &[u8],
        content_type: Option<String>,
    ) -> PyResult<Self> {
        let r = self
            .inner
            .reply(status, reason.map(Cow::Owned), to_tag)
            .map_err(|e| parse_err(py, e))?
            .into_owned();
        build(py, r, headers, body, content_type)
    }

    fn cancel(&self, py: Python<'_>) -> PyResult<Self> {
        self.inner
            .cancel()
            .map(Self::wrap)
            .map_err(|e| parse_err(py, e))
    }

    fn ack_for(&self, py: Python<'_>, response: &PySipMessage) -> PyResult<Self> {
        self.inner
            .ack_for(&response.inner)
            .map(Self::wrap)
            .map_err(|e| parse_err(py, e))
    }

    /// A copy with one more header.
    fn with_header(&self, py: Python<'_>, name: String, value: String) -> PyResult<Self> {
        let mut m = self.inner.clone();
        m.push_header(name, value).map_err(|e| parse_err(py, e))?;
        Ok(PySipMessage { inner: m })
    }

    /// A copy without any header of this name.
    fn without_header(&self, name: &str) -> Self {
        let mut m = self.inner.clone();
        m.remove_header(name);
        PySipMessage { inner: m }
    }

    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.to_bytes())
    }

    #[getter]
    fn is_request(&self) -> bool {
        self.inner.is_request()
    }

    #[getter]
    fn method(&self) -> Option<&str> {
        self.inner.method()
    }

    /// The Request-URI as written (None for a response).
    #[getter]
    fn request_uri(&self) -> Option<&str> {
        match &self.inner.start {
            acdcore::sip::StartLine::Request { uri, .. } => Some(uri),
            acdcore::sip::StartLine::Response { .. } => None,
        }
    }

    /// The Request-URI parsed (SipParseError with status 416 for an unsupported scheme).
    fn uri(&self, py: Python<'_>) -> PyResult<PyUri> {
        self.inner
            .request_uri()
            .map(|u| PyUri::from(&u))
            .map_err(|e| parse_err(py, e))
    }

    #[getter]
    fn status(&self) -> Option<u16> {
        self.inner.status()
    }

    #[getter]
    fn reason(&self) -> Option<&str> {
        match &self.inner.start {
            acdcore::sip::StartLine::Response { reason, .. } => Some(reason),
            acdcore::sip::StartLine::Request { .. } => None,
        }
    }

    /// Every header as (name, value), names in canonical spelling, Content-Length left out.
    #[getter]
    fn headers(&self) -> Vec<(&str, &str)> {
        self.inner
            .headers
            .iter()
            .map(|h| (h.name.as_ref(), h.value.as_ref()))
            .collect()
    }

    #[getter]
    fn body<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.body)
    }

    #[getter]
    fn content_length(&self) -> usize {
        self.inner.body.len()
    }

    #[getter]
    fn content_type(&self) -> Option<&str> {
        self.inner.content_type()
    }

    #[getter]
    fn call_id(&self, py: Python<'_>) -> PyResult<&str> {
        self.inner.call_id().map_err(|e| parse_err(py, e))
    }

    /// (number, method).
    #[getter]
    fn cseq(&self, py: Python<'_>) -> PyResult<(u32, &str)> {
        let c = self.inner.cseq().map_err(|e| parse_err(py, e))?;
        Ok((c.number, c.method))
    }

    #[getter]
    fn max_forwards(&self, py: Python<'_>) -> PyResult<Option<u8>> {
        self.inner.max_forwards().map_err(|e| parse_err(py, e))
    }

    #[getter]
    fn expires(&self, py: Python<'_>) -> PyResult<Option<u32>> {
        self.inner.expires().map_err(|e| parse_err(py, e))
    }

    /// The first header of this name (any spelling, compact forms included).
    fn header(&self, name: &str) -> Option<&str> {
        self.inner.header(name)
    }

    /// Every header line of this name.
    fn header_lines(&self, name: &str) -> Vec<&str> {
        self.inner.headers_named(name).collect()
    }

    /// Comma-separated values across every header of this name (Allow, Supported...).
    fn values(&self, name: &str) -> Vec<&str> {
        self.inner.values(name).collect()
    }

    fn vias(&self, py: Python<'_>) -> PyResult<Vec<PyVia>> {
        let v = self.inner.vias().map_err(|e| parse_err(py, e))?;
        Ok(v.iter().map(PyVia::from).collect())
    }

    #[getter]
    fn from_(&self, py: Python<'_>) -> PyResult<PyNameAddr> {
        let a = self.inner.from().map_err(|e| parse_err(py, e))?;
        PyNameAddr::new(py, &a)
    }

    #[getter]
    fn to(&self, py: Python<'_>) -> PyResult<PyNameAddr> {
        let a = self.inner.to().map_err(|e| parse_err(py, e))?;
        PyNameAddr::new(py, &a)
    }

    /// Contact addresses; `Contact: *` gives an empty list and `contact_star` True.
    fn contacts(&self, py: Python<'_>) -> PyResult<Vec<PyNameAddr>> {
        let list = self.inner.contacts().map_err(|e| parse_err(py, e))?;
        list.iter()
            .filter_map(|c| match c {
                Contact::Addr(a) => Some(PyNameAddr::new(py, a)),
                Contact::Star => None,
            })
            .collect()
    }

    #[getter]
    fn contact_star(&self, py: Python<'_>) -> PyResult<bool> {
        let list = self.inner.contacts().map_err(|e| parse_err(py, e))?;
        Ok(list.contains(&Contact::Star))
    }

    fn routes(&self, py: Python<'_>) -> PyResult<Vec<PyNameAddr>> {
        self.addrs(py, "Route")
    }

    fn record_routes(&self, py: Python<'_>) -> PyResult<Vec<PyNameAddr>> {
        self.addrs(py, "Record-Route")
    }

    /// Challenges or credentials of an auth header (WWW-Authenticate, Authorization, Proxy-*).
    fn auth(&self, py: Python<'_>, name: &str) -> PyResult<Vec<PyChallenge>> {
        let name = acdcore::sip::canonical_name(name)
            .filter(|n| n.contains("Auth"))
            .ok_or_else(|| PyValueError::new_err(format!("{name:?} is not an auth header")))?;
        let list = self.inner.auth(name).map_err(|e| parse_err(py, e))?;
        Ok(list.iter().map(PyChallenge::from).collect())
    }

    fn __repr__(&self) -> String {
        match (&self.inner.start, self.inner.call_id()) {
            (acdcore::sip::StartLine::Request { method, uri }, id) => {
                format!("SipMessage({method} {uri}, call_id={:?})", id.unwrap_or(""))
            }
            (acdcore::sip::StartLine::Response { status, reason }, id) => {
                format!(
                    "SipMessage({status} {reason}, call_id={:?})",
                    id.unwrap_or("")
                )
            }
        }
    }
}

#[pyclass(name = "SdpMedia", module = "acdcore._core", frozen)]
pub struct PySdpMedia {
    inner: Media,
    direction: &'static str,
    address: Option<String>,
}

#[pymethods]
impl PySdpMedia {
    #[getter]
    fn kind(&self) -> &str {
        &self.inner.kind
    }

    #[getter]
    fn port(&self) -> u16 {
        self.inner.port
    }

    #[getter]
    fn proto(&self) -> &str {
        &self.inner.proto
    }

    /// As ints (a `Vec<u8>` would become `bytes`).
    #[getter]
    fn payload_types(&self) -> Vec<u16> {
        self.inner
            .payload_types()
            .into_iter()
            .map(u16::from)
            .collect()
    }

    /// sendrecv, sendonly, recvonly or inactive (the session's when the stream has none).
    #[getter]
    fn direction(&self) -> &str {
        self.direction
    }

    /// The stream's connection address, else the session's.
    #[getter]
    fn address(&self) -> Option<&str> {
        self.address.as_deref()
    }

    #[getter]
    fn ptime(&self) -> Option<u32> {
        self.inner.ptime()
    }

    /// (encoding, clock rate) of a payload type, from its rtpmap or the static table.
    fn rtpmap(&self, pt: u8) -> Option<(String, u32)> {
        self.inner.rtpmap(pt).map(|m| (m.encoding, m.clock_rate))
    }

    fn fmtp(&self, pt: u8) -> Option<&str> {
        self.inner.fmtp(pt)
    }

    /// Attributes as (name, value or None), in order.
    #[getter]
    fn attributes(&self) -> Vec<(&str, Option<&str>)> {
        self.inner
            .attributes
            .iter()
            .map(|a| (a.name.as_str(), a.value.as_deref()))
            .collect()
    }
}

#[pyclass(name = "Sdp", module = "acdcore._core", frozen)]
pub struct PySdp {
    inner: Sdp,
}

#[pymethods]
impl PySdp {
    #[staticmethod]
    fn parse(py: Python<'_>, data: &[u8]) -> PyResult<Self> {
        Sdp::parse(data)
            .map(|inner| PySdp { inner })
            .map_err(|e| parse_err(py, e))
    }

    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.to_bytes())
    }

    #[getter]
    fn session_name(&self) -> &str {
        &self.inner.session_name
    }

    #[getter]
    fn origin_address(&self) -> &str {
        &self.inner.origin.address
    }

    #[getter]
    fn address(&self) -> Option<&str> {
        self.inner.connection.as_ref().map(|c| c.address.as_str())
    }

    #[getter]
    fn media(&self) -> Vec<PySdpMedia> {
        self.inner
            .media
            .iter()
            .map(|m| PySdpMedia {
                inner: m.clone(),
                direction: m.direction(&self.inner).as_str(),
                address: self.inner.address_of(m).map(str::to_owned),
            })
            .collect()
    }
}

/// The outcome of answering an offer.
#[pyclass(name = "SdpAnswer", module = "acdcore._core", frozen, get_all)]
pub struct PySdpAnswer {
    pub sdp: Py<PyBytes>,
    pub payload_type: u8,
    pub codec: String,
    pub clock_rate: u32,
    pub dtmf_payload_type: Option<u8>,
    pub remote_address: String,
    pub remote_port: u16,
    pub direction: &'static str,
    pub ptime: Option<u32>,
}

fn local(
    address: String,
    port: u16,
    codecs: Vec<String>,
    dtmf: bool,
    session_id: u64,
    session_version: u64,
) -> Local {
    Local {
        address,
        port,
        session_id,
        session_version,
        codecs,
        dtmf,
    }
}

/// An audio offer of `codecs` (static payload types: PCMU, PCMA...) and telephone-event 101.
#[pyfunction]
#[pyo3(signature = (address, port, codecs = vec!["PCMU".to_owned(), "PCMA".to_owned()], dtmf = true, session_id = 0, session_version = 0))]
pub fn sdp_offer<'py>(
    py: Python<'py>,
    address: String,
    port: u16,
    codecs: Vec<String>,
    dtmf: bool,
    session_id: u64,
    session_version: u64,
) -> PyResult<Bound<'py, PyBytes>> {
    let l = local(address, port, codecs, dtmf, session_id, session_version);
    let offer = sdp::offer(&l).map_err(not_acceptable)?;
    Ok(PyBytes::new(py, &offer.to_bytes()))
}

/// Answers an SDP offer: NotAcceptableError (488) when nothing matches.
#[pyfunction]
#[pyo3(signature = (offer, address, port, codecs = vec!["PCMU".to_owned(), "PCMA".to_owned()], dtmf = true, session_id = 0, session_version = 0))]
#[allow(clippy::too_many_arguments)]
pub fn sdp_answer(
    py: Python<'_>,
    offer: &[u8],
    address: String,
    port: u16,
    codecs: Vec<String>,
    dtmf: bool,
    session_id: u64,
    session_version: u64,
) -> PyResult<PySdpAnswer> {
    let offer = Sdp::parse(offer).map_err(|e| parse_err(py, e))?;
    let l = local(address, port, codecs, dtmf, session_id, session_version);
    let n = sdp::answer(&offer, &l).map_err(not_acceptable)?;
    Ok(PySdpAnswer {
        sdp: PyBytes::new(py, &n.answer.to_bytes()).unbind(),
        payload_type: n.payload_type,
        codec: n.codec,
        clock_rate: n.clock_rate,
        dtmf_payload_type: n.dtmf_payload_type,
        remote_address: n.remote_address,
        remote_port: n.remote_port,
        direction: n.direction.as_str(),
        ptime: n.ptime,
    })
}
