"""Screenshots of every page, taken with headless Debian Chromium, for docs/ and the README.

    python -m tools.screenshots --lake lake --out docs [--width 1400]

Each page is opened, used the way a person would (a span dragged in the token viewer, an emotion clicked on the
map, a text opened in the dataset explorer, a saved query run in the SQL console), and saved as
docs/dashboard-<page>.png at the height of its content.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from dashboards.app import create_app

# The Chromium helpers live beside the browser tests, their main user; tests/ is not a package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "browser"))
from helpers import chromium, drag_select, open_page, wait_for

from dashboards.app import serve_in_thread

MAX_HEIGHT = 2600


def use_token_viewer(driver) -> None:
    from selenium.webdriver.common.by import By

    tokens = driver.find_elements(By.CSS_SELECTOR, "#tv-tokens .tok")
    drag_select(driver, tokens[min(24, len(tokens) - 2)], tokens[min(36, len(tokens) - 1)])
    wait_for(driver, "#span-ranking-table", timeout=120)


def use_map(driver) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    points = driver.find_elements(By.CSS_SELECTOR, "#map-graph .scatterlayer .point")
    ActionChains(driver).move_to_element(points[len(points) // 3]).click().perform()
    wait_for(driver, "#map-selected", timeout=60)


def use_dataset(driver) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, "#ds-table td[data-dash-column='topic']").click()
    wait_for(driver, "#ds-live, #ds-tokens .tok", timeout=60)
    live = driver.find_elements(By.ID, "ds-live")  # absent when `emolake score` already put the text in `scores`
    if live:
        live[0].click()
    wait_for(driver, "#ds-tokens .tok", timeout=120)


def use_sql(driver) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, "button.chip[title*='most similar pairs']").click()
    wait_for(driver, "#sql-row-count", text="10 rows", timeout=60)


def use_probe(driver) -> None:
    wait_for(driver, "#probe-histogram .barlayer .point", timeout=60)


PAGES = {
    "/": ("token-viewer", use_token_viewer),
    "/map": ("emotion-map", use_map),
    "/probe": ("probe", use_probe),
    "/compare": ("compare", None),
    "/quality": ("probe-quality", None),
    "/data": ("dataset", use_dataset),
    "/sql": ("sql-console", use_sql),
}


def capture(driver, path: Path, width: int) -> None:
    """Resizes the window to the page's content (capped) and saves a PNG."""
    driver.execute_script("window.scrollTo(0, 0)")
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(MAX_HEIGHT, max(800, height + 20)))
    time.sleep(1.0)  # let plotly redraw at the new size
    driver.save_screenshot(str(path))


def main(argv: list[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lake", default="lake")
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--pages", nargs="+", choices=sorted(PAGES), help="only these paths (default: every page)")
    parser.add_argument("--query", default="", help="a query string for the chosen pages (a permalink's state)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    app = create_app(args.lake)
    driver = chromium(args.width, 1000)
    written = []
    try:
        with serve_in_thread(app) as url:
            for path, (name, use) in PAGES.items():
                if args.pages and path not in args.pages:
                    continue
                driver.set_window_size(args.width, 1000)
                open_page(driver, url, path + (f"?{args.query.lstrip('?')}" if args.query else ""), timeout=180)
                if use is not None:
                    use(driver)
                target = args.out / f"dashboard-{name}.png"
                capture(driver, target, args.width)
                written.append(target)
                print(f"wrote {target}")
    finally:
        driver.quit()
    return written


if __name__ == "__main__":
    main()
