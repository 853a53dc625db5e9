"""Screenshots of the UI for the docs, taken in Chromium from a running UI (such as the one
`shipway demo --keep-running` prints): python scripts/ui_screenshots.py URL [FOLDER]."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

SHOTS = {
    "ui-runs": ("#/runs?experiment=flight-delay", "[data-testid=runs-table] tbody tr", None),
    "ui-monitoring": (
        "#/monitoring/flight-delay-live?window=1500",
        "[aria-label='drift strength per feature and window'] svg",
        None,
    ),
    "ui-loops": ("#/loops", ".timeline li", None),
    "ui-model": ("#/models/flight-delay", "[data-testid=versions] tbody tr", None),
}


def main(url: str, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    browser_path = shutil.which("chromium") or shutil.which("chromium-browser")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=browser_path, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        for name, (hash_, ready, _) in SHOTS.items():
            page.goto(url.rstrip("/") + "/" + hash_)
            page.wait_for_selector(ready, state="attached", timeout=60_000)
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(700)  # the charts' entry animation
            page.screenshot(path=str(folder / f"{name}.png"))
            print(folder / f"{name}.png")
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2] if len(sys.argv) > 2 else "docs/images"))
