"""The Compare and Probe pages in Chromium, and permalinks: a page opened from its URL shows the same state."""

import re
from urllib.parse import parse_qs, urlparse

import pytest
from helpers import READY, wait_for
from selenium.webdriver.common.by import By

from dashboards.app import create_app, serve_in_thread

pytestmark = [pytest.mark.integration, pytest.mark.browser]


@pytest.fixture(scope="module")
def two_model_url(two_model_lake):
    with serve_in_thread(create_app(two_model_lake)) as url:
        yield url


def query_of(browser) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(browser.current_url).query).items()}


def test_compare_page_shows_both_models_and_their_agreement(browser, two_model_url):
    browser.get(two_model_url + "/compare")
    wait_for(browser, READY["/compare"], timeout=60)
    line = wait_for(browser, "#cmp-agreement-list li", timeout=30).text
    assert re.search(r"tiny-random vs tiny-random-6 over 6 emotions: cosine matrices ρ = -?[0-9.]+, valence", line)
    traces = browser.find_elements(By.CSS_SELECTOR, "#cmp-curves .legendtext")
    assert {t.text for t in traces} == {"tiny-random", "tiny-random-6"}
    cells = browser.find_elements(By.CSS_SELECTOR, "#cmp-best td[data-dash-column='model']")
    assert sorted(c.text for c in cells) == ["tiny-random", "tiny-random-6"]


def test_compare_permalink_round_trip(browser, two_model_url):
    browser.get(two_model_url + "/compare?source=reference&kind=short&metric=pc1_valence_r")
    wait_for(browser, READY["/compare"], timeout=60)
    checked = browser.find_elements(By.CSS_SELECTOR, "#cmp-kind input:checked, #cmp-metric input:checked")
    assert [c.get_attribute("value") for c in checked] == ["short", "pc1_valence_r"]
    assert "PC1 vs valence r" in browser.find_element(By.CSS_SELECTOR, "#cmp-curves .g-ytitle").text
    browser.find_element(By.CSS_SELECTOR, "#cmp-metric input[value='top1']").click()
    wait_for(browser, "#cmp-curves .g-ytitle", text="held-out top-1 (stories)", timeout=30)
    assert query_of(browser) == {"source": "reference", "kind": "short", "metric": "top1"}


def test_probe_page_shows_examples_histogram_and_nearest_probes(page, browser):
    page("/probe?kind=expression&emotion=calm")
    wait_for(browser, "#probe-selected", text="calm", timeout=30)
    stories = browser.find_elements(By.CSS_SELECTOR, ".probe-domain-story .probe-example")
    shorts = browser.find_elements(By.CSS_SELECTOR, ".probe-domain-short .probe-example")
    assert len(stories) == 5 and len(shorts) == 5
    assert browser.find_elements(By.CSS_SELECTOR, ".probe-domain-story .probe-example .tok")
    assert browser.find_elements(By.CSS_SELECTOR, "#probe-histogram .barlayer .point")
    neighbours = browser.find_elements(By.CSS_SELECTOR, "#probe-nearest-list li a")
    assert len(neighbours) == 5 and "calm" not in [n.text for n in neighbours]


def test_probe_permalink_round_trip(page, browser, server_url):
    page("/probe?kind=expression&emotion=afraid")
    wait_for(browser, "#probe-selected", text="afraid", timeout=30)
    neighbour = browser.find_element(By.CSS_SELECTOR, "#probe-nearest-list li a")
    name = neighbour.text
    neighbour.click()
    wait_for(browser, "#probe-selected", text=name, timeout=60)
    state = query_of(browser)
    assert state["emotion"] == name and state["kind"] == "expression"
    shown = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#probe-examples .example-text")]
    browser.get(browser.current_url)
    wait_for(browser, "#probe-selected", text=name, timeout=60)
    assert [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#probe-examples .example-text")] == shown


def test_text_search_lists_the_probes_a_text_tops(page, browser):
    page("/probe?kind=expression&emotion=afraid")
    first = browser.find_element(By.CSS_SELECTOR, "#probe-examples .example-text").text
    phrase = " ".join(first.split()[:3])
    browser.get(browser.current_url.split("?")[0] + "?kind=expression&emotion=afraid&q=" + phrase.replace(" ", "+"))
    hits = wait_for(browser, "#probe-hit-list", timeout=60)
    assert "afraid" in hits.text
