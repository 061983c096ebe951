"""Regenerate docs/screenshots/dashboard-{desktop,phone}.png: `python3 scripts/screenshots.py`.

Builds a throwaway SQLite database with a day of gate history and a scan's signals,
starts the real ASGI server against it (and a Redis of its own unless REDIS_URL is
set), publishes a few live prices and index moves, and photographs the page with
Debian's Chromium (CHROMIUM_PATH to override) at desktop and phone width.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bootstrap import ROOT, ensure_venv, in_venv

OUT = ROOT / "docs" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
WATCH = ["005930", "000660", "035420", "373220", "247540"]
STOCKS = [  # ticker, name, market, grade, score, entry
    ("005930", "삼성전자", "KOSPI", "S", 92, 75_000), ("000660", "SK하이닉스", "KOSPI", "S", 89, 212_500),
    ("035420", "NAVER", "KOSPI", "A", 84, 198_300), ("373220", "LG에너지솔루션", "KOSPI", "A", 81, 391_000),
    ("247540", "에코프로비엠", "KOSDAQ", "A", 78, 243_500), ("086520", "에코프로", "KOSDAQ", "B", 74, 98_700),
    ("068270", "셀트리온", "KOSPI", "B", 71, 181_200), ("196170", "알테오젠", "KOSDAQ", "B", 69, 322_000),
    ("042700", "한미반도체", "KOSPI", "C", 64, 116_400), ("058470", "리노공업", "KOSDAQ", "C", 61, 187_900),
]


def seed() -> None:
    from django.core.management import call_command
    from django.utils import timezone

    from marketgate.models import MarketGate
    from signals.models import Signal

    call_command("migrate", "--noinput", "-v", "0")
    now = timezone.now().replace(microsecond=0)
    has_slot = any(f.name == "slot" for f in MarketGate._meta.fields)
    levels = [48, 50, 53, 55, 58, 61, 63, 66, 68, 71, 73, 72, 74]
    for i, level in enumerate(levels):
        at = now - timedelta(minutes=5 * (len(levels) - 1 - i))
        status = "GREEN" if level >= 70 else "YELLOW" if level >= 40 else "RED"
        row = {
            "status": status, "level": level, "kospi": 2610 + 3.1 * i, "kospi_change_pct": -0.4 + 0.11 * i,
            "kosdaq": 862 + 0.9 * i, "kosdaq_change_pct": -0.9 + 0.08 * i, "session": "open",
            "trading_date": timezone.localdate(at), "as_of": at, "computed_at": at,
            "components": [
                {"name": "trend", "points": 23, "max": 30, "reason": "KOSPI above MA20/MA60, below MA120",
                 "reason_ko": "KOSPI 20/60일선 위, 120일선 아래", "known": True, "market": "KOSPI"},
                {"name": "distribution", "points": 15, "max": 20, "reason": "KOSPI 3 distribution days in 25 sessions",
                 "reason_ko": "KOSPI 최근 25거래일 분산일 3회", "known": True, "market": "KOSPI"},
                {"name": "breadth", "points": 14, "max": 20, "reason": "KOSPI A/D 1.4, 58% above MA50",
                 "reason_ko": "KOSPI 상승/하락 1.4, 50일선 위 58%", "known": True, "market": "KOSPI"},
                {"name": "new_highs_lows", "points": 12, "max": 15, "reason": "KOSPI 10-session NH-NL +84",
                 "reason_ko": "KOSPI 10일 신고가-신저가 +84", "known": True, "market": "KOSPI"},
                {"name": "drawdown", "points": 10, "max": 15, "reason": "KOSPI -3.2% from the 60-session high",
                 "reason_ko": "KOSPI 60거래일 고점 대비 -3.2%", "known": True, "market": "KOSPI"},
            ],
        }
        if has_slot:
            row["slot"] = at
        MarketGate.objects.create(**row)
    today = timezone.localdate()
    Signal.objects.bulk_create([
        Signal(ticker=t, name=n, market=m, grade=g, score=sc, entry_price=e, target_price=round(e * 1.1, -2),
               stop_loss=round(e * 0.95, -2), position_size=0 if g == "C" else int(10_000_000 / e),
               reasons=["Trend Template 8/8", "3 contractions 24%->12%->5%", "volume dry-up 42% of 50-day average"],
               signal_date=today)
        for t, n, m, g, sc, e in STOCKS
    ])


def publish_live() -> None:
    from django.utils import timezone

    from stockgate.realtime.broadcast import publish

    now = timezone.localtime().isoformat()
    for i, (ticker, _, _, _, _, entry) in enumerate(STOCKS):
        price = int(round(entry * (1 + (0.031 - 0.009 * i)), -2))
        change = price - int(entry * 0.99)
        publish(f"price:{ticker}", {
            "type": "price_update", "topic": f"price:{ticker}", "ticker": ticker,
            "data": {"price": price, "change": change, "change_rate": round(change / (entry * 0.99) * 100, 2),
                     "volume": 1_000_000 + i, "bid_price": price - 100, "ask_price": price, "as_of": now},
            "timestamp": now, "source": "demo",
        })


def main() -> int:
    if not in_venv():
        python = ensure_venv("requirements-dev.txt")
        os.execv(str(python), [str(python), __file__, *sys.argv[1:]])
    subprocess.call([sys.executable, str(ROOT / "scripts" / "vendor.py")], cwd=ROOT)
    work = Path(tempfile.mkdtemp(prefix="stockgate-shots-"))
    redis_proc = None
    os.environ.update({
        "DATABASE_URL": f"sqlite:///{work / 'db.sqlite3'}", "DJANGO_SETTINGS_MODULE": "stockgate.settings",
        "MARKET_DATA_PROVIDER": "demo", "REALTIME_PREFIX": "sgshots", "CHANNEL_PREFIX": "sgshots-layer",
    })
    if not os.environ.get("REDIS_URL"):
        from run import make_var_private, start_embedded_redis  # the run command's embedded Redis

        port = _free_port()
        make_var_private()
        redis_proc, os.environ["REDIS_URL"] = start_embedded_redis(port)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    seed()
    web_port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "stockgate.asgi:application", "--host", "127.0.0.1", "--port", str(web_port),
         "--loop", "uvloop", "--http", "httptools", "--ws", "websockets-sansio", "--ws-per-message-deflate", "false", "--lifespan", "off", "--no-access-log"],
        cwd=ROOT, env=dict(os.environ), start_new_session=True,
    )
    try:
        _wait(web_port)
        shoot(web_port)
    finally:
        server.terminate()
        server.wait(timeout=15)
        if redis_proc is not None:
            redis_proc.terminate()
        shutil.rmtree(work, ignore_errors=True)
    print(f"wrote {OUT / 'dashboard-desktop.png'} and {OUT / 'dashboard-phone.png'}")
    return 0


def shoot(port: int) -> None:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        for name, viewport, full in (("desktop", {"width": 1440, "height": 1100}, False),
                                     ("phone", {"width": 390, "height": 844}, True)):
            context = browser.new_context(viewport=viewport, locale="ko-KR", timezone_id="Asia/Seoul",
                                          device_scale_factor=2 if name == "phone" else 1,
                                          reduced_motion="reduce")
            context.add_init_script(f"localStorage.setItem('stockgate.watchlist', {json.dumps(json.dumps(WATCH))});")
            page = context.new_page()
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector("#conn[data-state='connected']", timeout=60_000)
            page.wait_for_timeout(1500)
            publish_live()
            page.wait_for_timeout(1500)
            page.screenshot(path=str(OUT / f"dashboard-{name}.png"), full_page=full)
            context.close()
        browser.close()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(port: int, timeout: float = 60.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(0.3)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"the server did not start on port {port}")


if __name__ == "__main__":
    raise SystemExit(main())
