"""`acdcore simulate --report`: the example mid-size center through the real CLI, its page
checked against the CLI's own JSON output, and the report pieces on small hand-made results."""

from __future__ import annotations

import json
import math
import struct
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from acdcore.report import clock_label, percentile_waits, write_report
from acdcore.simulate import SimulationResult

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "simulation" / "midsize_center.toml"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CLI = (sys.executable, "-m", "acdcore", "simulate")
QUICK = ("--agents", "5", "--arrival-rate", "0.02", "--aht", "180", "--calls", "200")


class Page(HTMLParser):
    """Tables by id (rows of cell texts, header row included), image sources, all text."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.images: list[str] = []
        self.text: list[str] = []
        self._table: list[list[str]] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table":
            self._table = self.tables.setdefault(a.get("id") or "", [])
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "img":
            self.images.append(a["src"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self._table[-1].append("".join(self._cell))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def rows_by_first(table: list[list[str]]) -> dict[str, list[str]]:
    return {row[0]: row for row in table[1:]}


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, f"{path.name} is not a PNG"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def pct(v: float) -> str:
    return f"{100 * v:,.1f}%"


def secs(v: float) -> str:
    return f"{v:,.1f} s"


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, object], Path]:
    out = tmp_path_factory.mktemp("report") / "nested" / "midsize"
    proc = subprocess.run(
        [*CLI, str(EXAMPLE), "--seed", "1", "--report", str(out), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    return summary, out


def test_example_report_names_every_queue_and_group(
    example: tuple[dict[str, object], Path],
) -> None:
    summary, out = example
    page_path = Path(str(summary["report"]))
    assert page_path == out / "index.html" and page_path.is_file()
    page = parse(page_path)
    queues = rows_by_first(page.tables["queues"])
    assert set(queues) == {"sales_en", "support_en", "support_fr"}
    header = page.tables["intervals"][0]
    for group in ("english", "english_late", "bilingual"):
        assert f"occupancy {group}" in header
    cells = [c for table in page.tables.values() for row in table for c in row]
    assert not [c for c in cells if "nan" in c.lower()]  # undefined figures show as a dash


def test_example_report_plots_are_real_pngs(example: tuple[dict[str, object], Path]) -> None:
    _, out = example
    page = parse(out / "index.html")
    assert len(page.images) == 4
    for src in page.images:
        png = out / src
        assert png.is_file() and png.stat().st_size > 1000, src
        width, height = png_size(png)
        assert 400 <= width <= 3000 and 200 <= height <= 2000, (src, width, height)


def test_example_report_numbers_match_the_json(example: tuple[dict[str, object], Path]) -> None:
    summary, out = example
    page = parse(out / "index.html")
    queues = rows_by_first(page.tables["queues"])
    by_queue = summary["queues"]
    assert isinstance(by_queue, dict)
    for qid, q in by_queue.items():
        row = queues[qid]
        assert row[1] == f"{q['arrivals']:,}"
        assert row[2] == f"{q['answered']:,}"
        assert row[3] == f"{q['abandoned']:,}"
        assert row[6] == pct(q["service_level"])
        assert row[7] == secs(q["asa"])

    totals = rows_by_first(page.tables["totals"])
    assert totals["service level"][1] == pct(summary["service_level"])  # type: ignore[arg-type]
    assert totals["average speed of answer"][1] == secs(summary["asa"])  # type: ignore[arg-type]
    assert totals["abandon rate"][1] == pct(summary["abandon_rate"])  # type: ignore[arg-type]
    assert totals["occupancy"][1] == pct(summary["occupancy"])  # type: ignore[arg-type]
    assert totals["P(wait)"][1] == pct(summary["p_wait"])  # type: ignore[arg-type]
    assert summary["replications"] == 5
    ci = summary["ci"]
    assert isinstance(ci, dict)
    assert page.tables["totals"][0][-1].startswith("\u00b1")
    assert totals["service level"][2] == pct(ci["service_level"])
    assert totals["average speed of answer"][2] == secs(ci["asa"])


def test_example_report_intervals(example: tuple[dict[str, object], Path]) -> None:
    summary, out = example
    table = parse(out / "index.html").tables["intervals"]
    rows = table[1:]
    columns = summary["intervals"]
    assert isinstance(columns, dict)
    assert len(rows) == len(columns["start"])
    for name, header, fmt in (("service_level", "service level", pct), ("asa", "ASA", secs)):
        k = table[0].index(header)
        shown = [r[k] for r in rows]
        assert shown == ["\u2013" if v is None else fmt(v) for v in columns[name]]
    # 24 half-hour intervals of arrivals, then the ones in which the last calls finish.
    assert len(rows) >= 24
    assert [r[0] for r in rows[:3]] == ["0:00", "0:30", "1:00"]
    assert rows[23][0] == "11:30"
    width = len(table[0])
    assert all(len(r) == width for r in rows)
    sl = table[0].index("service level")
    # The morning peak is busier than the first half hour, and its service level is lower.
    arrivals = [float(r[1].replace(",", "")) for r in rows[:24]]
    assert max(arrivals) == max(arrivals[3:7])
    first, peak = (float(rows[k][sl].rstrip("%")) for k in (0, arrivals.index(max(arrivals))))
    assert peak < first


def test_bad_report_path_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    proc = subprocess.run(
        [*CLI, *QUICK, "--report", str(blocker), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "--report" in proc.stderr and str(blocker) in proc.stderr
    assert "not a folder" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert blocker.read_text() == "not a folder"


def _result(**over: object) -> SimulationResult:
    """A two-interval, one-replication result with one group, made by hand."""
    nan = math.nan
    cols = {
        "start": [0.0, 900.0],
        "arrivals": [3.0, 0.0],
        "answered": [3.0, 0.0],
        "abandoned": [0.0, 0.0],
        "service_level": [2 / 3, nan],
        "asa": [4.0, nan],
        "abandon_rate": [0.0, nan],
        "p_wait": [1 / 3, nan],
        "occupancy": [0.5, nan],
        "queue_mean": [0.1, 0.0],
        "queue_max": [1.0, 0.0],
        "staffed_agents": [1.0, 0.0],
    }
    hist = np.zeros(3601, dtype=np.int64)
    hist[0], hist[12] = 2, 1
    fields: dict[str, object] = {
        "replications": 1,
        "seed": 7,
        "interval": 900.0,
        "totals": {
            "calls": 3.0,
            "answered": 3.0,
            "abandoned": 0.0,
            "service_level": 2 / 3,
            "asa": 4.0,
            "abandon_rate": 0.0,
            "occupancy": 0.5,
            "p_wait": 1 / 3,
            "queue_mean": 0.05,
            "wait_mean": 4.0,
            "arrival_rate": 0.0017,
            "unserved": 0.0,
        },
        "ci": {},
        "intervals": {k: np.array(v) for k, v in cols.items()},
        "intervals_ci": {k: np.full(2, nan) for k in cols},
        "groups": ['<b>"night" & co</b>'],
        "group_occupancy": np.array([[0.5, nan]]),
        "wait_histogram": hist,
        "queues": [
            {
                "id": "<script>alert(1)</script>",
                "arrivals": 3,
                "answered": 3,
                "abandoned": 0,
                "self_service": 0,
                "callbacks": 0,
                "service_level": 2 / 3,
                "asa": 4.0,
                "abandon_rate": 0.0,
            }
        ],
        "runs": [],
    }
    fields.update(over)
    return SimulationResult(**fields)  # type: ignore[arg-type]


def test_scenario_strings_are_escaped_and_nan_is_a_dash(tmp_path: Path) -> None:
    page_path = write_report(_result(), tmp_path / "r", title="<i>day</i>")
    raw = page_path.read_text(encoding="utf-8")
    assert "<script>" not in raw and "<b>" not in raw and "<i>day" not in raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in raw
    page = parse(page_path)
    assert "<script>alert(1)</script>" in rows_by_first(page.tables["queues"])
    assert 'occupancy <b>"night" & co</b>' in page.tables["intervals"][0]
    assert "nan" not in raw.lower()
    second = page.tables["intervals"][2]
    assert second[0] == "0:15"
    header = page.tables["intervals"][0]
    assert second[header.index("service level")] == "\u2013"
    assert second[header.index("ASA")] == "\u2013"
    assert second[-1] == "\u2013"  # the group was not staffed
    # One replication: no CI column.
    assert page.tables["totals"][0] == ["figure", "value"]


def test_wait_percentiles_and_clock_labels() -> None:
    hist = np.zeros(3601, dtype=np.int64)
    hist[0], hist[5], hist[3600] = 50, 40, 10
    assert percentile_waits(hist, [50, 80, 90, 95]) == [0.0, 5.0, 5.0, 3600.0]
    assert all(math.isnan(w) for w in percentile_waits(np.zeros(5, dtype=np.int64), [50]))
    assert clock_label(0) == "0:00"
    assert clock_label(5400) == "1:30"
    assert clock_label(3725) == "1:02:05"
    assert clock_label(1800, clock_start=8 * 3600) == "08:30"
    assert clock_label(3600, clock_start=23.5 * 3600) == "00:30"
