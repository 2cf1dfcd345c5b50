"""A contact center started again on the database of one that died: agents' states and
registrations restored, callbacks kept in line, calls cut off closed as "lost" (once), and
`fresh` starting empty without leaving a call of the old run unrecorded. The killed child
process under SIP load is tests/test_serve_restart.py; these run in one process, the "kill"
being a center dropped without `stop()` after a commit."""

from __future__ import annotations

from pathlib import Path

import pytest
from acdcore import Engine
from acdcore._core import SipMessage
from acdcore.app import ContactCenter, load_config, restore
from acdcore.app.switchboard import InFlow
from acdcore.records import CallRecorder, Query, RecordWriter, SqliteStore
from acdcore.records.store import StoreError
from acdcore.sip.dialog import Leg
from acdcore.traffic import AgentPhone
from test_serve import CONFIG, center_files
from test_sip_peers import wait_for
from test_sip_transport import run

AGENTS = """
[queues.later]
sl = 20

[[agents]]
id = "bob"
user = "agent2"
password = "secret2"
queues = ["sales"]

[[agents]]
id = "cat"
user = "agent3"
password = "secret3"
queues = ["sales"]
"""


def test_lose_closes_a_waiting_and_a_connected_call_once(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "r.db")
    writer = RecordWriter(store)
    engine = Engine(auto_accept=True)
    rec = CallRecorder(engine, writer, epoch=1_800_000_000.0)
    rec.add_queue("support", wrapup=10)
    rec.feed(engine.login(0.0, "alice", queues=["support"]))
    rec.enter(1.0, "talking", "support", caller="+1A")  # alice takes it at once
    rec.enter(2.0, "waiting", "support", caller="+1B")
    rec.feed(engine.advance(30.0))
    rec.lose("talking", "restart")
    rec.lose("waiting", "restart")
    assert engine.agent("alice").state == "wrap-up"  # freed from the lost call at 30
    for call in ("talking", "waiting"):
        with pytest.raises(KeyError):
            engine.call(call)
    rec.feed(engine.advance(41.0))
    assert engine.agent("alice").state == "available"  # and the lost waiting call is not hers
    rec.commit().wait(10)
    got = {r.call_id: r for r in store.search(Query())}
    talking, waiting = got["talking"], got["waiting"]
    assert (talking.outcome, talking.agent, talking.talk) == ("lost", "alice", 29.0)
    assert talking.end == 1_800_000_030.0 and talking.answer == 1_800_000_001.0
    assert talking.attributes["lost"] == {"why": "restart", "state": "connected"}
    assert (waiting.outcome, waiting.agent, waiting.answer, waiting.wait) == (
        "lost", None, None, 28.0,
    )  # fmt: skip
    assert waiting.attributes["lost"] == {"why": "restart", "state": "waiting"}
    for call, terminal in (("talking", "lost"), ("waiting", "lost")):
        events = [e.event for e in store.queue_log(call)]
        assert events[-1] == terminal
        assert not {"abandon", "complete"} & set(events)  # not counted twice
    writer.close()
    store.close()


def _center(tmp_path: Path, **kwargs: object) -> ContactCenter:
    path = tmp_path / "config.toml"
    if not path.exists():
        path = center_files(tmp_path, CONFIG + AGENTS)
    return ContactCenter(load_config(path), **kwargs)  # type: ignore[arg-type]


def _kill(center: ContactCenter) -> None:
    """Drop a started center as a SIGKILL would, after what is committed (no stop())."""
    for task in list(center._tasks):
        task.cancel()
    center.registrar.close()
    center._close_endpoints()
    center.writer.close()  # nothing is queued: the last commit was awaited
    center.store.close()


