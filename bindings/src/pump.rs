//! `acdcore._core.MohPump`: the core's one-clock pacer (`acdcore::media::pump`) with the
//! sockets attached. Each tick's packets go out with `sendmmsg`, one call per run of packets
//! on the same socket, with the GIL released. Linux only (Python falls back to its own pacer
//! elsewhere).
//!
//! Each stream sends from the socket of its RTP session (the source port is the port in our
//! SDP, which is what the peer and symmetric-RTP middleboxes expect). The pump `dup`s the fd
//! it is given, so a Python `close` can never leave it writing into a reused descriptor; the
//! duplicate is closed when the stream stops.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};

use acdcore::media::pump::{Position, Pump, StreamSpec};
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::{CoreError, Int};

/// An owned duplicate of a UDP socket's fd and one destination.
struct Route {
    fd: Arc<Fd>,
    addr: libc::sockaddr_storage,
    len: libc::socklen_t,
}

impl Clone for Route {
    fn clone(&self) -> Self {
        Route {
            fd: self.fd.clone(),
            addr: self.addr,
            len: self.len,
        }
    }
}

struct Fd(libc::c_int);

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: the pump owns this descriptor (a dup) and closes it exactly once.
        unsafe { libc::close(self.0) };
    }
}

fn sockaddr(addr: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from(*a.ip()).to_be(),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe { std::ptr::write((&raw mut storage).cast::<libc::sockaddr_in>(), sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: as above, for sockaddr_in6.
            unsafe { std::ptr::write((&raw mut storage).cast::<libc::sockaddr_in6>(), sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

/// A duplicate of `fd` after checking it is a datagram socket.
fn dup_udp(fd: i32) -> PyResult<Fd> {
    let mut kind: libc::c_int = 0;
    let mut size = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: kind and size are valid for writes of the sizes given.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_TYPE,
            (&raw mut kind).cast(),
            &mut size,
        )
    };
    if r != 0 {
        let e = std::io::Error::last_os_error();
        return Err(PyValueError::new_err(format!(
            "fd {fd} is not a socket: {e}"
        )));
    }
    if kind != libc::SOCK_DGRAM {
        return Err(PyValueError::new_err(format!(
            "fd {fd} is not a datagram (UDP) socket"
        )));
    }
    // SAFETY: fd is an open socket (getsockopt succeeded); F_DUPFD_CLOEXEC returns a new fd.
    let dup = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if dup < 0 {
        return Err(PyOSError::new_err(format!(
            "cannot duplicate fd {fd}: {}",
            std::io::Error::last_os_error()
        )));
    }
    Ok(Fd(dup))
}

/// Sends `packets` (byte ranges of `buf`, all on `route.fd`) with as few `sendmmsg` calls as the
/// kernel allows. Returns packets dropped because the socket buffer was full (the stream goes
/// on) or the error that ends the stream.
fn send_run(buf: &[u8], runs: &[(usize, usize, &Route)]) -> Result<u64, std::io::Error> {
    let fd = runs[0].2.fd.0;
    let mut iov: Vec<libc::iovec> = runs
        .iter()
        .map(|&(start, end, _)| libc::iovec {
            iov_base: buf[start..end].as_ptr() as *mut libc::c_void,
            iov_len: end - start,
        })
        .collect();
    // SAFETY: all-zero is a valid mmsghdr (null pointers, zero lengths).
    let mut msgs: Vec<libc::mmsghdr> = vec![unsafe { std::mem::zeroed() }; runs.len()];
    for (i, m) in msgs.iter_mut().enumerate() {
        let route = runs[i].2;
        m.msg_hdr.msg_name = (&raw const route.addr) as *mut libc::c_void;
        m.msg_hdr.msg_namelen = route.len;
        m.msg_hdr.msg_iov = &raw mut iov[i];
        m.msg_hdr.msg_iovlen = 1;
    }
    let mut done = 0;
    let mut dropped = 0;
    while done < msgs.len() {
        let rest = &mut msgs[done..];
        // SAFETY: every msghdr points at a live sockaddr and iovec over `buf`, which outlive
        // the call; the count is the slice's length.
        let n = unsafe {
            libc::sendmmsg(
                fd,
                rest.as_mut_ptr(),
                rest.len() as libc::c_uint,
                libc::MSG_DONTWAIT,
            )
        };
        if n > 0 {
            done += n as usize;
            continue;
        }
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            // A full socket buffer loses this packet, as a congested network would; the next
            // tick tries again.
            Some(libc::EAGAIN | libc::ENOBUFS) => {
                done += 1;
                dropped += 1;
            }
            _ => return Err(e),
        }
    }
    Ok(dropped)
}

type PositionTuple = (u16, u32, usize, bool, u64, u64);

fn position_tuple(p: Position) -> PositionTuple {
    (
        p.sequence,
        p.timestamp,
        p.offset,
        p.marker,
        p.sent,
        p.skipped,
    )
}

/// What one tick did: streams whose one-shot audio ended, streams dropped on a socket error
/// (with the reason), and counters.
#[pyclass(name = "PumpTick", module = "acdcore._core", frozen, get_all)]
pub struct PyPumpTick {
    /// (id, position) of each one-shot stream whose audio ended.
    pub finished: Vec<(u64, PositionTuple)>,
    /// (id, reason, position) of each stream dropped on a socket error.
    pub dropped: Vec<(u64, String, PositionTuple)>,
    pub sent: u64,
    /// Packets lost to a full socket buffer.
    pub overflowed: u64,
    /// Frames each stream skipped because the tick came two frames or more late.
    pub skipped: u64,
}

struct State {
    pump: Pump<Route>,
    /// Recently used audio buffers, so many streams of one music share one copy.
    audio: Vec<(Py<PyBytes>, Arc<[u8]>)>,
}

/// One pacer for all music-on-hold and prompt streams of a process: one 20 ms tick sends the
/// due frame of every stream (`tick(now)`; the pump reads no clock).
#[pyclass(name = "MohPump", module = "acdcore._core", frozen)]
pub struct PyMohPump {
    inner: Mutex<State>,
}

impl PyMohPump {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn shared(state: &mut State, audio: &Bound<'_, PyBytes>) -> Arc<[u8]> {
        if let Some((_, a)) = state.audio.iter().find(|(b, _)| b.is(audio)) {
            return a.clone();
        }
        let a: Arc<[u8]> = audio.as_bytes().into();
        if state.audio.len() >= 8 {
            state.audio.remove(0);
        }
        state.audio.push((audio.clone().unbind(), a.clone()));
        a
    }
}

#[pymethods]
impl PyMohPump {
    #[new]
    fn new() -> Self {
        PyMohPump {
            inner: Mutex::new(State {
                pump: Pump::new(),
                audio: Vec::new(),
            }),
        }
    }

    fn __len__(&self) -> usize {
        self.lock().pump.len()
    }

    /// Starts a stream from socket `fd` to (host, port) playing `audio` (G.711 codes of
    /// `payload_type`), numbered on from `sequence`/`timestamp`. Returns its id.
    #[pyo3(signature = (now, fd, host, port, payload_type, ssrc, sequence, timestamp, audio, looping, marker = true, offset = 0, silence = Int(0xFF)))]
    #[allow(clippy::too_many_arguments)]
    fn start(
        &self,
        now: f64,
        fd: i32,
        host: &str,
        port: Int<u16>,
        payload_type: Int<u8>,
        ssrc: Int<u32>,
        sequence: Int<u16>,
        timestamp: Int<u32>,
        audio: &Bound<'_, PyBytes>,
        looping: bool,
        marker: bool,
        offset: usize,
        silence: Int<u8>,
    ) -> PyResult<u64> {
        let ip: IpAddr = host
            .parse()
            .map_err(|_| PyValueError::new_err(format!("{host:?} is not an IP address")))?;
        if port.0 == 0 {
            return Err(PyValueError::new_err("destination port 0 is not valid"));
        }
        let (addr, len) = sockaddr(SocketAddr::new(ip, port.0));
        let fd = Arc::new(dup_udp(fd)?);
        let mut state = self.lock();
        let audio = Self::shared(&mut state, audio);
        let spec = StreamSpec {
            route: Route { fd, addr, len },
            payload_type: payload_type.0,
            ssrc: ssrc.0,
            sequence: sequence.0,
            timestamp: timestamp.0,
            marker,
            audio,
            looping,
            offset,
            silence: silence.0,
        };
        Ok(state.pump.start(now, spec).map_err(CoreError)?)
    }

    /// Stops a stream: (sequence, timestamp, offset, marker, sent, skipped) of what its next
    /// packet would have been, or None if it is not running.
    fn stop(&self, id: u64) -> Option<PositionTuple> {
        self.lock().pump.stop(id).map(position_tuple)
    }

    /// As `stop`, without stopping.
    fn position(&self, id: u64) -> Option<PositionTuple> {
        self.lock().pump.position(id).map(position_tuple)
    }

    /// Plays other audio on a running stream, numbering on (a seek when the audio is the same).
    #[pyo3(signature = (id, audio, looping, offset = 0))]
    fn replace(
        &self,
        id: u64,
        audio: &Bound<'_, PyBytes>,
        looping: bool,
        offset: usize,
    ) -> PyResult<()> {
        let mut state = self.lock();
        let audio = Self::shared(&mut state, audio);
        Ok(state
            .pump
            .replace(id, audio, looping, offset)
            .map_err(CoreError)?)
    }

    /// When the next frame is due (None while no stream runs).
    fn next_due(&self) -> Option<f64> {
        self.lock().pump.next_due()
    }

    /// Sends every frame due at `now`, without the GIL.
    fn tick(&self, py: Python<'_>, now: f64) -> PyPumpTick {
        py.detach(|| {
            let mut state = self.lock();
            let report = state.pump.tick(now);
            let mut out = PyPumpTick {
                finished: report
                    .finished
                    .into_iter()
                    .map(|(id, p)| (id, position_tuple(p)))
                    .collect(),
                dropped: Vec::new(),
                sent: 0,
                overflowed: 0,
                skipped: report.skipped,
            };
            let mut failed: Vec<(u64, String)> = Vec::new();
            {
                let pump = &state.pump;
                let buf = pump.packets_buffer();
                let all = pump.outgoing();
                let mut run: Vec<(usize, usize, &Route)> = Vec::new();
                let mut i = 0;
                while i < all.len() {
                    let fd = all[i].route.fd.0;
                    let mut j = i;
                    run.clear();
                    while j < all.len() && all[j].route.fd.0 == fd {
                        run.push((all[j].bytes.start, all[j].bytes.end, &all[j].route));
                        j += 1;
                    }
                    match send_run(buf, &run) {
                        Ok(dropped) => {
                            out.sent += run.len() as u64 - dropped;
                            out.overflowed += dropped;
                        }
                        Err(e) => {
                            for o in &all[i..j] {
                                if !failed.iter().any(|f| f.0 == o.stream) {
                                    failed.push((o.stream, format!("send failed: {e}")));
                                }
                            }
                        }
                    }
                    i = j;
                }
            }
            for (id, reason) in failed {
                if let Some(p) = state.pump.stop(id) {
                    out.dropped.push((id, reason, position_tuple(p)));
                }
            }
            out
        })
    }
}
