//! PyO3 bindings: translation only (types, errors, GIL release, numpy). All behaviour lives in
//! the `acdcore` crate.

mod distribution;
mod engine;
mod errors;
mod event;
mod replay;
mod sip;
mod stats;

use pyo3::prelude::*;

#[pymodule]
mod _core {
    use pyo3::prelude::*;

    #[pymodule_export]
    use super::distribution::PyDistributor;
    #[pymodule_export]
    use super::engine::PyEngine;
    #[pymodule_export]
    use super::errors::StateError;
    #[pymodule_export]
    use super::event::PyEvent;
    #[pymodule_export]
    use super::replay::{replay_bytes, replay_file};
    #[pymodule_export]
    use super::sip::{
        NotAcceptableError, PyChallenge, PyNameAddr, PySdp, PySdpAnswer, PySdpMedia, PySipMessage,
        PyUri, PyVia, SipParseError, sdp_answer, sdp_offer,
    };
    #[pymodule_export]
    use super::stats::{PyAgentInfo, PyCallInfo, PyQueueStats};

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("EVENT_KINDS", acdcore::Event::KINDS.to_vec())?;
        let states: Vec<&str> = acdcore::AgentState::ALL
            .iter()
            .map(|s| s.as_str())
            .collect();
        m.add("AGENT_STATES", states)?;
        let strategies: Vec<&str> = acdcore::Strategy::ALL.iter().map(|s| s.as_str()).collect();
        m.add("STRATEGIES", strategies)?;
        Ok(())
    }
}