def test_restart_restores_agents_registrations_callbacks_and_loses_the_rest(
    tmp_path: Path,
) -> None:
    async def main() -> None:
        first = _center(tmp_path)
        address = await first.start()
        phones = [
            AgentPhone(address, "agent1", "secret1", talk_mean=None),
            AgentPhone(address, "agent2", "secret2", talk_mean=None),
        ]
        for phone in phones:
            await phone.start()
        try:
            assert await wait_for(lambda: first.login.logged_in == {"ann", "bob"}, 20.0)
            sb, engine = first.sb, first.engine
            sb.apply(engine.pause(sb.now(), "ann", "lunch"))
            sb.apply(engine.pause(sb.now(), "bob", "training"))
            sb.apply(engine.login(sb.now(), "cat", queues=["sales"]))  # no phone at all
            sb.apply(engine.pause(sb.now(), "cat", "away"))
            sb.callers["in-line"] = ("+33100", "5000")
            sb.enqueue("in-line", "sales")
            sb.callers["held"] = ("+33200", "5000")
            sb.enqueue("held", "later")
            sb.hold_for_callback("held", "+33200", "later")
            await first.durable()
            saved_at = engine.now
            _kill(first)

            second = _center(tmp_path)
            restart = second.restart
            assert restart.resumed
            assert restart.agents == {"ann": "paused", "bob": "paused"}
            assert restart.logged_out == ["cat"]  # no registration: unreachable
            assert restart.callbacks == {"held": ("+33200", "later")}
            assert restart.lost == ["in-line"]
            e2 = second.engine
            assert (e2.agent("ann").pause_reason, e2.agent("bob").pause_reason) == (
                "lunch", "training",
            )  # fmt: skip
            assert e2.agent("cat").state == "logged-out"
            assert e2.call("held").state == "waiting"
            assert second.sb.on_hold() == ["held"]
            assert second.callbacks.owns("held")  # the dialer calls it back when its turn comes
            assert second.login.logged_in == {"ann", "bob"}
            assert second.sb.now() >= saved_at
            await second.start()
            try:
                # The phones did not register again: their bindings came back from the
                # checkpoint, and a call reaches them at their old contacts.
                for phone in phones:
                    (binding,) = second.registrar.lookup(phone.aor)
                    assert binding.target() == phone.endpoint.local
                    assert phone.refreshes == 0
                second.sb.apply(e2.unpause(second.sb.now(), "ann"))
                assert e2.agent("ann").state == "available"
                with SqliteStore(tmp_path / "records.db", create=False) as store:
                    (lost,) = store.search(Query(outcome="lost"))
                    assert (lost.call_id, lost.caller, lost.queue) == ("in-line", "+33100", "sales")
                    assert lost.end == second.recorder.epoch + saved_at
                    assert [e.event for e in store.queue_log("in-line")] == ["enter", "lost"]
                    assert store.search(Query(outcome="abandoned")) == []
            finally:
                await second.stop()
            # A third start (after a clean stop) finds the callback still in line and loses
            # nothing more; the lost call is not closed a second time.
            third = _center(tmp_path)
            assert third.restart.callbacks == {"held": ("+33200", "later")}
            assert third.restart.lost == []
            third.writer.close()
            third.store.close()
        finally:
            for phone in phones:
                await phone.close(unregister=False)

    run(main)


