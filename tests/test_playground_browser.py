"""The playground in a real browser: Debian's Chromium, driven by Playwright for Python.

Needs ``/usr/bin/chromium`` (``apt-get install chromium``; ``.ci/run`` installs it) and the
``playwright`` package (the ``test`` extra). Playwright's own browser downloads are not used.
Without either, these tests fail with a message saying what to install: they are never skipped.
Screenshots are saved in ``tests/artifacts/`` (git-ignored); the path is printed.
"""

from __future__ import annotations

import json
import os
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from chainrule import Network
from chainrule.playground import launch

CHROMIUM = os.environ.get("CHAINRULE_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"the browser tests need Chromium at {CHROMIUM}: apt-get install -y chromium "
                    "(.ci/run installs it), or set CHAINRULE_CHROMIUM")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the browser tests need Playwright: pip install -e '.[test]'")
    args = ARGS + (["--no-sandbox"] if os.geteuid() == 0 else [])
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.set_default_timeout(60_000)  # patience for a loaded CI machine; the checks stay exact
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text
            else None)  # the page must work under its own strict policy
    yield page
    page.close()
    assert errors == [], f"the page's script failed: {errors}"


def screenshot(page, name: str, **kwargs) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), **kwargs)
    print(f"screenshot: {path}")
    return path


def cells(page, quantity: str, layer: int) -> np.ndarray:
    """The numbers of one quantity of the worked pass as the page shows them (full precision in
    data-value), as a matrix."""
    entries = page.eval_on_selector_all(
        f'#worked-body table.nums[data-q="{quantity}"][data-l="{layer}"] td',
        "tds => tds.map(td => [+td.dataset.i, +td.dataset.j, +td.dataset.value, td.textContent])")
    assert entries, f"no {quantity}_{layer} on the page"
    rows, cols = max(e[0] for e in entries) + 1, max(e[1] for e in entries) + 1
    values = np.full((rows, cols), np.nan)
    for i, j, value, text in entries:
        values[i, j] = value
        assert float(text) == pytest.approx(value, rel=1e-5, abs=1e-300)  # shown to 6 digits
    return values


def test_xor_learns_and_the_worked_numbers_are_net_gradients(page):
    server = launch("xor")
    server.start()
    try:
        page.goto(server.url)
        page.wait_for_selector("#truth tbody tr:nth-child(4)")
        assert page.text_content("#status") == "ready"
        screenshot(page, "playground-xor-start.png")
        page.click("#play")
        # the flag and the cells read in one go: the best copy shown may change between reads
        rights = page.wait_for_function(
            "() => { const t = document.querySelector('#truth');"
            "        return t.dataset.allRight === 'true' &&"
            "               [...t.querySelectorAll('td.right')].map(c => c.textContent); }",
            timeout=60_000).json_value()
        assert rights == ["yes"] * 4
        page.wait_for_function("() => document.querySelector('#status').textContent "
                               "=== 'finished'")
        losses = page.evaluate("window.playground.state.loss.y.map(v => v[0])")
        assert len(losses) > 5 and losses[-1] < 0.2 * losses[0]
        assert "Targets met" in page.inner_text("#notice")
        screenshot(page, "playground-xor-learned.png")

        page.click("#sample-button")
        page.wait_for_selector("#worked-check")
        index = int(page.get_attribute("#worked-body", "data-index"))
        used = page.evaluate("window.playground.worked")
        net = Network(used["sizes"])  # sigmoid units, mse: the question's network
        for layer, (W, b) in zip(net.layers, used["weights"], strict=True):
            layer.weights[...], layer.bias[...] = W, b
        x = cells(page, "A0", 0)
        target = cells(page, "Y", len(net.layers))
        np.testing.assert_array_equal(x, np.array([[0, 0], [0, 1], [1, 0], [1, 1]])[[index]])
        gradients = net.gradients(x, target[:, 0])
        net.predict(x)
        for layer, (dW, db) in enumerate(gradients, start=1):
            np.testing.assert_allclose(cells(page, "dW", layer), dW, rtol=1e-12, atol=1e-300)
            np.testing.assert_allclose(cells(page, "db", layer)[0], db, rtol=1e-12, atol=1e-300)
            np.testing.assert_allclose(cells(page, "Z", layer)[0], net.layers[layer - 1].Z[0],
                                       rtol=1e-12)
            np.testing.assert_allclose(cells(page, "A", layer)[0], net.layers[layer - 1].A[0],
                                       rtol=1e-12)
        assert "Z_1 = A_0 W_1 + b_1" in page.inner_text("#worked-body")
        assert "dZ_1 = (dZ_2 W_2^T) * f'_1(Z_1)" in page.inner_text("#worked-body")
        screenshot(page, "playground-xor-worked.png")
        page.click("#worked-next")  # the next sample
        page.wait_for_function(f"() => document.querySelector('#worked-body').dataset.index === "
                               f"'{(index + 1) % 4}'")
    finally:
        server.stop()


