"""deployer/certify/table.py: the rows as the API's ``table`` and the CLI print them, and
the verdict on them (deployer/certify/service.py)."""
from __future__ import annotations

from deployer.certify import service, table
from tests.integration.certification_helpers import outcome

ROWS = [outcome("crash-api-vip-holder", "ctl1").to_dict(),
        outcome("kill-rabbitmq-leader", "ctl2",
                outage={"token": 0.04, "db_write": 1.25, "rpc": None},
                lost={"db_writes": 0, "messages": 3}, rejoin={"token": 0.2, "db_write": 2.5, "rpc": None}
                ).to_dict(),
        outcome("link-down", "ctl3", outage={}, lost={}, time_to_whole=None, rejoin={},
                error="ctl3 did not answer over SSH").to_dict()]


def test_the_table_has_one_aligned_line_per_fault_and_says_its_units():
    lines = table.format_table(ROWS).splitlines()
    assert lines[0].split("  ")[0].strip() == "fault" and lines[0].endswith("result")
    assert set(lines[1].replace(" ", "")) == {"-"}
    # the rejoin stall is the worst path's, and no target judges it
    assert lines[2].split() == ["crash-api-vip-holder", "ctl1", "0.4", "1.2", "0.3", "9.3", "token",
                                "0", "0", "12.5", "ok"]
    assert lines[3].split()[2:10] == ["0.0", "1.2", "never", "never", "rpc", "0", "3", "12.5"]
    assert lines[3].endswith("rpc never came back; 3 messages lost")
    # An error before anything was measured: nothing to show but the error.
    assert lines[4].split()[:9] == ["link-down", "ctl3", "-", "-", "-", "-", "-", "-", "-"]
    assert lines[4].endswith("ctl3 did not answer over SSH")
    assert lines[-1] == table.NOTE
    # Every column starts where its heading does.
    result_at = lines[0].index("result")
    assert {line[result_at - 2:result_at] for line in lines[2:5]} == {"  "}
    assert not any(line != line.rstrip() for line in lines)


def test_a_row_on_its_own_lines_up_with_the_header():
    header = table.header().splitlines()[0]
    line = table.line(ROWS[0])
    assert line.endswith("  ok") and len(line) - 2 == header.index("result")
    assert table.format_table([]).splitlines()[2] == "(no fault measured yet)"


def test_the_verdict():
    assert service.verdict(ROWS[:1]) == ("passed", "")
    assert service.verdict([]) == ("failed", "no fault was measured")
    status, reason = service.verdict(ROWS)
    assert status == "failed" and reason.startswith("2 of 3 faults failed: kill-rabbitmq-leader "
                                                    "on ctl2: rpc never came back, 3 messages lost; "
                                                    "link-down on ctl3: ctl3 did not answer")