def test_fresh_start_records_every_call_of_the_old_run_and_starts_empty(tmp_path: Path) -> None:
    async def main() -> None:
        first = _center(tmp_path)
        await first.start()
        sb, engine = first.sb, first.engine
        sb.apply(engine.login(sb.now(), "cat", queues=["sales"]))
        sb.apply(engine.pause(sb.now(), "cat", "away"))
        sb.callers["held"] = ("+33200", "5000")
        sb.enqueue("held", "later")
        sb.hold_for_callback("held", "+33200", "later")
        sb.callers["in-menu"] = ("+33300", "5000")  # as the server's INVITE handling does
        sb.in_flow["in-menu"] = InFlow(sb.now(), ["welcome", "menu"])
        await first.durable()
        _kill(first)

        fresh = _center(tmp_path, fresh=True)
        assert not fresh.restart.resumed
        # Even a callback, and a call no queue held yet: nothing dropped silently.
        assert fresh.restart.lost == ["held", "in-menu"]
        assert fresh.restart.lost_in_flow == ["in-menu"]
        assert "2 calls of the checkpoint recorded as lost (1 in the flow)" in (
            fresh.restart.summary()
        )
        assert fresh.restart.logged_out == ["cat"]
        assert fresh.engine.agents() == []
        with pytest.raises(KeyError):
            fresh.engine.call("held")
        assert sorted(fresh.engine.queues()) == ["later", "sales"]
        await fresh.start()
        await fresh.stop()
        with SqliteStore(tmp_path / "records.db", create=False) as store:
            held, menu = sorted(store.search(Query()), key=lambda r: r.call_id)
            assert (held.call_id, held.outcome) == ("held", "lost")
            assert held.attributes["lost"]["state"] == "waiting"
            assert (menu.call_id, menu.outcome, menu.queue) == ("in-menu", "lost", "")
            assert (menu.caller, menu.called) == ("+33300", "5000")
            assert menu.attributes == {
                "path": ["welcome", "menu"], "lost": {"why": "restart", "state": "flow"},
            }  # fmt: skip
            assert store.queue_log("in-menu") == []
        again = _center(tmp_path)
        assert again.restart.lost == [] and again.restart.callbacks == {}
        again.writer.close()
        again.store.close()

    run(main)


def test_a_restart_with_a_broken_checkpoint_is_refused_naming_it(tmp_path: Path) -> None:
    async def main() -> None:
        first = _center(tmp_path)
        await first.start()
        first.recorder.host["center"] = "not an object"
        await (await first.recorder.acommit()).await_()
        _kill(first)
        with pytest.raises(StoreError, match=r"host state 'center'.*--fresh starts without it"):
            _center(tmp_path)
        fresh = _center(tmp_path, fresh=True)  # the way out: set aside, with a warning
        assert not fresh.restart.resumed and fresh.engine.agents() == []
        await fresh.start()
        await fresh.stop()
        again = _center(tmp_path)  # the fresh run's checkpoint replaced the broken one
        assert again.restart.resumed
        again.writer.close()
        again.store.close()

    run(main)


def test_broken_saved_registrations_are_refused_naming_them(tmp_path: Path) -> None:
    async def main() -> None:
        first = _center(tmp_path)
        await first.start()
        first.recorder.host["center"] = {"registrations": [{"aor": "sip:agent1@127.0.0.1"}]}
        await (await first.recorder.acommit()).await_()
        _kill(first)
        with pytest.raises(StoreError, match="callbacks or callback retries: KeyError"):
            _center(tmp_path)

    run(main)


def test_a_callback_ringing_an_agent_at_the_crash_goes_back_in_line(tmp_path: Path) -> None:
    config = load_config(center_files(tmp_path, CONFIG + AGENTS))
    store = SqliteStore(tmp_path / "records.db")
    writer = RecordWriter(store)
    engine = Engine()
    rec = CallRecorder(engine, writer, epoch=1_800_000_000.0)
    rec.add_queue("sales", ring_timeout=30)
    rec.feed(engine.login(0.0, "ann", queues=["sales"]))
    rec.enter(1.0, "cb", "sales", caller="+33300")
    rec.callback(2.0, "cb", "+33301")
    assert engine.call("cb").state == "offered"  # the callback's turn came: ann rang
    rec.host["center"] = {
        "callbacks": ["cb"],
        "registrations": [
            {"aor": "sip:agent1@127.0.0.1", "contact": "sip:agent1@127.0.0.1:5999",
             "expires": 4e9, "call_id": "reg-1", "cseq": 2, "source": ["127.0.0.1", 5999]},
            {"aor": "sip:gone@127.0.0.1", "contact": "sip:gone@127.0.0.1:5998",
             "expires": 4e9, "call_id": "reg-2", "cseq": 1, "source": ["127.0.0.1", 5998]},
        ],
    }  # fmt: skip
    rec.commit().wait(10)
    restart = restore.resume(store, writer, config)
    assert restart.callbacks == {"cb": ("+33300", "sales")} and restart.lost == []
    assert restart.recorder.engine.call("cb").state == "waiting"
    assert restart.agents == {"ann": "available"}
    # Only configured users' registrations come back (no agent "gone" in the config).
    assert [r["aor"] for r in restart.registrations] == ["sip:agent1@127.0.0.1"]
    assert sorted(restart.recorder.engine.queues()) == ["later", "sales"]  # "later" is new
    writer.close()
    store.close()


