"""Kiwoom REST API realtime WebSocket frames (`/api/dostk/websocket`). Pure.

Every frame is a JSON object named by `trnm`:

* LOGIN: the client's first frame `{"trnm": "LOGIN", "token": <access token>}`, answered
  `{"trnm": "LOGIN", "return_code": 0, "return_msg": ...}` (non-zero: refused);
* REG / REMOVE: register or release realtime items,
  `{"trnm": "REG", "grp_no": "1", "refresh": "1", "data": [{"item": ["005930"], "type": ["0B"]}]}`,
  answered `{"trnm": "REG", "return_code": 0, "return_msg": ...}`;
* PING: the server's heartbeat, which the client sends back unchanged;
* REAL: data, `{"trnm": "REAL", "data": [{"type": "0B", "name": "주식체결", "item": "005930",
  "values": {"20": "093015", "10": "+75000", ...}}]}`.

Realtime values are strings keyed by field id. Prices carry a sign that says which way
they moved against the previous close ("+75000", "-74900"); the price itself is the
absolute value. 0B (주식체결) is a stock trade, 0J (업종지수) a sector/index value
(item "001" KOSPI 종합, "101" KOSDAQ 종합). Neither carries a date: the time (field 20,
HHMMSS) is of today's session in Korea.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from marketgate.calendar import KST
from marketgate.feeds.base import IndexTick, Tick

LOGIN, REG, REMOVE, PING, REAL = "LOGIN", "REG", "REMOVE", "PING", "REAL"
TRADE_TYPE = "0B"  # 주식체결
INDEX_TYPE = "0J"  # 업종지수
# Stocks in group 1, the two market indices in group 2, so releasing a stock never
# touches the index registrations.
STOCK_GROUP, INDEX_GROUP = "1", "2"
INDEX_ITEMS = {"001": "KOSPI", "101": "KOSDAQ"}

# Field ids (the same ids for 0B and 0J where they overlap).
TIME = "20"  # 체결시간 HHMMSS
PRICE = "10"  # 현재가
CHANGE = "11"  # 전일대비
RATE = "12"  # 등락율
VOLUME = "13"  # 누적거래량
TRADE_VOLUME = "15"  # 거래량 (+ buy, - sell initiated)
OPEN, HIGH, LOW = "16", "17", "18"
SIGN = "25"  # 전일대비기호: 1 상한, 2 상승, 3 보합, 4 하한, 5 하락
ASK, BID = "27", "28"  # (최우선)매도호가, (최우선)매수호가
FALLING_SIGNS = {"4", "5"}


class FrameError(ValueError):
    """A frame that does not follow the documented format."""


@dataclass(frozen=True)
class Control:
    """LOGIN, REG, REMOVE answers (and any other non-data frame)."""

    trnm: str
    return_code: int
    return_msg: str

    @property
    def ok(self) -> bool:
        return self.return_code == 0


@dataclass(frozen=True)
class Heartbeat:
    raw: str


@dataclass(frozen=True)
class Real:
    entries: tuple[dict[str, Any], ...]


Frame = Control | Heartbeat | Real


def login(token: str) -> str:
    return json.dumps({"trnm": LOGIN, "token": token}, separators=(",", ":"))


def registration(trnm: str, items: list[str], real_type: str, group: str) -> str:
    """REG (register) or REMOVE (release) `items` for one realtime type."""
    return json.dumps(
        {"trnm": trnm, "grp_no": group, "refresh": "1", "data": [{"item": items, "type": [real_type]}]},
        ensure_ascii=False, separators=(",", ":"),
    )


def parse(text: str) -> Frame:
    try:
        obj = json.loads(text)
        trnm = str(obj["trnm"]).upper()
    except (ValueError, KeyError, TypeError) as exc:
        raise FrameError(f"not a Kiwoom frame: {text[:80]!r}") from exc
    if trnm == PING:
        return Heartbeat(text)
    if trnm == REAL:
        data = obj.get("data")
        if isinstance(data, dict):
            data = [data]
        if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
            raise FrameError(f"REAL frame without a data list: {text[:80]!r}")
        return Real(tuple(data))
    try:
        code = int(obj.get("return_code", 0))
    except (TypeError, ValueError) as exc:
        raise FrameError(f"bad return_code in {text[:80]!r}") from exc
    return Control(trnm, code, str(obj.get("return_msg", "")))


def _number(values: dict[str, Any], field: str) -> float:
    raw = str(values.get(field, "") or "").strip().replace(",", "")
    if raw in ("", "+", "-"):
        return 0.0
    return float(raw)


def _signed(values: dict[str, Any], field: str) -> float:
    """A change that follows 전일대비기호 when the value itself lost its sign."""
    value = _number(values, field)
    if str(values.get(SIGN, "")).strip() in FALLING_SIGNS:
        return -abs(value)
    return value


def market_time(hhmmss: str, wall_now: datetime) -> datetime:
    """HHMMSS of today's session (KST); a time more than an hour ahead of the clock is yesterday's."""
    try:
        clock = datetime.strptime(hhmmss.strip(), "%H%M%S").time()
    except ValueError as exc:
        raise FrameError(f"bad time {hhmmss!r}") from exc
    now = wall_now.astimezone(KST)
    at = datetime.combine(now.date(), clock, tzinfo=KST)
    if at - now > timedelta(hours=1):
        at -= timedelta(days=1)
    return at


def trade_tick(entry: dict[str, Any], wall_now: datetime, source: str = "kiwoom") -> Tick:
    """One 0B entry as a Tick."""
    values = entry.get("values")
    # An NXT or combined quote names the stock with a suffix ("005930_AL"): same stock.
    ticker = str(entry.get("item", "")).strip().split("_")[0]
    if not isinstance(values, dict) or not ticker:
        raise FrameError(f"0B entry without item or values: {str(entry)[:80]}")
    price = int(abs(_number(values, PRICE)))
    if price <= 0:
        raise FrameError(f"0B entry for {ticker} without a price")
    ask, bid = int(abs(_number(values, ASK))), int(abs(_number(values, BID)))
    return Tick(
        ticker=ticker,
        price=price,
        change=int(_signed(values, CHANGE)),
        change_rate=_signed(values, RATE),
        volume=int(abs(_number(values, VOLUME))),
        trade_volume=int(abs(_number(values, TRADE_VOLUME))),
        bid=bid or None,
        ask=ask or None,
        as_of=market_time(str(values.get(TIME, "")), wall_now),
        source=source,
        day_open=int(abs(_number(values, OPEN))) or None,
        day_high=int(abs(_number(values, HIGH))) or None,
        day_low=int(abs(_number(values, LOW))) or None,
    )


def index_tick(entry: dict[str, Any], wall_now: datetime, source: str = "kiwoom") -> IndexTick:
    """One 0J entry (KOSPI or KOSDAQ) as an IndexTick."""
    values = entry.get("values")
    item = str(entry.get("item", "")).strip()
    if item not in INDEX_ITEMS or not isinstance(values, dict):
        raise FrameError(f"0J entry for an index we do not follow: {item!r}")
    value = abs(_number(values, PRICE))
    if value <= 0:
        raise FrameError(f"0J entry for {item} without a value")
    return IndexTick(
        index=INDEX_ITEMS[item],
        value=value,
        change=_signed(values, CHANGE),
        change_rate=_signed(values, RATE),
        volume=abs(_number(values, VOLUME)) or None,
        as_of=market_time(str(values.get(TIME, "")), wall_now),
        source=source,
    )
