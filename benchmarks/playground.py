"""How smooth is the playground? Updates pushed per second, and how fast requests are answered
while it trains (the server in this process, the requests over HTTP on 127.0.0.1).

    python benchmarks/playground.py [--seconds 5]

For each case: epochs per second, the event stream's updates per second (the page's redraws),
the latency of ``GET /api/state`` during training (median, 95th percentile, max of 40), and how
long a pause takes from the request until training is held.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
import urllib.request

from chainrule.playground import launch

CASES = [
    ("xor 2-2-1, training on after it learned", "xor", {}, True),
    ("spirals 2-64-64-1, 1000 points", "spirals", {"samples": 1000, "layers": "64,64"}, False),
]


def request(server, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{server.guard.port}{path}", data=data,
                                 headers={"X-Chainrule-Token": server.guard.token,
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as response:
        return json.loads(response.read())


def measure(name, problem, options, finish_first, seconds):
    server = launch(problem, **options)
    server.start()
    try:
        request(server, "/api/settings", {"speed": "max"})
        # let the doctor's first examination (probes on a copy) end, as a user reading the page
        while request(server, "/api/state")["findings"]["before"]["status"] == "running":
            time.sleep(0.1)
        request(server, "/api/control", {"action": "play"})
        if finish_first:
            while request(server, "/api/state")["status"] != "finished":
                time.sleep(0.05)
            request(server, "/api/control", {"action": "play"})
        events = []

        def read():
            req = urllib.request.Request(f"http://127.0.0.1:{server.guard.port}/api/events",
                                         headers={"X-Chainrule-Token": server.guard.token})
            with urllib.request.urlopen(req, timeout=30) as stream:
                for line in stream:
                    if line.startswith(b"data: "):
                        events.append((time.perf_counter(), json.loads(line[6:])["epoch"]))

        threading.Thread(target=read, daemon=True).start()
        time.sleep(1.0)
        latencies = []
        start_events = len(events)
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            t = time.perf_counter()
            state = request(server, "/api/state")
            latencies.append(time.perf_counter() - t)
            if state["status"] == "finished":  # fit would stop (converged): Play trains on
                request(server, "/api/control", {"action": "play"})
            time.sleep(seconds / 40)
        window = events[start_events:]
        span = window[-1][0] - window[0][0]
        t = time.perf_counter()
        request(server, "/api/control", {"action": "pause"})
        while request(server, "/api/state")["status"] not in ("paused", "finished"):
            time.sleep(0.002)  # (held either way: paused, or where fit would stop)
        pause = time.perf_counter() - t
        latencies.sort()
        return {
            "case": name,
            "epochs/s": (window[-1][1] - window[0][1]) / span,
            "updates/s": (len(window) - 1) / span,
            "state ms median": 1e3 * statistics.median(latencies),
            "p95": 1e3 * latencies[int(0.95 * (len(latencies) - 1))],
            "max": 1e3 * latencies[-1],
            "pause ms": 1e3 * pause,
        }
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    rows = [measure(*case, seconds=args.seconds) for case in CASES]
    keys = list(rows[0])
    print(" | ".join(keys))
    for row in rows:
        print(" | ".join(f"{row[k]:.1f}" if isinstance(row[k], float) else row[k] for k in keys))


if __name__ == "__main__":
    main()
