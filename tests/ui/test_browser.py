"""The UI in real headless Chromium (Debian's, driven by Playwright) against a live server on
a seeded store: every page loads with no console error and no failed request, charts hold
marks, runs filter (and a bad filter shows its error at the token), an approver approves the
loop's waiting candidate and the loop moves on, a viewer sees no action and a forged request
from the page is refused, and the drifted deployment's page names the drifted feature.
Screenshots of each page go to test-output/screenshots."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.automation.flight_loop import DEPLOYMENT
from tests.ui.conftest import MODEL, SCREENSHOTS, World, chromium

PAGES = {
    "runs": ("#/runs?experiment=ui", "[data-testid=runs-table] tbody tr"),
    "run": ("#/runs/{long_run}", "text=Artifacts"),
    "compare": ("#/compare?runs={long_run},{other_run}", "[data-testid=params-diff]"),
    "models": ("#/models", f"text={MODEL}"),
    "model": (f"#/models/{MODEL}", "[data-testid=versions] tbody tr"),
    "deployments": ("#/deployments", f"text={DEPLOYMENT}"),
    "deployment": (f"#/deployments/{DEPLOYMENT}", "text=History"),
    "loops": ("#/loops", f"[data-testid=loop-{DEPLOYMENT}]"),
    "monitoring": (f"#/monitoring/{DEPLOYMENT}", "[data-testid=drifted]"),
    "datasets": ("#/datasets", "text=winter"),
    "dataset": ("#/datasets/winter", "[data-testid=profile] tbody tr"),
    "api": ("#/api", "td:text-is('/api/v1/runs/search')"),
}


class Browser:
    """One Chromium; a page per role, each signed in with its token, its troubles recorded."""

    def __init__(self, world: World) -> None:
        from playwright.sync_api import sync_playwright

        self.world = world
        self.playwright = sync_playwright().start()
        self.chromium = self.playwright.chromium.launch(
            executable_path=chromium(), args=["--no-sandbox"]
        )
        self.troubles: list[str] = []

    def page(self, role: str) -> Any:
        context = self.chromium.new_context(
            viewport={"width": 1366, "height": 860}, timezone_id="Europe/Paris"
        )
        page = context.new_page()
        page.on(
            "console",
            lambda m: (
                self.troubles.append(f"console {m.type}: {m.text}")
                if m.type in ("error", "warning")
                else None
            ),
        )
        page.on("pageerror", lambda e: self.troubles.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: self.troubles.append(f"request failed: {r.url}"))
        page.on(
            "response",
            lambda r: self.troubles.append(f"{r.status} {r.url}") if r.status >= 400 else None,
        )
        page.goto(self.world.server.url + "/")
        page.fill("#token", self.world.tokens[role])
        page.click("button[type=submit]")
        page.wait_for_selector(f".who >> text=the-{role} · {role}", timeout=10_000)
        return page

    def close(self) -> None:
        self.chromium.close()
        self.playwright.stop()


@pytest.fixture(scope="module")
def browser(world: World) -> Iterator[Browser]:
    opened = Browser(world)
    yield opened
    opened.close()


def _go(page: Any, world: World, hash_: str) -> None:
    page.goto(world.server.url + "/" + hash_)


def test_every_page_loads_with_no_error_and_charts_hold_marks(
    world: World, browser: Browser
) -> None:
    from shipway.session import current

    other = next(
        r
        for r in current().tracking.search_runs("ui", output="list", max_results=5)
        if r.run_id != world.long_run
    )
    page = browser.page("admin")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, (hash_, ready) in PAGES.items():
        _go(page, world, hash_.format(long_run=world.long_run, other_run=other.run_id))
        page.wait_for_selector(ready)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
        assert browser.troubles == [], name
    _go(page, world, f"#/runs/{world.long_run}")
    page.wait_for_selector("[aria-label='train_loss over steps'] svg path", state="attached")
    marks = page.locator("[aria-label='train_loss over steps'] svg path").count()
    assert marks > 5  # axes, the line and its min-max band
    assert (
        page.get_by_text("(5,000 steps)").count() == 1
    )  # drawn from 320 buckets, not 5,000 points
    page.click("text=report.html")
    frame = page.frame_locator("iframe.preview")
    assert frame.locator("h1").inner_text() == "report"
    assert page.evaluate("window.hacked") is None  # the logged page's script never ran
    blocked = [t for t in browser.troubles if "Blocked script execution" in t]
    assert len(blocked) == 1 and len(browser.troubles) == 1, browser.troubles  # and said so
    browser.troubles.clear()
    _go(page, world, "#/loops")  # the loop's training: its pipeline run, the steps as a graph
    page.click("text=the pipeline run of v2")
    graph = page.locator('[aria-label="the pipeline\'s steps as a graph"] svg')
    graph.wait_for(state="attached")
    page.get_by_text("Pipeline steps").wait_for()
    named = graph.locator("text").evaluate_all("texts => texts.map(t => t.textContent)")
    assert {"traffic", "train"} <= set(named)  # each step named on the graph
    _go(page, world, f"#/monitoring/{DEPLOYMENT}")
    page.wait_for_selector(
        "[aria-label='drift strength per feature and window'] svg path", state="attached"
    )
    assert (
        page.locator("[aria-label='drift strength per feature and window'] svg path").count() > 10
    )
    assert browser.troubles == []


def test_runs_filter_sort_page_and_a_bad_filter_points_at_its_token(
    world: World, browser: Browser
) -> None:
    page = browser.page("viewer")
    _go(page, world, "#/runs?experiment=ui")
    rows = page.locator("[data-testid=runs-table] tbody tr")
    rows.first.wait_for()
    assert rows.count() == 50 and page.get_by_text("runs 1–50").count() == 1
    page.click("text=Next")
    page.wait_for_selector("text=runs 51–61")
    assert rows.count() == 11
    page.fill("#filter", "metrics.auc >= 0.75 and params.depth = '0'")
    page.click("button:text('Filter')")
    page.wait_for_selector("text=runs 1–2")
    names = sorted(rows.locator("td:nth-child(2) a").all_inner_texts())
    assert names == ["trial-55", "trial-50"][::-1]
    page.click("button[aria-label='sort by metrics.auc']")  # sorts by the metric, on the server
    page.wait_for_selector("th[aria-sort=descending] button[aria-label='sort by metrics.auc']")
    assert rows.locator("td:nth-child(2) a").all_inner_texts() == ["trial-55", "trial-50"]
    page.fill("#filter", "metrics.auc >> 0.5")
    page.click("button:text('Filter')")
    error = page.locator("[data-testid=filter-error]")
    error.wait_for()
    assert "position 13" in error.inner_text()
    assert error.locator("pre").inner_text().splitlines()[1] == " " * 13 + "^"
    assert [t for t in browser.troubles if "400" not in t] == []  # the bad filter's own answer
    browser.troubles.clear()


def test_an_approver_approves_the_waiting_candidate_and_the_loop_moves_on(
    world: World, browser: Browser
) -> None:
    from shipway.automation.controller import Controller
    from shipway.automation.loops import loops_from_settings
    from shipway.session import current

    page = browser.page("approver")
    page.on("dialog", lambda dialog: dialog.accept("checked the gate's evidence"))
    _go(page, world, "#/loops")
    card = page.locator(f"[data-testid=loop-{DEPLOYMENT}]")
    card.get_by_text("waiting for approval").wait_for()
    card.locator("button:text('Approve v2')").click()
    page.wait_for_load_state("networkidle")
    approvals = current().registry.approvals(MODEL, 2)
    assert [(a.user, a.comment) for a in approvals] == [
        ("the-approver", "checked the gate's evidence")
    ]
    state = Controller(current(), loops_from_settings(world.settings)).loop_round()[DEPLOYMENT]
    assert state.state == "canary"
    page.reload()
    card.locator(".pill.canary").wait_for()
    assert browser.troubles == []


def test_a_viewer_sees_no_action_and_a_forged_request_is_refused(
    world: World, browser: Browser
) -> None:
    page = browser.page("viewer")
    for hash_, ready in [PAGES["model"], PAGES["deployment"], PAGES["monitoring"]]:
        _go(page, world, hash_)
        page.wait_for_selector(ready)
        page.wait_for_load_state("networkidle")
        for label in (
            "Approve",
            "To production",
            "Archive",
            "Roll back",
            "Promote",
            "Acknowledge",
            "Resolve",
        ):
            assert page.locator(f"button:has-text('{label}')").count() == 0, (hash_, label)
    forged = page.evaluate(
        """async () => {
            const session = await (await fetch('/ui/session')).json();
            const answer = await fetch('/api/v1/deployments/flights-live/rollback', {
                method: 'POST', headers: {'content-type': 'application/json', 'x-shipway-csrf': session.csrf},
                body: JSON.stringify({reason: 'forged'})});
            const bare = await fetch('/api/v1/deployments/flights-live/rollback', {
                method: 'POST', headers: {'content-type': 'application/json'}, body: '{}'});
            return [answer.status, (await answer.json()).error.message, bare.status];
        }"""
    )
    assert forged[0] == 403 and "needs the approver role" in forged[1]
    assert forged[2] == 403  # without the CSRF token the cookie is not enough
    browser.troubles.clear()


def test_the_drifted_deployment_shows_its_drifted_feature_and_fairness_by_group(
    world: World, browser: Browser
) -> None:
    page = browser.page("viewer")
    _go(page, world, f"#/monitoring/{DEPLOYMENT}")
    drifted = page.locator("[data-testid=drifted]")
    drifted.wait_for()
    assert "month" in drifted.inner_text()  # winter reference, summer traffic
    page.select_option("select[aria-label='sensitive column']", "origin")  # fairness by airport
    groups = page.locator("[data-testid=fairness] tbody tr td:first-child")
    groups.first.wait_for()
    assert groups.all_inner_texts() == ["EWR", "JFK", "LGA"]
    drifted.wait_for()
    page.select_option("select[aria-label=feature]", "month")
    page.wait_for_selector(
        "[aria-label='distribution of month: reference and live'] svg path", state="attached"
    )
    assert browser.troubles == []
