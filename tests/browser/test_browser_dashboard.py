"""The dashboards in a real browser: every page loads clean, the token viewer and the SQL console work end to end."""

import re
from urllib.parse import urlparse

import pytest
from helpers import READY, drag_select, replace_text, wait_for, wait_for_match
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from etl.lake import Lake
from etl.model.load import load
from etl.probes.stored import read_layers
from etl.probes.token_scores import score_texts

pytestmark = [pytest.mark.integration, pytest.mark.browser]

PASTED = "The rope slipped. I grabbed the rail, shaking, and the whole crowd gasped."


@pytest.mark.parametrize("path", list(READY))
def test_every_page_loads_without_console_errors(page, browser, path):
    page(path)
    heading = browser.find_element(By.CSS_SELECTOR, ".page-header h2").text
    assert heading, f"{path} has no heading"
    assert browser.find_elements(By.CSS_SELECTOR, ".error-box") == []


def test_navigation_reaches_every_page(page, browser):
    page("/")
    for path, selector in READY.items():
        link = browser.find_element(By.CSS_SELECTOR, f'.navbar a[href="{path}"]')
        link.click()
        wait_for(browser, selector, timeout=60)
        assert urlparse(browser.current_url).path == path  # the query string after it is the page's state


def test_token_viewer_renders_a_heatmap_for_pasted_text(page, browser, tiny_lake):
    page("/")
    replace_text(browser.find_element(By.ID, "tv-text"), PASTED)
    browser.find_element(By.ID, "tv-score").click()
    layer = int(wait_for_match(browser, "#tv-summary", r"layer (\d+)").group(1))
    probes = read_layers(Lake(tiny_lake), "tiny-random", "reference", ["expression"], [layer])
    (expected,) = score_texts(load("tiny-random"), [PASTED], probes)
    wait_for(browser, "#tv-summary", text=f"{len(expected.tokens)} tokens scored")
    tokens = browser.find_elements(By.CSS_SELECTOR, "#tv-tokens .tok")
    assert len(tokens) == len(expected.tokens)
    assert browser.find_element(By.ID, "tv-tokens").text.replace("\n", " ").strip() == PASTED
    assert browser.find_elements(By.CSS_SELECTOR, "#tv-heatmap .heatmaplayer image, #tv-heatmap .heatmaplayer rect")
    rows = browser.find_elements(By.CSS_SELECTOR, "#tv-heatmap .yaxislayer-above .ytick")
    assert len(rows) == len(expected.emotions[("expression", layer)])
    assert "rank" in tokens[3].get_attribute("title")


def test_drag_selecting_a_span_ranks_the_emotions(page, browser, tiny_lake):
    page("/")
    layer = int(wait_for_match(browser, "#tv-summary", r"layer (\d+)").group(1))
    tokens = browser.find_elements(By.CSS_SELECTOR, "#tv-tokens .tok")
    drag_select(browser, tokens[4], tokens[12])
    table = wait_for(browser, "#span-ranking-table", timeout=60)
    caption = browser.find_element(By.CSS_SELECTOR, ".span-caption").text
    lo, hi = (int(v) for v in re.match(r"Tokens (\d+)–(\d+)", caption).groups())
    assert lo == 4 and hi in (11, 12), caption  # the mouse is released mid-token: the caret lands on either side
    text = browser.find_element(By.ID, "tv-text").get_attribute("value")
    probes = read_layers(Lake(tiny_lake), "tiny-random", "reference", ["expression"], [layer])
    (scored,) = score_texts(load("tiny-random"), [text], probes)
    means = scored.cosines(("expression", layer))[lo : hi + 1].mean(axis=0)  # the viewer shows cosines, as the CLI
    emotions = scored.emotions[("expression", layer)]
    expected = sorted(zip(means, emotions, strict=True), reverse=True)
    ranked = [row.find_elements(By.TAG_NAME, "td") for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")]
    assert [cells[1].text for cells in ranked] == [e for _, e in expected]
    assert [float(cells[2].text) for cells in ranked] == pytest.approx([m for m, _ in expected], abs=1e-3)


def test_choosing_an_emotion_group_changes_the_heatmap_rows(page, browser):
    page("/")
    wait_for(browser, "#tv-heatmap .ytick")
    browser.find_element(By.ID, "tv-group").click()
    wait_for(browser, "[role='option']")
    options = browser.find_elements(By.CSS_SELECTOR, "[role='option']")
    next(o for o in options if o.text.startswith("group: fear")).click()
    wait_for(browser, "#tv-heatmap .ytick", text="afraid")
    labels = [t.text for t in browser.find_elements(By.CSS_SELECTOR, "#tv-heatmap .yaxislayer-above .ytick")]
    assert labels == ["afraid"]


def run_sql(browser, sql: str) -> None:
    replace_text(browser.find_element(By.ID, "sql-text"), sql)
    browser.find_element(By.ID, "sql-run").click()


def test_sql_console_answers_a_query(page, browser):
    page("/sql")
    run_sql(browser, "select emotion, count(*) as n from stories group by emotion order by emotion")
    wait_for(browser, "#sql-row-count", text="6 rows")
    cells = browser.find_elements(By.CSS_SELECTOR, "#sql-table td[data-dash-column='emotion']")
    assert [c.text for c in cells] == ["afraid", "angry", "calm", "happy", "proud", "sad"]


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("create table stolen as select * from texts", "only read-only SELECT"),
        ("copy (select * from texts) to '/tmp/emolake-leak.csv'", "only read-only SELECT"),
        ("select * from read_csv('/etc/passwd')", "refused"),
    ],
)
def test_sql_console_refuses_writes_and_file_reads(page, browser, sql, message):
    page("/sql")
    run_sql(browser, sql)
    error = wait_for(browser, "#sql-status .error-box", timeout=30)
    assert message in error.text
    assert browser.find_elements(By.ID, "sql-table") == []


def test_saved_query_is_one_click_away(page, browser):
    page("/sql")
    browser.find_element(By.CSS_SELECTOR, "button.chip[title*='how many texts']").click()
    wait_for(browser, "#sql-text", text="from texts")
    wait_for(browser, "#sql-row-count", text="rows")
    assert browser.find_elements(By.CSS_SELECTOR, "#sql-table td[data-dash-column='n_texts']")


def test_clicking_an_emotion_on_the_map_shows_its_neighbours(page, browser):
    point = page("/map")
    ActionChains(browser).move_to_element(point).click().perform()
    selected = wait_for(browser, "#map-selected", timeout=30)
    neighbours = browser.find_elements(By.CSS_SELECTOR, "#map-neighbours li")
    assert selected.text in {"afraid", "angry", "calm", "happy", "proud", "sad"}
    assert len(neighbours) == 5
    assert selected.text not in [n.text.split()[0] for n in neighbours]


def test_dataset_row_opens_the_text_and_scores_it_live(page, browser):
    page("/data")
    browser.find_element(By.CSS_SELECTOR, "#ds-table td[data-dash-column='topic']").click()
    button = wait_for(browser, "#ds-live", timeout=30)
    button.click()
    wait_for(browser, "#ds-tokens .tok", timeout=60)
    assert "scored live" in browser.find_element(By.ID, "ds-detail").text