def test_a_registration_over_tcp_is_not_restored_and_its_agent_is_logged_out(
    tmp_path: Path,
) -> None:
    config = load_config(center_files(tmp_path, CONFIG + AGENTS))
    store = SqliteStore(tmp_path / "records.db")
    writer = RecordWriter(store)
    engine = Engine()
    rec = CallRecorder(engine, writer, epoch=1_800_000_000.0)
    rec.add_queue("sales")
    rec.feed(engine.login(0.0, "ann", queues=["sales"]))
    rec.host["center"] = {
        "registrations": [
            {"aor": "sip:agent1@127.0.0.1", "contact": "sip:agent1@127.0.0.1:5999;transport=tcp",
             "expires": 4e9, "call_id": "reg-1", "cseq": 2, "source": ["127.0.0.1", 40001],
             "transport": "tcp"},
        ],
    }  # fmt: skip
    rec.commit().wait(10)
    restart = restore.resume(store, writer, config)
    # The phone's connection died with the process: nothing reaches it until it registers again.
    assert restart.registrations == [] and restart.logged_out == ["ann"]
    assert restart.recorder.engine.agent("ann").state == "logged-out"
    writer.close()
    store.close()


def test_a_callback_retry_not_yet_due_at_the_crash_is_scheduled_again(tmp_path: Path) -> None:
    import time

    from acdcore.app.callbacks import Held

    async def main() -> None:
        first = _center(tmp_path)
        await first.start()
        # The customer of call "orig" did not answer the first try: the second is due later.
        first.callbacks.schedule_retry(Held("+33300", "later", "orig", "5000"), time.time() + 1.5)
        await first.durable()
        _kill(first)

        second = _center(tmp_path)
        (saved,) = second.restart.retries
        assert (saved["origin"], saved["number"], saved["queue"], saved["attempt"]) == (
            "orig", "+33300", "later", 1,
        )  # fmt: skip
        await second.start()
        try:
            assert second.callbacks.retrying  # waiting for its due time again
            retry = "orig~cb2"
            assert await wait_for(lambda: second.callbacks.owns(retry), 15.0)
            assert second.engine.call(retry).state == "waiting"  # no agent in "later"
            assert second.callbacks.retrying == {}
            await second.durable()
            with SqliteStore(tmp_path / "records.db", create=False) as store:
                rows = [(e.event, e.data.get("number")) for e in store.queue_log(retry)]
                assert rows[:2] == [("enter", None), ("callback", "+33300")]
        finally:
            await second.stop()
        third = _center(tmp_path)  # taken: not scheduled a second time
        assert third.restart.retries == []
        assert third.restart.callbacks == {"orig~cb2": ("+33300", "later")}
        third.writer.close()
        third.store.close()

    run(main)


def test_a_stop_keeps_a_callback_retry_that_was_not_due(tmp_path: Path) -> None:
    import time

    from acdcore.app.callbacks import Held

    async def main() -> None:
        first = _center(tmp_path)
        await first.start()
        first.callbacks.schedule_retry(Held("+33400", "later", "o2", "5000"), time.time() + 600)
        await first.stop()
        second = _center(tmp_path)
        assert [r["origin"] for r in second.restart.retries] == ["o2"]
        second.writer.close()
        second.store.close()

    run(main)


def test_a_broken_saved_callback_retry_is_refused_naming_it(tmp_path: Path) -> None:
    async def main() -> None:
        first = _center(tmp_path)
        await first.start()
        first.recorder.host["center"] = {"retries": [{"origin": "o", "number": 7}]}
        await (await first.recorder.acommit()).await_()
        _kill(first)
        with pytest.raises(StoreError, match="callback retries: KeyError"):
            _center(tmp_path)

    run(main)


