//! PyO3 bindings: translation only (types, errors, GIL release, numpy). All behaviour lives in
//! the `acdcore` crate.

mod amd;
mod distribution;
mod engine;
mod erlang;
mod errors;
mod event;
mod forecast;
mod media;
mod outbound;
mod pacing;
#[cfg(target_os = "linux")]
mod pump;
mod replay;
mod simulate;
mod sip;
mod stats;

use pyo3::prelude::*;

#[pymodule]
mod _core {
    use pyo3::prelude::*;

    #[pymodule_export]
    use super::amd::{PyAmdDecision, PyDetector};
    #[pymodule_export]
    use super::distribution::PyDistributor;
    #[pymodule_export]
    use super::engine::PyEngine;
    #[pymodule_export]
    use super::erlang::{erlang_b, erlang_metrics, staffing};
    #[pymodule_export]
    use super::errors::StateError;
    #[pymodule_export]
    use super::event::PyEvent;
    #[pymodule_export]
    use super::forecast::{bin_history, fit_history, learn_profile, spread_volume};
    #[pymodule_export]
    use super::media::{
        PyRtpPacket, PyTelephoneEvent, alaw_decode, alaw_encode, alaw_to_ulaw, rtp_build,
        telephone_event, tone_amplitude, ulaw_decode, ulaw_encode, ulaw_to_alaw,
    };
    #[pymodule_export]
    use super::outbound::{PyCampaign, PyDncList, PyLeadList, parse_e164};
    #[pymodule_export]
    use super::pacing::{PyPacer, simulate_outbound};
    #[cfg(target_os = "linux")]
    #[pymodule_export]
    use super::pump::{PyMohPump, PyPumpTick};
    #[pymodule_export]
    use super::replay::{replay_bytes, replay_file};
    #[pymodule_export]
    use super::simulate::{PyScenario, PySimulation, mean_ci, student_t975};
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
