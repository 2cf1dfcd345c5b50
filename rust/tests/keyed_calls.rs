//! `enqueue_keyed` / `hangup_key`: the same decisions and events as `enqueue` / `hangup`, and
//! keys that outlive their call are refused.

use acdcore::{Engine, Error, Event, Id, NewCall, Options, QueueConfig};

fn engine() -> Engine {
    let mut e = Engine::new(Options {
        seed: 0,
        auto_accept: true,
    });
    let cfg = QueueConfig {
        wrapup: 2.0,
        ..QueueConfig::default()
    };
    e.add_queue("q", cfg).unwrap();
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

#[test]
fn keyed_calls_route_and_end_like_named_ones() {
    let (mut by_name, mut by_key) = (engine(), engine());
    let ids: Vec<Id> = ["c1", "c2", "c3"].iter().map(|&s| Id::from(s)).collect();
    let mut keys = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let t = i as f64;
        by_name.enqueue(t, &call(id)).unwrap();
        keys.push(by_key.enqueue_keyed(t, id, &call(id)).unwrap());
    }
    // c1 talks, c2 and c3 wait; c1 ends, c2 abandons while a1 is in wrap-up, c3 is taken.
    for (t, i) in [(10.0, 0), (11.0, 1), (20.0, 2)] {
        by_name.hangup(t, &ids[i]).unwrap();
        by_key.hangup_key(t, keys[i]).unwrap();
    }
    let (a, b) = (by_name.take_events(), by_key.take_events());
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
    let kinds: Vec<&str> = b
        .iter()
        .map(|ev| match ev {
            Event::Assign { .. } => "assign",
            Event::End { .. } => "end",
            Event::Abandon { .. } => "abandon",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["assign", "end", "abandon", "assign", "end"]);
    // The engine shares the host's string rather than copying it.
    let Event::Assign { call, .. } = &b[0] else {
        panic!("first event is the assignment of c1");
    };
    assert!(std::sync::Arc::ptr_eq(call, &ids[0]));
}

#[test]
fn stale_keys_and_mismatched_ids_are_refused() {
    let mut e = engine();
    let c1: Id = "c1".into();
    let k1 = e.enqueue_keyed(0.0, &c1, &call("c1")).unwrap();
    e.hangup_key(1.0, k1).unwrap();
    // The slot is reused by the next call; the old key names neither.
    let c2: Id = "c2".into();
    let k2 = e.enqueue_keyed(5.0, &c2, &call("c2")).unwrap();
    assert!(matches!(
        e.hangup_key(6.0, k1),
        Err(Error::Unknown { kind: "call", .. })
    ));
    assert_eq!(e.call_info("c2").unwrap().state, "connected");
    e.hangup_key(7.0, k2).unwrap();
    // The shared id must be the call's id.
    let err = e.enqueue_keyed(8.0, &c1, &call("c3")).unwrap_err();
    assert!(matches!(err, Error::Invalid(ref m) if m.contains("c1") && m.contains("c3")));
    // A duplicate id is refused as by `enqueue`.
    e.enqueue_keyed(9.0, &c1, &call("c1")).unwrap();
    assert!(matches!(
        e.enqueue_keyed(9.0, &c1, &call("c1")),
        Err(Error::Invalid(_))
    ));
}
