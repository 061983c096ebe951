"""The dashboard page at `/`: the state the page paints first, before any WebSocket frame.

Everything the page shows on its first paint comes from `initial_state()` (rendered into
the page with `json_script`); the WebSocket then only carries changes. The first paint
never shows more than the socket would: a topic this user may not read
(WS_TOPIC_PERMISSIONS, realtime/permissions.py) is left out of it. Labels used by the
script come from `script_strings()`, so Django's i18n translates them with the template.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypedDict

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from marketgate.gate.freshness import max_age
from marketgate.gate.params import GateParams
from marketgate.models import Instrument, MarketGate, Quote
from signals.models import ScanRun, ScanStatus, Signal
from signals.push import signal_update_message
from stockgate.ops.watchdog import WatchdogStateDict, watchdog_state
from stockgate.realtime import permissions, topics

WS_PATH = "/ws"
CHART_MODULE = "vendor/uplot/uPlot.esm.js"
CHART_CSS = "vendor/uplot/uPlot.min.css"
FONT_CSS = ("vendor/noto-sans-kr/400.css", "vendor/noto-sans-kr/700.css")
# Subscribed by every page before any price topic (dashboard.js).
FIXED_TOPICS = (topics.MARKET_GATE, topics.SIGNAL_VCP, topics.MARKET_KOSPI, topics.MARKET_KOSDAQ, topics.OPS)
# Rows of one trading date drawn on the gate chart (a 5-minute schedule makes ~80).
GATE_HISTORY_LIMIT = 1000


class GatePoint(TypedDict):
    t: str  # as_of, ISO with offset
    level: int
    status: str
    kospi: float | None
    kospi_change_pct: float | None
    kosdaq: float | None
    kosdaq_change_pct: float | None


class QuoteData(TypedDict):
    price: int
    change: int
    change_rate: float
    as_of: str


class RealtimeLimits(TypedDict):
    """The server's socket settings the page's client must follow (dashboard/realtime.js)."""

    heartbeat_seconds: float  # the server pings this often; the client's silence watchdog follows
    idle_timeout_seconds: float  # the server closes a socket it has not heard from for this long
    max_frames_per_second: int  # inbound limit: the client's send bucket stays under it
    max_subscriptions: int


class DashboardState(TypedDict):
    server_time: str
    ws_path: str
    demo: bool
    gate: dict[str, Any] | None  # a market_gate_update message (without seq/epoch)
    gate_history: list[GatePoint]
    gate_max_age_seconds: int
    thresholds: dict[str, float]
    signals: dict[str, Any] | None  # a signal_update message (without seq/epoch); None when not for this user
    quotes: dict[str, QuoteData]
    chart_module: str | None
    max_price_topics: int
    realtime: RealtimeLimits
    ops: WatchdogStateDict | None  # the watchdog's verdict; None when the `ops` topic is not for this user
    watchlist_default: list[str]  # PRICE_WATCHLIST: a first visit's watchlist
    names: dict[str, str]  # ticker -> name for those tickers
    last_scan: dict[str, Any] | None  # the latest finished scan, so an empty list can say why
    restricted: list[str]  # the page's fixed topics this user may not read (not subscribed)


def gate_history(gate: MarketGate | None) -> list[GatePoint]:
    """The gate through the latest row's trading date, oldest first.

    Only the latest run through the day: the demo's accelerated clock replays a session
    several times under one trading date, and points of two loops would interleave."""
    if gate is None:
        return []
    recent = MarketGate.objects.filter(trading_date=gate.trading_date).order_by("-computed_at")[:GATE_HISTORY_LIMIT]
    rows: list[MarketGate] = []
    for row in recent:
        if rows and row.as_of > rows[-1].as_of:
            break  # an earlier loop of the same simulated day
        rows.append(row)
    rows.reverse()
    return [
        {
            "t": timezone.localtime(row.as_of).isoformat(),
            "level": row.level,
            "status": row.status,
            "kospi": row.kospi,
            "kospi_change_pct": row.kospi_change_pct,
            "kosdaq": row.kosdaq,
            "kosdaq_change_pct": row.kosdaq_change_pct,
        }
        for row in rows
    ]


def quotes_for(tickers: list[str]) -> dict[str, QuoteData]:
    return {
        q.ticker: {
            "price": q.price,
            "change": q.change,
            "change_rate": q.change_rate,
            "as_of": timezone.localtime(q.as_of).isoformat(),
        }
        for q in Quote.objects.filter(ticker__in=tickers)
    }


def instrument_names(tickers: list[str]) -> dict[str, str]:
    english = (translation.get_language() or settings.LANGUAGE_CODE).startswith("en")
    return {
        i.ticker: (i.name_en if english and i.name_en else i.name)
        for i in Instrument.objects.filter(ticker__in=list(tickers))
    }


def last_scan() -> dict[str, Any] | None:
    run = ScanRun.objects.filter(status=ScanStatus.SUCCEEDED).order_by("-finished_at").first()
    if run is None:
        return None
    return {"signal_date": run.trading_date.isoformat() if run.trading_date else None, "count": run.signal_count}


def chart_module_url() -> str | None:
    """The charting library's URL, or None when scripts/vendor.py has not fetched it:
    the page then never requests it (a 404 would be a console error) and says so."""
    return static(CHART_MODULE) if finders.find(CHART_MODULE) else None


Readable = Callable[[str], bool]


def _everything(topic: str) -> bool:
    return True


def realtime_limits() -> RealtimeLimits:
    return {
        "heartbeat_seconds": settings.WS_HEARTBEAT_SECONDS,
        "idle_timeout_seconds": settings.WS_IDLE_TIMEOUT_SECONDS,
        "max_frames_per_second": settings.WS_MAX_FRAMES_PER_SECOND,
        "max_subscriptions": settings.WS_MAX_SUBSCRIPTIONS,
    }


def initial_state(now: datetime, *, readable: Readable = _everything) -> DashboardState:
    """The first paint; `readable(topic)` says which topics' data this user may see."""
    gate = MarketGate.latest() if readable(topics.MARKET_GATE) else None
    show_signals = readable(topics.SIGNAL_VCP)
    signals = signal_update_message(Signal.objects.latest_date()) if show_signals else None
    tickers = [s["ticker"] for s in signals["data"]["signals"]] if signals else []
    params = GateParams.from_overrides(settings.GATE_PARAMS)
    return {
        "server_time": timezone.localtime(now).isoformat(),
        "ws_path": WS_PATH,
        "demo": settings.MARKET_DATA_PROVIDER == "demo",
        "gate": gate.to_message(now) if gate else None,
        "gate_history": gate_history(gate),
        "gate_max_age_seconds": int(max_age().total_seconds()),
        "thresholds": {"green": params.threshold_green, "yellow": params.threshold_yellow,
                       "consecutive": params.hysteresis_consecutive},
        "signals": signals,
        "quotes": quotes_for([t for t in tickers if readable(f"price:{t}")]),
        "chart_module": chart_module_url(),
        "max_price_topics": max(0, settings.WS_MAX_SUBSCRIPTIONS - len(FIXED_TOPICS)),
        "realtime": realtime_limits(),
        "ops": watchdog_state(now) if readable(topics.OPS) else None,
        "watchlist_default": list(settings.PRICE_WATCHLIST),
        "names": instrument_names(settings.PRICE_WATCHLIST),
        "last_scan": last_scan() if show_signals else None,
        "restricted": [t for t in FIXED_TOPICS if not readable(t)],
    }