class _Foreign(BaseHTTPRequestHandler):
    """Another web page on this machine (another origin), which tries to drive the playground."""

    target = ""

    def do_GET(self):
        body = (f"<!doctype html><script>fetch({json.dumps(self.target)}, {{method: 'POST', "
                "mode: 'no-cors', headers: {'Content-Type': 'text/plain'}, "
                "body: JSON.stringify({action: 'play'})}).then(() => document.title = 'sent', "
                "() => document.title = 'blocked');</script>").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_requests_without_the_token_or_from_another_origin_are_refused(page):
    server = launch("xor")
    server.start()
    base = f"http://127.0.0.1:{server.guard.port}"
    try:
        response = page.goto(base + "/")  # no token
        assert response.status == 403 and "token" in page.inner_text("body")
        response = page.request.get(base + "/api/state")
        assert response.status == 403
        response = page.request.post(f"{base}/api/control?token={server.guard.token}",
                                     data=json.dumps({"action": "play"}),
                                     headers={"Content-Type": "application/json",
                                              "Origin": "http://evil.example"})
        assert response.status == 403 and "not allowed" in response.text()
        request = urllib.request.Request(f"{base}/api/state?token={server.guard.token}",
                                         headers={"Host": "rebound.example"})  # DNS rebinding
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)
        assert refused.value.code == 403

        # a page of another origin, even one that knows the token, cannot press play (CSRF)
        _Foreign.target = f"{base}/api/control?token={server.guard.token}"
        foreign = ThreadingHTTPServer(("127.0.0.1", 0), _Foreign)
        threading.Thread(target=foreign.serve_forever, args=(0.1,), daemon=True).start()
        try:
            page.goto(f"http://127.0.0.1:{foreign.server_address[1]}/")
            page.wait_for_function("() => document.title === 'sent' || "
                                   "document.title === 'blocked'")
        finally:
            foreign.shutdown()
            foreign.server_close()
        assert any("not allowed" in reason for _, reason in server.refused)
        state = json.loads(page.request.get(f"{base}/api/state?token={server.guard.token}")
                           .text())
        assert state["status"] == "ready" and state["epoch"] == 0  # nothing was started
    finally:
        server.stop()


def test_a_large_network_stays_responsive(page):
    """2-64-64-1 on 1000 points: the page keeps drawing, and pause answers at once."""
    server = launch("spirals", samples=1000, layers="64,64")
    server.start()
    try:
        page.goto(server.url)
        page.wait_for_selector("#map-view:not([hidden])")
        page.click("#play")
        page.wait_for_function("() => window.playground.state.epoch >= 20", timeout=60_000)
        page.wait_for_timeout(1000)
        updates = page.evaluate("window.playground.stats.times.length") / 2  # in the last 2 s
        assert 0.5 <= updates <= 31  # still drawing (on a loaded 2-core machine), never above 30/s
        page.click("#play")  # pause
        page.wait_for_function("() => document.querySelector('#status').textContent "
                               "=== 'paused'", timeout=3_000)
        epoch = page.evaluate("window.playground.state.epoch")
        page.wait_for_timeout(500)
        assert page.evaluate("window.playground.state.epoch") == epoch
        page.fill("input[name=layers]", "64,x")
        page.press("input[name=layers]", "Enter")
        page.wait_for_selector('[data-error="layers"]:not(:empty)')
        assert "whole numbers" in page.inner_text('[data-error="layers"]')
        screenshot(page, "playground-spirals-64-64.png")
    finally:
        server.stop()


def test_on_a_phone_nothing_is_wider_than_the_screen(browser):
    """375 px wide: one column of cards, no sideways scrolling (it used to be 411-453 px)."""
    server = launch("xor")
    server.start()
    page = browser.new_page(viewport={"width": 375, "height": 667})
    try:
        page.set_default_timeout(60_000)
        page.goto(server.url)
        page.wait_for_function("() => window.playground.state.epoch !== undefined")
        page.wait_for_timeout(500)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"the page is {width} px wide on a 375 px screen"
        boxes = page.eval_on_selector_all(".card", "cards => cards.map(c => c.offsetWidth)")
        assert min(boxes) > 300  # each card takes the screen's width, not a 40 px sliver
        screenshot(page, "playground-phone.png", full_page=True)
    finally:
        page.close()
        server.stop()
