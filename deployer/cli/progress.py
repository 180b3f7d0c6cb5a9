"""A deployment's progress on a terminal, refreshed from GET /v1/deployments/<id>.

``Watcher`` long-polls it (If-None-Match + ``wait``): the API answers when the
deployment changed, so nothing that did not change is fetched again.  On a TTY the view (nodes grouped by step, each with its phase and elapsed
time) is redrawn in place with rich's Live display; anywhere else (a pipe, a
CI log) one line is printed per change, so the output reads as a history.
"""
from __future__ import annotations

import copy
import time
from typing import Any, Callable, TextIO

from rich import box
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from deployer.bootstrap.contract import FINAL_STATES as FINAL_RUN_STATES
from deployer.bootstrap.contract import PHASES
from deployer.chef import names
from deployer.cli.outages import read_through_outages

FINAL_DEPLOYMENT_STATES = ("complete", "failed", "deleted")
POLL_SECONDS = 2.0
WAIT_SECONDS = 10.0     # a long poll's longest wait (the elapsed clocks tick between)

# Text first, colour second: every label is readable without its colour.
LABEL_STYLES = {"queued": "grey50", "connect": "cyan", "install": "deep_sky_blue1",
                "register": "dodger_blue1", "configure": "blue", "converge": "bold blue",
                "succeeded": "green", "failed": "bold red", "cancelled": "dark_orange"}


def node_label(node: dict) -> str:
    """queued, a phase name while running, or the run's final status."""
    status = node.get("run_status")
    if status in FINAL_RUN_STATES:
        return status
    if status == "running":
        return node.get("phase") or "connect"
    return "queued"


def phase_step(node: dict) -> str:
    """'3/5' while a phase runs, '' otherwise."""
    label = node_label(node)
    return f"{PHASES.index(label) + 1}/{len(PHASES)}" if label in PHASES else ""


def format_elapsed(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def step_groups(nodes: list[dict]) -> list[tuple[int | None, list[dict]]]:
    """Nodes grouped by the step the API gives them (deployer/deployments/steps.py),
    step 1 first, names sorted within; nodes whose step the API does not know (None)
    come last, as the API lists them."""
    groups: dict[int | None, list[dict]] = {}
    for node in nodes:
        groups.setdefault(node.get("step"), []).append(node)
    return [(step, sorted(groups[step], key=lambda n: n.get("resource") or ""))
            for step in sorted(groups, key=names.order_sort_key)]


def step_label(step: int | None) -> str:
    return "?" if step is None else str(step)


def summary_line(deployment: dict) -> str:
    progress = deployment.get("progress") or {}
    return (f"{deployment.get('name')}: {deployment.get('state')} "
            f"({deployment.get('stack_status') or 'no stack yet'}), "
            f"{progress.get('nodes_done', 0)}/{progress.get('nodes_total', 0)} nodes done")


def render(deployment: dict):
    """The live view of one deployment as a rich renderable."""
    parts: list = [Text(summary_line(deployment), style="bold")]
    reason = deployment.get("status_reason")
    if deployment.get("state") == "failed" and reason:
        parts.append(Text(f"reason: {reason}", style="red"))
    # One table, a section per step, so the columns line up across steps.
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for column in ("step", "node", "address", "phase", "of phases", "elapsed"):
        table.add_column(column)
    for step, nodes in step_groups(deployment.get("nodes") or []):
        for index, node in enumerate(nodes):
            label = node_label(node)
            table.add_row(step_label(step) if index == 0 else "",
                          node.get("node_name") or node.get("resource") or "?",
                          node.get("address") or "-",
                          Text(label, style=LABEL_STYLES.get(label, "")),
                          phase_step(node), format_elapsed(node.get("elapsed_seconds")))
        table.add_section()
    parts.append(table)
    return Group(*parts)


class ChangePrinter:
    """Line-by-line output: the stack status and each node's label when they change."""

    def __init__(self, stream: TextIO):
        self._stream = stream
        self._seen: dict[str, str] = {}

    def update(self, deployment: dict) -> None:
        lines = []
        stack = f"{deployment.get('state')} {deployment.get('stack_status') or ''}".strip()
        if self._seen.get("") != stack:
            self._seen[""] = stack
            lines.append(summary_line(deployment))
        for step, nodes in step_groups(deployment.get("nodes") or []):
            for node in nodes:
                key, label = node.get("resource") or "?", node_label(node)
                if self._seen.get(key) != label:
                    self._seen[key] = label
                    lines.append(f"  step {step_label(step)} {node.get('node_name') or key} "
                                 f"({node.get('address') or '-'}): {label} "
                                 f"{format_elapsed(node.get('elapsed_seconds'))}")
        if lines:
            stamp = time.strftime("%H:%M:%S")
            self._stream.write("".join(f"{stamp} {line}\n" for line in lines))
            self._stream.flush()

    def close(self) -> None:
        pass


class LiveView:
    """The same information redrawn in place on a terminal."""

    def __init__(self, stream: TextIO):
        self._live = Live(console=Console(file=stream), auto_refresh=False, transient=False)
        self._live.start()

    def update(self, deployment: dict) -> None:
        self._live.update(render(deployment), refresh=True)

    def close(self) -> None:
        self._live.stop()


class Watcher:
    """``fetch`` for ``follow``: each call long-polls the deployment and returns it once
    it changed, or after WAIT_SECONDS unchanged (its running clocks advanced).  A
    server that answers at once without waiting (all its wait slots taken) is
    asked again after POLL_SECONDS, with If-None-Match all the same."""

    interval = 0.0          # follow() need not sleep: the server waits

    def __init__(self, client: Any, deployment_id: str, *, wait: float = WAIT_SECONDS):
        self.client = client
        self.deployment_id = deployment_id
        self.wait = wait
        self.etag: str | None = None
        self.last: dict | None = None
        self.received = 0.0
        self.requests = 0

    def __call__(self) -> dict:
        started = time.monotonic()
        self.requests += 1
        deployment, self.etag = read_through_outages(
            lambda: self.client.watch_deployment(self.deployment_id, self.etag, self.wait))
        if deployment is not None or self.last is None:
            self.last, self.received = deployment, time.monotonic()
            return deployment
        if time.monotonic() - started < min(1.0, self.wait / 2):
            time.sleep(POLL_SECONDS)
        return advanced(self.last, time.monotonic() - self.received)


def advanced(deployment: dict, seconds: float) -> dict:
    """``deployment`` with its running nodes' elapsed time ``seconds`` later."""
    later = copy.deepcopy(deployment)
    for node in later.get("nodes") or ():
        if node.get("run_status") == "running" and node.get("elapsed_seconds") is not None:
            node["elapsed_seconds"] = round(node["elapsed_seconds"] + seconds, 3)
    return later


def follow(fetch: Callable[[], dict], stream: TextIO, *, interval: float | None = None,
           until: Callable[[dict], bool] | None = None) -> dict:
    """Call ``fetch`` and show each state until ``until`` (default: a final state); returns
    the last deployment seen.  Between calls it sleeps ``interval`` (default: the
    fetcher's own ``interval``, else POLL_SECONDS)."""
    if interval is None:
        interval = getattr(fetch, "interval", POLL_SECONDS)
    done = until or (lambda deployment: deployment.get("state") in FINAL_DEPLOYMENT_STATES)
    view = LiveView(stream) if stream.isatty() else ChangePrinter(stream)
    try:
        while True:
            deployment = fetch()
            view.update(deployment)
            if done(deployment):
                return deployment
            if interval > 0:
                time.sleep(interval)
    finally:
        view.close()
