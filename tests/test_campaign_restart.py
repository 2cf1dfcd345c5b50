"""The dialer's campaign across a restart of the contact center on the same records database
(app/dialer.py, app/restore.py): leads as real SIP peers on 127.0.0.1 (SIPp UAS processes,
or a bare UDP socket that only watches for INVITEs), agents as `AgentPhone`s, the "kill" a
center dropped after a commit without `stop()` as in tests/test_restart.py. A lead that used
its attempts is never dialed again, a retry keeps its due time, the abandons before the
restart stay in the compliance window, a saved campaign that does not fit is refused naming
it (and `acdcore serve` exits non-zero), and `fresh` starts the campaign anew."""

from __future__ import annotations

import asyncio
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from acdcore.app import ContactCenter, load_config
from acdcore.app.dialer import BLOB, Dialer
from acdcore.records import Query, SqliteStore
from acdcore.records.store import StoreError
from acdcore.traffic import AgentPhone
from test_dialer import campaign_files, lead_sipp, zone_at
from test_restart import _kill as _drop
from test_serve_restart import _serve
from test_sip_peers import wait_for
from test_sip_transport import free_port, run


def _center(path: Path, **kwargs: object) -> ContactCenter:
    return ContactCenter(load_config(path), **kwargs)  # type: ignore[arg-type]


def _dialer(center: ContactCenter) -> Dialer:
    assert center.dialer is not None
    return center.dialer


def _kill(center: ContactCenter) -> None:
    """As a SIGKILL: the dialer's calls in progress vanish with the rest (nothing of them
    after the last commit reaches the database)."""
    for task in list(_dialer(center)._tasks):
        task.cancel()
    _drop(center)


