"""The /status/ pages in headless Chromium against the real API, Heat, Chef server and test nodes.

A deployment of tests/integration/content/hot_templates/sco-test-three.yaml
(control in order 1; standby and compute in order 2, the stand-in converge
slowed down) is watched in the page as it runs: the nodes are grouped by
order, each box's class, text label and colour follow its phase, the page
updates itself without a reload, and a node whose host key does not match
fails red with its reason.  The same page shows the deployment's latest failover
certification (its status and the API's text table) as it changes.
"""
from __future__ import annotations

import os
import shutil
import uuid

import pytest

from deployer.bootstrap.contract import PHASES
from deployer.certify import service as certifications
from deployer.db.session import make_engine, make_session_factory
from deployer.runs import liveness
from deployer.runs import service as runs_service
from tests.fixtures.waiting import wait_until
from tests.integration.certification_helpers import deployment_row, outcome
from tests.integration.deployment_helpers import delete_deployment, node_parameters

pytestmark = [pytest.mark.integration]

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--window-size=1400,900")
PAGE_TIMEOUT = 240
# status.css colours (computed style is rgb()): the page must not rely on them alone,
# but they must differ per outcome.
BACKGROUNDS = {"succeeded": "rgb(21, 128, 61)", "failed": "rgb(185, 28, 28)",
               "queued": "rgb(229, 231, 235)", "converge": "rgb(3, 105, 161)"}
WRONG_FINGERPRINT = "SHA256:" + "A" * 43


@pytest.fixture
def browser(tmp_path):
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        pytest.skip("chromium and chromium-driver are not installed")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(tmp_path / "chromium-profile", ignore_errors=True)


def _nodes(driver) -> dict[str, dict]:
    """Each node box as the page shows it, read in one script call (no stale elements)."""
    return driver.execute_script("""
        const out = {};
        for (const box of document.querySelectorAll('#flow .node')) {
          out[box.dataset.resource] = {
            label: box.dataset.label, classes: box.className,
            step: box.closest('.step-group').dataset.step,
            text: box.querySelector('.node-label').textContent,
            name: box.querySelector('.node-name').textContent,
            address: box.querySelector('.node-address').textContent,
            elapsed: box.querySelector('.node-elapsed').textContent,
            reason: (box.querySelector('.node-reason') || {}).textContent || '',
            background: getComputedStyle(box).backgroundColor};
        }
        return out;""")


def _wait_for(driver, condition, what: str, timeout: float = PAGE_TIMEOUT):
    try:
        return wait_until(lambda: _nodes(driver), timeout, f"page shows {what}",
                          until=condition, interval=0.3)
    except AssertionError as never:
        raise AssertionError(f"{never}; state: {driver.find_element('id', 'state').text}; "
                             f"error: {driver.find_element('id', 'error').text}") from None


def _assert_boxes_consistent(nodes: dict[str, dict]) -> None:
    """Class, text label and colour all say the same phase."""
    for resource, node in nodes.items():
        assert f"label-{node['label']}" in node["classes"].split(), (resource, node)
        assert node["text"].startswith(node["label"]), (resource, node)
        if node["label"] in BACKGROUNDS:
            assert node["background"] == BACKGROUNDS[node["label"]], (resource, node)