def script_strings() -> dict[str, str]:
    """Labels the script writes into the page, in the request's language."""
    return {
        "live": _("실시간"),
        "stale": _("지연"),
        "closed": _("장 마감"),
        "previous_close": _("전일 종가 기준"),
        "previous_close_why": _("실시간 지수가 없어 전일 종가 기준 게이트입니다"),
        "connected": _("연결됨"),
        "connecting": _("연결 중"),
        "reconnecting": _("재연결 중"),
        "attempt": _("시도"),
        "offline": _("오프라인"),
        "status_GREEN": _("매수 가능"),
        "status_YELLOW": _("주의"),
        "status_RED": _("매수 금지"),
        "status_none": _("게이트 데이터 없음"),
        "session_open": _("장중"),
        "session_pre_open": _("장 시작 전"),
        "session_closed": _("장 마감"),
        "session_holiday": _("휴장"),
        "component_trend": _("추세"),
        "component_distribution": _("분산일"),
        "component_breadth": _("시장폭"),
        "component_new_highs_lows": _("신고가-신저가"),
        "component_drawdown": _("고점 대비 하락"),
        "unknown": _("알 수 없음"),
        "points": _("점"),
        "as_of": _("기준"),
        "no_signals": _("필터에 맞는 신호가 없습니다. 등급·시장 필터를 바꿔 보세요."),
        "no_signals_scan": _("%(date)s 스캔: VCP 조건을 만족한 종목이 없습니다."),
        "no_scan_yet": _("아직 스캔 결과가 없습니다. 스캔은 거래일 16:45(KST)에 실행됩니다."),
        "scan_incomplete": _(
            "불완전한 스캔: 전 거래일에 거래된 %(before)s종목 중 %(missing)s종목(%(share)s)의 %(date)s 시세가 없어 "
            "신호가 빠졌을 수 있습니다."
        ),
        "component_override": _("시장 국면 보정"),
        "hold_note": _("%(pending)s 확인 대기: 레벨 %(level)s이지만 연속 %(count)s회 확인 전까지 %(status)s 유지"),
        "watch_unknown": _("상장 종목이 아닙니다"),
        "watch_loading": _("종목 정보 확인 중"),
        "signals_updated": _("신호 %(count)s개 갱신"),
        "gate_changed": _("마켓 게이트: %(status)s, 레벨 %(level)s"),
        "reasons": _("근거"),
        "show_reasons": _("근거 보기"),
        "hide_reasons": _("근거 숨기기"),
        "remove": _("삭제"),
        "watch_toggle": _("관심 종목 추가/삭제"),
        "watch_empty": _("관심 종목이 없습니다. 종목코드를 추가하세요."),
        "watch_invalid": _("종목코드는 6자리입니다 (예: 005930)."),
        "watch_full": _("관심 종목은 최대 %(count)s개입니다."),
        "chart_unavailable": _("차트를 사용할 수 없습니다 (차트 라이브러리가 설치되지 않음)."),
        "gate_level": _("게이트 레벨"),
        "no_data": _("데이터 없음"),
        "up": _("상승"),
        "down": _("하락"),
        "flat": _("보합"),
        "watch_only": _("관망"),
        "shares_unit": _("주"),
        "price_stale": _("시세 지연"),
        "beat_down": _("스케줄러 (celery beat) 응답 없음"),
        "last_signal": _("마지막 신호 %(time)s"),
        "late_since": _("%(time)s부터 지연"),
        "last_run": _("마지막 실행 %(time)s"),
        "never": _("기록 없음"),
        "gate_not_updated": _("스케줄러 지연: 게이트가 갱신되지 않고 있습니다"),
        "outcome_pending": _("체결 대기"),
        "outcome_expired": _("미체결 만료"),
        "outcome_open": _("보유 중"),
        "outcome_target": _("목표가 도달"),
        "outcome_stop": _("손절"),
    }


def index(request: HttpRequest) -> HttpResponse:
    context = {
        "state": initial_state(timezone.now(), readable=lambda topic: permissions.request_may_read(request, topic)),
        "strings": script_strings(),
        "chart_css": static(CHART_CSS) if finders.find(CHART_CSS) else None,
        # The vendored Korean web font (scripts/vendor.py); without it, the system's fonts.
        "font_css": [static(css) for css in FONT_CSS if finders.find(css)],
    }
    return render(request, "stockgate/index.html", context)
