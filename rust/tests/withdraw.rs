//! `Engine::withdraw`: the host takes back a call nobody is on the line for. It leaves the
//! line as an abandon would, but the queue's figures speak only of callers.

use acdcore::{AgentState, Engine, Error, Event, NewCall, Options, QueueConfig};

fn engine(auto_accept: bool) -> Engine {
    let mut e = Engine::new(Options {
        seed: 0,
        auto_accept,
    });
    e.add_queue("q", QueueConfig::default()).unwrap();
    e.login(0.0, "a1", &[], &[("q", 1)], 1).unwrap();
    e
}

fn call(id: &str) -> NewCall<'_> {
    NewCall {
        id,
        queue: "q",
        ..NewCall::default()
    }
}

fn kinds(events: &[Event]) -> Vec<&'static str> {
    events.iter().map(Event::kind).collect()
}

#[test]
fn a_withdrawn_waiting_call_is_neither_offered_nor_abandoned() {
    let mut e = engine(true);
    e.enqueue(1.0, &call("c1")).unwrap(); // a1 takes it
    e.enqueue(2.0, &call("c2")).unwrap(); // waits
    e.enqueue(3.0, &call("c3")).unwrap(); // waits behind c2
    assert_eq!(e.position("c3").unwrap(), 2);
    e.withdraw(5.0, "c2").unwrap();
    let events = e.take_events();
    assert_eq!(kinds(&events), ["assign", "withdraw"]);
    let Event::Withdraw {
        call, queue, wait, ..
    } = &events[1]
    else {
        panic!("{events:?}");
    };
    assert_eq!((&**call, &**queue, *wait), ("c2", "q", 3.0));
    // c3 moved up; the queue counts two callers and no abandon.
    assert_eq!(e.position("c3").unwrap(), 1);
    let s = e.queue_stats("q").unwrap();
    assert_eq!((s.offered, s.abandoned, s.waiting), (2, 0, 1));
    // A caller hanging up is still an abandon.
    e.hangup(6.0, "c3").unwrap();
    let s = e.queue_stats("q").unwrap();
    assert_eq!((s.offered, s.abandoned, s.waiting), (2, 1, 0));
    // The call is gone: a second withdraw or a hangup names it.
    for r in [e.withdraw(7.0, "c2"), e.hangup(7.0, "c2")] {
        assert!(matches!(r, Err(Error::Unknown { .. })), "{r:?}");
    }
}

#[test]
fn withdrawing_a_ringing_call_frees_its_agent_for_the_next() {
    let mut e = engine(false);
    e.enqueue(1.0, &call("c1")).unwrap();
    e.take_events(); // the offer to a1
    e.withdraw(4.0, "c1").unwrap();
    e.enqueue(5.0, &call("c2")).unwrap();
    let events = e.take_events();
    assert_eq!(kinds(&events), ["unoffer", "withdraw", "offer"]);
    e.accept(6.0, "c2", "a1").unwrap();
    assert_eq!(e.agent_info("a1").unwrap().state, AgentState::Busy);
    let s = e.queue_stats("q").unwrap();
    assert_eq!((s.offered, s.answered, s.abandoned), (1, 1, 0));
}

#[test]
fn a_connected_call_cannot_be_withdrawn_and_stays_connected() {
    let mut e = engine(true);
    e.enqueue(1.0, &call("c1")).unwrap();
    let err = e.withdraw(2.0, "c1").unwrap_err();
    assert!(matches!(err, Error::State(_)), "{err:?}");
    assert!(err.to_string().contains("connected"), "{err}");
    assert_eq!(e.agent_info("a1").unwrap().state, AgentState::Busy);
    assert!(matches!(
        e.withdraw(2.0, "nope"),
        Err(Error::Unknown { .. })
    ));
    e.hangup(3.0, "c1").unwrap();
    assert_eq!(kinds(&e.take_events()), ["assign", "end"]);
}
