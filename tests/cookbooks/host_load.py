"""What the host's CPU and memory went to while a long test ran, sampled from the host.

The test nodes share the host's kernel, so every node's processes are visible
here, and a node too loaded to answer SSH still shows.  Every ``interval``
seconds one line: the time (UTC, to lay beside the nodes' journals), the load
average, how many tasks were runnable and how many in uninterruptible sleep,
available memory and swap in use, and the processes that used the most CPU
since the previous line, each with the test node it runs on (its cpu group).
"""
from __future__ import annotations

import datetime
import threading
from pathlib import Path

import psutil

MiB = 1024 * 1024


class HostLoadSampler:
    def __init__(self, interval: float = 5.0, top: int = 6):
        self.interval, self.top = interval, top
        self.lines: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="host-load", daemon=True)

    def __enter__(self) -> "HostLoadSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def report(self) -> str:
        return "\n".join(self.lines)

    def _loop(self) -> None:
        previous, _ = _processes()
        while not self._stop.wait(self.interval):
            current, states = _processes()
            used = sorted(((seconds - previous.get(pid, (0.0, ""))[0], pid, name)
                           for pid, (seconds, name) in current.items()), reverse=True)[:self.top]
            previous = current
            load = psutil.getloadavg()[0]
            memory, swap = psutil.virtual_memory(), psutil.swap_memory()
            busiest = ", ".join(f"{name}@{_node(pid)} {seconds:.1f}" for seconds, pid, name in used
                                if seconds >= 0.1)
            self.lines.append(
                f"{datetime.datetime.now(datetime.timezone.utc):%H:%M:%S} load {load:.1f} "
                f"running {states.count(psutil.STATUS_RUNNING)} D {states.count(psutil.STATUS_DISK_SLEEP)} "
                f"avail {memory.available // MiB} MiB swap {swap.used // MiB} MiB | cpu s: {busiest}")


def _processes() -> tuple[dict[int, tuple[float, str]], list[str]]:
    """One walk of /proc: pid -> (user + system CPU seconds so far, name), and every state."""
    seconds, states = {}, []
    for proc in psutil.process_iter(["name", "cpu_times", "status"]):
        states.append(proc.info["status"])
        times = proc.info["cpu_times"]
        if times is not None:
            seconds[proc.pid] = (times.user + times.system, proc.info["name"] or "?")
    return seconds, states


def _node(pid: int) -> str:
    """The test node a process runs on (its cpu cgroup under deployer-testnodes), else "host"."""
    try:
        for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            if "cpu" in controllers.split(",") and "/deployer-testnodes/" in path:
                return path.split("/deployer-testnodes/", 1)[1].split("/", 1)[0]
    except (OSError, ValueError):
        pass
    return "host"
