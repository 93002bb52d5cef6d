"""Headless Debian Chromium and an in-process Dash server, for the browser tests and tools/screenshots.py.

The in-process server itself is `dashboards.app.serve_in_thread`.

Chromium is the system one (/usr/bin/chromium with /usr/bin/chromedriver, from `make browsers`); nothing is
downloaded. Background networking is off because the machine has no network, and retries would flood the log.
"""

from __future__ import annotations

import os
import re
import shutil

from etl.errors import EmolakeError

CHROMIUM = os.environ.get("EMOLAKE_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("EMOLAKE_CHROMEDRIVER", "/usr/bin/chromedriver")
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--no-first-run",
    "--hide-scrollbars",
)


def chromium(width: int = 1400, height: int = 1000):
    """A selenium driver for headless Chromium that records the browser console."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not (os.path.exists(path) or shutil.which(path)):
            raise EmolakeError(f"{path} is missing: run `make browsers` (Debian packages {package})")
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager look for a driver online
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--window-size={width},{height}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


READY = {
    "/": "#tv-tokens .tok",
    "/map": "#map-graph .scatterlayer .point",
    "/probe": "#probe-examples .probe-example",
    "/compare": "#cmp-curves .scatterlayer .trace",
    "/quality": "#pq-cosines .heatmaplayer",
    "/data": "#ds-table .dash-spreadsheet td",
    "/sql": "#sql-row-count",
}
"""CSS selector per page that appears once the page has drawn its main content from the lake."""


def wait_for(driver, selector: str, timeout: float = 30.0, text: str | None = None):
    """Waits until an element matching `selector` (and containing `text`, if given) is on the page; returns it."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, timeout)
    if text is None:
        return wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, selector)))
    wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, selector), text))
    return driver.find_element(By.CSS_SELECTOR, selector)


def wait_for_match(driver, selector: str, pattern: str, timeout: float = 60.0) -> re.Match:
    """Waits until the text of the element matching `selector` matches `pattern`; returns the match.

    The element is looked up afresh on every poll: Dash replaces it when a callback answers, so a reference held
    across polls goes stale.
    """
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def matched(d):
        try:
            return re.search(pattern, d.find_element(By.CSS_SELECTOR, selector).text)
        except (NoSuchElementException, StaleElementReferenceException):
            return None

    return WebDriverWait(driver, timeout).until(matched)


def open_page(driver, base_url: str, path: str, timeout: float = 60.0):
    driver.get(base_url + path)
    return wait_for(driver, READY[path.partition("?")[0]], timeout)


def replace_text(element, text: str) -> None:
    """Replaces a text field's content the way a person does (so React sees the change)."""
    from selenium.webdriver.common.keys import Keys

    element.click()
    element.send_keys(Keys.CONTROL, "a")
    element.send_keys(Keys.DELETE)
    element.send_keys(text)


def drag_select(driver, first, last) -> None:
    """Presses the mouse on one element and releases it on another, selecting the text between (and of) them."""
    from selenium.webdriver.common.action_chains import ActionChains

    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", first)
    actions = ActionChains(driver)
    # Element centres, not edges: a token that wraps onto the next line has a box wider than what is drawn.
    actions.move_to_element(first).click_and_hold().move_to_element(last).release().perform()


def console_errors(driver) -> list[str]:
    """Messages the page logged to the browser console at level SEVERE since the last call."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
