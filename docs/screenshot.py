"""Take the README's screenshot of the playground: XOR learned, a truth-table row hovered.

    python docs/screenshot.py            # writes docs/playground.png

Needs Debian's Chromium (/usr/bin/chromium) and Playwright, as the browser tests do.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

from chainrule.playground import launch

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
OUT = Path(__file__).parent / "playground.png"


def main() -> None:
    server = launch("xor")
    server.start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                 headless=True, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 930})
            page.goto(server.url)
            page.wait_for_selector("#truth tbody tr:nth-child(4)")
            page.click("#play")
            page.wait_for_function("() => document.querySelector('#status').textContent "
                                   "=== 'finished'", timeout=20_000)
            page.wait_for_function("() => window.playground.state.findings.before.status "
                                   "=== 'done'", timeout=20_000)
            page.hover("#truth tbody tr:nth-child(2)")
            page.wait_for_timeout(300)
            page.screenshot(path=str(OUT))
            browser.close()
    finally:
        server.stop()
    image = Image.open(OUT).convert("RGB")
    image.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(OUT, optimize=True)
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} kB)")  # noqa: T201 (a script)


if __name__ == "__main__":
    main()
