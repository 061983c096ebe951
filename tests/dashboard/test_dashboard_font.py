"""Korean renders on a machine without any Korean font: Chromium here sees only the
Latin system fonts (a fontconfig listing DejaVu and nothing else), and the page and admin
still draw 한글 with the vendored Noto Sans KR (scripts/vendor.py), checked through
document.fonts and a screenshot."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.dashboard_support import CHROMIUM, CHROMIUM_ARGS, make_gate, make_signals
from tests.processes import LOGS

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FONT_LOADED = """async () => {
  await document.fonts.ready;
  const faces = [...document.fonts].filter((f) => f.family.replace(/['"]/g, '') === 'Noto Sans KR');
  return { loaded: faces.filter((f) => f.status === 'loaded').length,
           check: document.fonts.check('16px "Noto Sans KR"', '마켓 게이트') };
}"""


@pytest.fixture
def browser_without_fonts(tmp_path: Path):
    conf = tmp_path / "fonts.conf"
    # One Latin font folder (Chromium needs some font to start), no Korean one.
    latin = next((d for d in ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/liberation")
                  if Path(d).is_dir()), None)
    if latin is None:
        pytest.skip("no DejaVu or Liberation fonts to start Chromium with")
    conf.write_text('<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
                    f"<dir>{latin}</dir><cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                     env={**os.environ, "FONTCONFIG_FILE": str(conf)})
        yield chromium
        chromium.close()


def test_korean_renders_with_the_web_font_and_no_system_font(browser_without_fonts, server):
    make_gate(72, "GREEN")
    make_signals(3)
    page = browser_without_fonts.new_page(locale="ko-KR", timezone_id="Asia/Seoul")
    page.goto(f"http://127.0.0.1:{server.port}/")
    page.wait_for_selector("#signal-rows tr[data-ticker]")
    state = page.evaluate(FONT_LOADED)
    assert state["loaded"] >= 1 and state["check"], state
    family = page.evaluate("getComputedStyle(document.body).fontFamily")
    assert family.startswith('"Noto Sans KR"'), family
    LOGS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(LOGS / "dashboard-no-system-fonts.png"))  # 한글, not boxes

    page.goto(f"http://127.0.0.1:{server.port}/admin/login/")
    state = page.evaluate(FONT_LOADED)
    assert state["loaded"] >= 1 and state["check"], state