def test_deployment_picture_updates_live_and_shows_the_failed_node(
        undercloud, test_nodes_factory, browser, tmp_path):
    api = undercloud.api()
    nodes = test_nodes_factory(3).nodes()
    fingerprints = [node.host_key_fingerprint for node in nodes]
    fingerprints[2] = WRONG_FINGERPRINT          # compute: host key mismatch at connect
    name = f"page-{uuid.uuid4().hex[:6]}"
    deployment = api.create_deployment({
        "name": name, "template": "sco-test-three",
        "parameters": node_parameters(nodes, converge_seconds=6, fingerprints=fingerprints),
        "skip_preflight": True})    # the failing node is the point
    try:
        browser.get(f"{undercloud.cfg.api.url}/status/{deployment['id']}")
        browser.execute_script("window.__loadedOnce = true")

        # Order 1 runs alone first: control in a phase, the others queued.
        running = _wait_for(browser, lambda n: n.get("control", {}).get("label") in PHASES,
                            "control running")
        assert {r: n["step"] for r, n in running.items()} == {
            "control": "1", "standby": "2", "compute": "2"}
        assert running["standby"]["label"] == "queued" and running["compute"]["label"] == "queued"
        assert running["control"]["address"] == nodes[0].ip
        _assert_boxes_consistent(running)
        browser.save_screenshot(str(tmp_path / "status-order1-running.png"))
        groups = browser.execute_script(
            "return [...document.querySelectorAll('#flow > *')].map(e => e.className)")
        assert groups == ["step-group", "arrow", "step-group"]

        # The same page (no reload) then shows control succeeded, and order 2 at work.
        later = _wait_for(browser, lambda n: n["control"]["label"] == "succeeded"
                          and n["standby"]["label"] in PHASES, "control succeeded, standby running")
        assert browser.execute_script("return window.__loadedOnce === true")
        _assert_boxes_consistent(later)
        browser.save_screenshot(str(tmp_path / "status-running.png"))

        final = _wait_for(browser, lambda n: n["compute"]["label"] == "failed"
                          and n["compute"]["reason"]
                          and browser.find_element("id", "state").text == "failed",
                          "compute failed and the deployment failed")
        assert browser.execute_script("return window.__loadedOnce === true")
        _assert_boxes_consistent(final)
        assert final["compute"]["background"] == BACKGROUNDS["failed"]
        assert "host key" in final["compute"]["reason"].lower(), final["compute"]
        reason = browser.find_element("id", "reason")
        assert reason.is_displayed() and reason.text.startswith("Failed:"), reason.text
        assert "FAILED" in browser.find_element("id", "stack-status").text
        assert "not-shown-anywhere" not in browser.page_source
        browser.save_screenshot(str(tmp_path / "status-failed.png"))

        # The list page links to it with its state as text.
        browser.get(f"{undercloud.cfg.api.url}/status/")
        wait_until(lambda: browser.find_elements("css selector", f"tr[data-id='{deployment['id']}']"),
                   30, "the list page shows the deployment", interval=0.3)
        row = browser.find_element("css selector", f"tr[data-id='{deployment['id']}']")
        assert name in row.text and "failed" in row.text
        assert row.find_element("tag name", "a").get_attribute("href").endswith(
            f"/status/{deployment['id']}")
    finally:
        delete_deployment(api, deployment["id"])


def _certification(driver) -> dict:
    return driver.execute_script("""
        const status = document.getElementById('certification-status');
        const reason = document.getElementById('certification-reason');
        const table = document.getElementById('certification-table');
        return {status: status.textContent, background: getComputedStyle(status).backgroundColor,
                reason: reason.hidden ? '' : reason.textContent,
                table: table.hidden ? '' : table.textContent};""")


def test_deployment_page_shows_the_latest_certification_as_it_runs(deployer_api, browser):
    """No Heat needed: the deployment row is written into the API's database, and the test
    records what a worker would (the real engine needs a converged HA cloud)."""
    cfg, client = deployer_api.cfg, deployer_api.client
    deployer_api.processes["worker"].stop()
    deployment_id, _ = deployment_row(cfg)
    sessions = make_session_factory(make_engine(cfg.database_url))

    def shows(what: str, condition):
        return wait_until(lambda: _certification(browser), 20, f"the page shows {what}",
                          until=condition, interval=0.3)

    browser.get(f"{cfg.api.url}/status/{deployment_id}")
    browser.execute_script("window.__loadedOnce = true")
    shows("no certification", lambda c: c["status"] == "not certified" and not c["table"])

    queued = client.certify_deployment(deployment_id, confirm=True)
    with sessions.begin() as session:
        runs_service.register_worker(session, "page-test", liveness.this_process())
        certifications.claim_next(session, "page-test")
        certifications.append_row(session, queued["id"], "page-test",
                                  outcome("crash-api-vip-holder", "ctl1").to_dict())
    running = shows("the running certification's first row",
                    lambda c: c["status"] == "running" and "crash-api-vip-holder" in c["table"])
    assert running["background"] == "rgb(125, 211, 252)"        # status.css --register

    with sessions.begin() as session:
        certifications.append_row(session, queued["id"], "page-test", outcome(
            "kill-galera-writer", "ctl2", lost={"db_writes": 2, "messages": 0}).to_dict())
        certifications.finish(session, queued["id"], "page-test")
    final = shows("the failed certification", lambda c: c["status"] == "failed")
    assert final["table"] == client.get_certification(deployment_id, queued["id"])["table"]
    assert final["reason"] == ("1 of 2 faults failed: kill-galera-writer on ctl2: "
                               "2 db_writes lost")
    assert final["background"] == BACKGROUNDS["failed"]
    assert browser.execute_script("return window.__loadedOnce === true")