def _watch(port: int) -> socket.socket:
    """A lead that never answers: a UDP socket on its port, to see each INVITE sent to it."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    s.setblocking(False)
    return s


def _invites(s: socket.socket) -> int:
    """INVITEs (retransmissions too) received since the last call."""
    n = 0
    while True:
        try:
            data = s.recv(65536)
        except BlockingIOError:
            return n
        n += data.startswith(b"INVITE ")


def test_a_lead_that_used_its_attempts_is_not_dialed_after_a_restart_until_fresh(
    tmp_path: Path,
) -> None:
    """max_attempts = 1 and failed dials retried at once: only the saved attempt count stops
    a second dial. The lead was ringing at the kill; the restart closes that dial as a failed
    attempt (with its CDR), and the due retry is refused for max-attempts."""

    async def main() -> None:
        port = free_port()
        path = campaign_files(
            tmp_path, [("+12125550100", zone_at(12), port)],
            extra="max_attempts = 1\nretry = { failed = 0 }",
        )  # fmt: skip
        watch = _watch(port)
        phone = None
        try:
            first = _center(path)
            address = await first.start()
            phone = AgentPhone(address, "agent1", "secret1", talk_mean=None)
            await phone.start()
            assert await wait_for(lambda: _invites(watch) > 0, 20.0)
            d1 = _dialer(first)
            assert d1.campaign.lead(0)["state"] == "dialing"
            await first.durable()
            _kill(first)
            await asyncio.sleep(0.1)
            _invites(watch)  # the dead run's last retransmissions

            second = _center(path)
            d2 = _dialer(second)
            assert d2.resumed and d2.interrupted == [(0, "dialing")]
            lead = d2.campaign.lead(0)
            assert (lead["attempts"], lead["outcome"]) == (1, "failed")
            assert d2.campaign.stats()["in_flight"] == 0
            await second.start()
            try:
                assert second.login.logged_in == {"ann"}  # a ready agent: the dialer would dial
                ticks = lambda: d2.campaign.lead(0)["state"] == "done"  # noqa: E731
                assert await wait_for(ticks, 10.0)
                await asyncio.sleep(1.0)  # three more ticks with the agent ready
                assert d2.campaign.lead(0)["refusal"] == "max-attempts"
                assert d2.campaign.stats()["dials"] == 1 and d2.stats.placed == 0
                assert _invites(watch) == 0
            finally:
                await second.stop()
            with SqliteStore(tmp_path / "records.db", create=False) as store:
                (cdr,) = store.search(Query())
                assert (cdr.call_id, cdr.outcome, cdr.called) == (
                    "spring:0:1", "lost", "+12125550100",
                )  # fmt: skip
                assert cdr.attributes["lost"] == {"why": "restart", "state": "dialing"}

            fresh = _center(path, fresh=True)  # the campaign anew: the lead is dialed again
            d3 = _dialer(fresh)
            assert not d3.resumed and d3.campaign.lead(0)["attempts"] == 0
            await phone.close(unregister=False)
            phone = AgentPhone(await fresh.start(), "agent1", "secret1", talk_mean=None)
            await phone.start()  # fresh logged every agent out: the phone registers again
            try:
                assert await wait_for(lambda: _invites(watch) > 0, 20.0)
                assert d3.campaign.stats()["dials"] == 1
            finally:
                await fresh.stop()
        finally:
            if phone is not None:
                await phone.close(unregister=False)
            watch.close()

    run(main)


def test_a_retry_keeps_its_due_time_and_abandons_stay_in_the_window(tmp_path: Path) -> None:
    """Power dialing, one agent too slow to answer: lead 0 answers and is abandoned, lead 1
    is busy and retried 8 s later. Restarted within those 8 s, the campaign dials lead 1 no
    sooner, never redials the abandoned lead, and its abandon rate still counts the abandon."""

    async def main() -> None:
        answers, busy = free_port(), free_port()
        leads = [("+12125550100", zone_at(12), answers), ("+12125550101", zone_at(12), busy)]
        path = campaign_files(
            tmp_path, leads, extra='mode = "power"\nratio = 2.0\nretry = { busy = 8 }'
        )
        a = lead_sipp(tmp_path, "uas_lead_answers", answers)
        b = lead_sipp(tmp_path, "uas_lead_busy", busy, "-m", "2")
        first = _center(path)
        address = await first.start()
        phone = AgentPhone(address, "agent1", "secret1", answer_delay=8.0, seed=2)
        await phone.start()
        try:
            d1 = _dialer(first)
            settled = lambda: d1.stats.abandoned == 1 and d1.campaign.stats()["busy"] == 1  # noqa: E731
            assert await wait_for(lambda: settled() and not d1._live, 30.0)
            dialed = d1.campaign.lead(1)["last_attempt"]
            await first.durable()
            _kill(first)

            second = _center(path)
            d2 = _dialer(second)
            assert d2.interrupted == []
            st = d2.campaign.stats()
            assert (st["dials"], st["abandoned"], st["busy"], st["connects"]) == (2, 1, 1, 1)
            assert st["abandon_rate"] == 1.0  # one abandon per live answer, from before
            assert d2.campaign.lead(1)["state"] == "retry-scheduled"
            assert d2.now() < dialed + 8.0  # restarted before the retry fell due
            await second.start()
            try:
                again = lambda: d2.campaign.stats()["busy"] == 2 and not d2._live  # noqa: E731
                assert await wait_for(again, 30.0)
                assert d2.campaign.lead(1)["last_attempt"] >= dialed + 8.0
                st = d2.campaign.stats()
                assert (st["dials"], st["abandoned"]) == (3, 1)
                assert st["abandon_rate"] == 1.0
                assert d2.campaign.lead(0)["attempts"] == 1  # its retry is a day away
            finally:
                await second.stop()
        finally:
            await phone.close(unregister=False)
        assert await asyncio.wait_for(a, 30.0) == 0
        assert await asyncio.wait_for(b, 30.0) == 0

    run(main)


def test_a_saved_campaign_that_does_not_fit_is_refused_naming_it(tmp_path: Path) -> None:
    """A damaged blob, or a lead list that changed under it, stops `acdcore serve` with an
    error naming the campaign and the database and pointing at --fresh, which starts anew;
    changed settings are applied (the mode) or named (the rules the campaign keeps)."""

    async def first_run(path: Path) -> None:
        center = _center(path)
        await center.start()
        await center.stop()  # a clean stop saves the campaign too (paused, not stopped)

    path = campaign_files(tmp_path, [("+12125550100", zone_at(12), free_port())])
    run(lambda: first_run(path))
    db = tmp_path / "records.db"
    with SqliteStore(db, create=False) as store:
        good = store.blob(BLOB)
    assert good is not None

    def serve(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "acdcore", "serve", "--config", str(path), *args],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    damaged = bytearray(good)
    damaged[len(good) // 2] ^= 0x55
    conn = sqlite3.connect(db)
    conn.execute("UPDATE host_blobs SET data = ? WHERE name = ?", (bytes(damaged), BLOB))
    conn.commit()
    conn.close()
    got = serve("--duration", "1")
    assert got.returncode == 2, got.stdout
    assert f"campaign 'spring' saved in {db}" in got.stderr
    assert "damaged" in got.stderr and "--fresh starts the campaign anew" in got.stderr

    conn = sqlite3.connect(db)
    conn.execute("UPDATE host_blobs SET data = ? WHERE name = ?", (good, BLOB))
    conn.commit()
    conn.close()
    leads = tmp_path / "leads.csv"
    leads.write_text(leads.read_text() + f"+12125550199,{zone_at(12)},5060\n")
    with pytest.raises(StoreError, match=r"'spring' saved in .*leads has 2 leads, the snapshot 1"):
        _center(path)

    got = serve("--duration", "1", "--fresh")
    assert got.returncode == 0, got.stderr
    with SqliteStore(db, create=False) as store:
        assert store.blob(BLOB) != good  # the new campaign's, of two leads
    # A changed mode and changed rules apply to the resumed campaign from now on; a changed
    # compliance profile is kept as saved (the abandonment window's history is in its
    # buckets) and named, --fresh being the way to apply it, on every restart until then.
    path.write_text(path.read_text() + 'max_attempts = 5\nmode = "power"\nratio = 2.0\n')

    async def resume(restart: int) -> None:
        again = _center(path)
        d = _dialer(again)
        assert d.resumed and len(d.campaign) == 2
        assert (d.campaign.mode, d.campaign.ratio) == ("power", 2.0)
        assert d.campaign.rules["max_attempts"] == 5
        assert d.kept == (["profile 'us' (the config says 'uk')"] if restart else [])
        assert d.campaign.rules["abandon_window"] == 30 * 86400.0  # the US profile's still
        await again.start()
        await again.stop()  # saves the settings the campaign holds, for the next restart

    for restart in range(3):
        if restart == 1:
            path.write_text(path.read_text() + 'profile = "uk"\n')
        run(lambda: resume(restart))  # noqa: B023 (run at once)


def test_acdcore_serve_killed_mid_dial_does_not_dial_the_lead_again(tmp_path: Path) -> None:
    """The same as the first test through the real process: `acdcore serve` SIGKILLed while
    the lead rings, its once-a-second commit having saved the dial; started again, it says
    it closed the cut-off call, and with the agent ready it refuses the lead for
    max-attempts instead of dialing it."""

    async def main() -> None:
        sip, port = free_port(), free_port()
        path = campaign_files(
            tmp_path, [("+12125550100", zone_at(12), port)],
            extra="max_attempts = 1\nretry = { failed = 0 }",
        )  # fmt: skip
        path.write_text(path.read_text().replace("127.0.0.1:0", f"127.0.0.1:{sip}"))
        watch = _watch(port)
        phone = AgentPhone(("127.0.0.1", sip), "agent1", "secret1", talk_mean=None)
        server = None
        try:
            server, _ = await _serve(path)
            await phone.start()
            assert await wait_for(lambda: _invites(watch) > 0, 20.0)
            await asyncio.sleep(1.5)  # past the next periodic commit
            server.send_signal(signal.SIGKILL)
            await server.wait()
            _invites(watch)
            server, _ = await _serve(path)
            assert server.stdout is not None
            said = []
            for _ in range(5):
                said.append((await asyncio.wait_for(server.stdout.readline(), 30.0)).decode())
                if "campaign spring resumed" in said[-1]:
                    break
            assert "1 calls cut off by the restart closed" in said[-1], said
            await asyncio.sleep(2.0)  # about six ticks, the agent ready (its binding restored)
            assert _invites(watch) == 0
            server.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(server.communicate(), 30.0)
            assert server.returncode == 0, err.decode()
            (summary,) = [x for x in out.decode().splitlines() if x.startswith("acdcore serve: t=")]
            assert "dials=1 " in summary and "failed=1 " in summary, summary
            assert "refused=max-attempts:1" in summary, summary
        finally:
            if server is not None and server.returncode is None:
                server.kill()
                await server.wait()
            await phone.close(unregister=False)
            watch.close()
        with SqliteStore(tmp_path / "records.db", create=False) as store:
            (cdr,) = store.search(Query())
            assert (cdr.call_id, cdr.outcome) == ("spring:0:1", "lost")

    run(main)


def test_the_predictive_pacer_keeps_what_it_learned_across_a_restart(tmp_path: Path) -> None:
    """The pacer's estimates are saved beside the campaign at each commit and taken back on a
    restart, so the first dials after it are not paced from the cautious prior; a damaged
    pacer blob only costs the learning (a warning, the prior again)."""
    import numpy as np

    path = campaign_files(
        tmp_path, [("+12125550100", zone_at(12), free_port())], extra='mode = "predictive"'
    )
    first = _center(path)
    d = _dialer(first)
    assert d.paced is not None and not d.resumed and not d.pacer_restored
    prior = d.paced.pacer.state(0)
    # Outcomes the pacer learns from: 40 dials resolved, 30 answered, 3 by machines.
    d.paced.pacer.tick(
        d.now(), ready=[1], busy_ages=[np.zeros(0)], in_flight=[0], resolved=[40],
        answered=[30], machines=[3], answer_times=[[6.0] * 30],
    )  # fmt: skip
    learned = d.paced.pacer.state(0)
    assert learned["answer_rate"] > prior["answer_rate"]
    learned_shape = d.paced.pacer.answer_shape(0)
    assert learned_shape is not None
    d.save()
    first.recorder.commit().wait(5)
    _drop(first)

    again = _center(path)
    d2 = _dialer(again)
    assert d2.resumed and d2.pacer_restored
    assert d2.paced is not None and d2.paced.pacer.state(0) == learned
    shape = d2.paced.pacer.answer_shape(0)
    assert shape is not None and np.array_equal(shape[0], learned_shape[0])
    assert shape[0].argmax() == 6  # the answers at 6 s
    _drop(again)

    conn = sqlite3.connect(tmp_path / "records.db")
    conn.execute("UPDATE host_blobs SET data = ? WHERE name = 'campaign-pacer'", (b"junk",))
    conn.commit()
    conn.close()
    third = _center(path)
    d3 = _dialer(third)
    assert d3.resumed and not d3.pacer_restored  # served, learning afresh
    assert d3.paced is not None and d3.paced.pacer.state(0) == prior
    _drop(third)


def test_a_broadcast_cut_off_by_a_kill_is_recorded_lost_once(tmp_path: Path) -> None:
    """A voice-broadcast lead is done in the campaign at its answer, so only the dialer's
    host state tells a restart that its message was playing: started again, the center
    records that call `lost` (state "broadcast"), sends the dead dialog its BYE, and a further
    restart does not record it twice."""
    from test_dialer_broadcast import broadcast_files

    async def main() -> None:
        port = free_port()
        path = broadcast_files(tmp_path, [("+12125550100", zone_at(12), port)], seconds=8.0)
        lead = lead_sipp(tmp_path, "uas_lead_answers", port, "-rtp_echo")
        first = _center(path)
        await first.start()
        d1 = _dialer(first)
        assert await wait_for(lambda: bool(d1._broadcasting), 20.0)  # the message plays
        await first.durable()
        _kill(first)

        second = _center(path)
        assert _dialer(second).resumed
        await second.start()
        try:
            assert await asyncio.wait_for(lead, 30.0) == 0  # it got the restart's BYE
            await second.durable()
        finally:
            await second.stop()
        third = _center(path)
        await third.start()
        await third.stop()
        with SqliteStore(tmp_path / "records.db", create=False) as store:
            (cdr,) = store.search(Query())
        assert (cdr.call_id, cdr.outcome, cdr.called) == ("spring:0:1", "lost", "+12125550100")
        assert cdr.attributes["lost"] == {"why": "restart", "state": "broadcast"}
        assert cdr.attributes["message"] == "promo" and cdr.attributes["lead_outcome"] == "human"
        assert cdr.answer is not None and cdr.arrival <= cdr.answer <= cdr.end

    run(main)
