"""The Steering page in headless Chromium: it loads clean, steers the tiny model and writes nothing to the lake."""

import pytest
from helpers import console_errors, replace_text, wait_for
from selenium.webdriver.common.by import By

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def lake_files(root) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


def test_steering_page_compares_baseline_and_steered_text(browser, server_url, tiny_lake):
    before = lake_files(tiny_lake)
    console_errors(browser)
    browser.get(server_url + "/steering")
    wait_for(browser, "#st-emotion", timeout=90, text="afraid")
    assert browser.find_element(By.CSS_SELECTOR, ".page-header h2").text == "Steering"
    replace_text(browser.find_element(By.ID, "st-prompt"), "Tell me about the sea.")
    browser.find_element(By.ID, "st-run").click()
    verdict = wait_for(browser, "#st-verdict", timeout=180)
    assert "regime:" in verdict.text and "target_delta" in verdict.text
    judges = wait_for(browser, "#st-judges", timeout=30).text
    assert "nrc_lexicon" in judges and "tfidf_family" in judges and "own probe (the steered model)" in judges
    assert "judged success" in judges
    assert (
        browser.find_elements(By.CSS_SELECTOR, "#st-best")
        and "per kind" in browser.find_element(By.ID, "st-controls").text
    )
    assert browser.find_elements(By.CSS_SELECTOR, "#st-baseline-text, #st-steered-text")
    wait_for(browser, "#st-result .js-plotly-plot .scatterlayer", timeout=30)
    assert browser.find_elements(By.CSS_SELECTOR, ".error-box") == []
    assert console_errors(browser) == []
    assert lake_files(tiny_lake) == before, "the dashboard must never write to the lake"
