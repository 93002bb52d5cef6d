"""The report opens in a real (headless) Chromium: every figure loads and every section is there."""

import pytest

from etl.lake import Lake

pytestmark = [pytest.mark.integration, pytest.mark.browser]

SECTIONS = ("Summary", "Layer curve", "Emotion map and clusters", "Similarity matrix", "Dose curve")


def test_report_renders_with_every_figure_loaded(tiny_lake, browser):
    page = Lake(tiny_lake).report_dir("tiny-random") / "report.html"
    browser.get(page.resolve().as_uri())
    assert browser.title == "emolake report: tiny-random"
    headings = [h.text for h in browser.find_elements("tag name", "h2")]
    assert all(section in headings for section in SECTIONS)
    images = browser.find_elements("tag name", "img")
    assert len(images) >= 5
    sizes = [browser.execute_script("return [arguments[0].complete, arguments[0].naturalWidth]", img) for img in images]
    assert all(complete and width > 100 for complete, width in sizes), sizes