def test_fresh_start_records_the_callback_retries_it_drops(tmp_path: Path) -> None:
    import time

    from acdcore.app.callbacks import Held

    async def main() -> None:
        first = _center(tmp_path)
        await first.start()
        first.callbacks.schedule_retry(Held("+33500", "later", "o3", "5000", 2), time.time() + 600)
        await first.durable()
        _kill(first)

        fresh = _center(tmp_path, fresh=True)
        assert fresh.restart.lost_retries == ["o3"]
        assert fresh.restart.retries == []
        await fresh.start()
        assert fresh.callbacks.retrying == {}  # not scheduled in the new run
        await fresh.stop()
        with SqliteStore(tmp_path / "records.db", create=False) as store:
            (line,) = [e for e in store.queue_log("o3") if e.event == "callback"]
            assert line.data["result"] == "lost" and line.data["why"] == "restart"
            assert (line.data["number"], line.data["attempts"]) == ("+33500", 2)
        again = _center(tmp_path)
        assert again.restart.retries == [] and again.restart.lost_retries == []
        again.writer.close()
        again.store.close()

    run(main)


def test_saved_dialogs_come_back_as_legs_for_a_bye_and_broken_ones_are_refused(
    tmp_path: Path,
) -> None:
    """What `save` keeps of a dialog is what its BYE needs: the restored leg's BYE has the
    same tags, the next CSeq and the proxy's route (loose routing keeps the remote target as
    Request-URI); over TCP it goes to the route (or remote target) instead of the dead
    connection's port. A saved dialog that is not one stops the restart naming it."""
    config = load_config(center_files(tmp_path, CONFIG + AGENTS))
    store = SqliteStore(tmp_path / "records.db")
    writer = RecordWriter(store)
    rec = CallRecorder(Engine(), writer, epoch=1_800_000_000.0)
    rec.add_queue("sales")
    leg = Leg("c-1@x", "ours", "theirs", "sip:5000@10.0.0.1", "sip:+331@10.0.0.9",
              "sip:+331@10.0.0.9:5072", ("10.0.0.7", 5060), ("10.0.0.1", 5060), cseq=4,
              transport="TCP")  # fmt: skip
    leg.route_set = SipMessage.request(
        "BYE", "sip:x", [("Route", "<sip:10.0.0.7:5070;lr>")]
    ).routes()
    rec.host["center"] = {"dialogs": [restore.dialog_state(leg)]}
    rec.commit().wait(10)
    (back,) = restore.resume(store, writer, config).dialogs
    back.local = ("10.0.0.1", 5080)
    bye = back.request("BYE")
    assert (bye.call_id, bye.from_.tag, bye.to.tag, bye.cseq) == (
        "c-1@x",
        "ours",
        "theirs",
        (5, "BYE"),
    )
    assert bye.uri().text == "sip:+331@10.0.0.9:5072"
    assert [r.text for r in bye.routes()] == ["<sip:10.0.0.7:5070;lr>"]
    assert restore.bye_dest(back, reliable=False) == ("10.0.0.7", 5060)
    assert restore.bye_dest(back, reliable=True) == ("10.0.0.7", 5070)
    back.route_set = []
    assert restore.bye_dest(back, reliable=True) == ("10.0.0.9", 5072)
    # A Contact naming the connection's own port: the URI we called (the phone listens there).
    back.remote_target, back.dest = "sip:+331@10.0.0.9:40123;transport=tcp", ("10.0.0.9", 40123)
    back.remote_uri = "sip:+331@10.0.0.9:5074;transport=tcp"
    assert restore.bye_dest(back, reliable=True) == ("10.0.0.9", 5074)

    rec = restore.resume(store, writer, config).recorder
    rec.host["center"] = {"dialogs": [["c-2@x", "ours"]]}
    rec.commit().wait(10)
    with pytest.raises(StoreError, match=r"dialogs: ValueError.*c-2@x"):
        restore.resume(store, writer, config)
    writer.close()
    store.close()
