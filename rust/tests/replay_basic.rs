//! Known-answer replays through the public `replay::run`.

fn replay(trace: &str) -> Result<String, String> {
    let mut out = Vec::new();
    let r = acdcore::replay::run(trace.as_bytes(), &mut out);
    let text = String::from_utf8(out).unwrap();
    r.map(|()| text).map_err(|e| e.to_string())
}

#[test]
fn longest_idle_wrapup_and_waiting_call() {
    let trace = r#"{"t":0,"op":"queue","id":"q","wrapup":5}
{"t":0,"op":"login","id":"a1","queues":["q"]}
{"t":1,"op":"login","id":"a2","queues":["q"]}
{"t":2,"op":"call","id":"c1","queue":"q"}
{"t":3,"op":"call","id":"c2","queue":"q"}
{"t":4,"op":"call","id":"c3","queue":"q"}
{"t":10,"op":"hangup","id":"c1"}
{"t":20,"op":"hangup","id":"c3"}
"#;
    let out = replay(trace).unwrap();
    let expected = r#"{"t":2.0,"event":"assign","call":"c1","agent":"a1","queue":"q","wait":0.0}
{"t":3.0,"event":"assign","call":"c2","agent":"a2","queue":"q","wait":0.0}
{"t":10.0,"event":"end","call":"c1","agent":"a1","talk":8.0}
{"t":15.0,"event":"assign","call":"c3","agent":"a1","queue":"q","wait":11.0}
{"t":20.0,"event":"end","call":"c3","agent":"a1","talk":5.0}
{"event":"summary","queues":{"q":{"offered":3,"answered":3,"abandoned":0,"answered_within_sl":3,"waiting":0}}}
"#;
    assert_eq!(out, expected);
}

#[test]
fn invalid_line_names_its_number() {
    let trace = "{\"t\":0,\"op\":\"queue\",\"id\":\"q\"}\n{\"t\":1,\"op\":\"call\",\"id\":\"c\",\"queue\":\"nope\"}\n";
    let err = replay(trace).unwrap_err();
    assert_eq!(err, "line 2: unknown queue \"nope\"");
    let err = replay("{\"t\":NaN,\"op\":\"queue\",\"id\":\"q\"}\n").unwrap_err();
    assert!(err.starts_with("line 1: invalid JSON"), "{err}");
}
