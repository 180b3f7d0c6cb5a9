"""Print the embedded Heat's request latency with each in-memory RPC transport.

Starts the embedded Heat (engine + API in one process) twice in fresh state
directories, once with oslo.messaging's ``fake://`` (the baseline: its listener
sleeps 50 ms when its queue is empty) and once with our ``inproc://``
(deployer/undercloud/inproc_transport.py), and times sequential API calls that
each make one RPC round trip to the engine: ``GET /stacks`` and
``GET /stacks/<name>`` of a small stack.  Prints p50/p90 per transport and
the ratio inproc/fake.

    .venv/bin/python bench/heat_rpc.py [--requests N]
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import urllib.request

from deployer.undercloud.heat import EmbeddedHeat
from deployer.undercloud.process import free_port

TEMPLATE = {"heat_template_version": "2018-08-31",
            "resources": {"r": {"type": "OS::Heat::None"}}}


def _call(url: str, method: str = "GET", body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json",
                                              "X-Auth-User": "admin"})
    with urllib.request.urlopen(request, timeout=60) as response:
        text = response.read()
    return json.loads(text) if text else {}


def _wait_complete(root: str, name: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = _call(f"{root}/stacks/{name}")["stack"]["stack_status"]
        if status.endswith("COMPLETE"):
            return
        if status.endswith("FAILED"):
            raise RuntimeError(f"bench stack {name}: {status}")
        time.sleep(0.2)
    raise RuntimeError(f"bench stack {name} not complete within {timeout} s")


def measure(transport: str, requests: int) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory(prefix="bench-heat-rpc-") as state:
        heat = EmbeddedHeat(state, port=free_port(),
                            extra_conf={"DEFAULT": {"transport_url": transport}})
        heat.start()
        try:
            root = heat.endpoint
            _call(f"{root}/stacks", "POST", {"stack_name": "bench", "template": TEMPLATE})
            _wait_complete(root, "bench")
            timings: dict[str, list[float]] = {"GET /stacks": [], "GET /stacks/<name>": []}
            for _ in range(requests):
                for label, url in (("GET /stacks", f"{root}/stacks"),
                                   ("GET /stacks/<name>", f"{root}/stacks/bench")):
                    started = time.perf_counter()
                    _call(url)
                    timings[label].append(time.perf_counter() - started)
            return timings
        finally:
            heat.stop()


def _quantile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q * 100) - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100, help="requests per endpoint and transport")
    args = parser.parse_args()
    results = {transport: measure(transport, args.requests) for transport in ("fake://", "inproc://")}
    print(f"embedded Heat, {args.requests} sequential requests per endpoint (ms)")
    print(f"  {'endpoint':<20} {'transport':<10} {'p50':>7} {'p90':>7}")
    for label in results["fake://"]:
        for transport, timings in results.items():
            values = timings[label]
            print(f"  {label:<20} {transport:<10} {_quantile(values, 0.5) * 1000:7.1f} "
                  f"{_quantile(values, 0.9) * 1000:7.1f}")
        ratio = statistics.median(results["inproc://"][label]) / statistics.median(results["fake://"][label])
        print(f"  {label:<20} p50 ratio inproc/fake = {ratio:.2f}")


if __name__ == "__main__":
    main()
