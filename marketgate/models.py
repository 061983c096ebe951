"""Market data (instruments, bars, breadth, quotes) and the Market Gate history."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketgate.gate.reason_text import render_component


class Market(models.TextChoices):
    KOSPI = "KOSPI", "KOSPI"
    KOSDAQ = "KOSDAQ", "KOSDAQ"
    KONEX = "KONEX", "KONEX"


class InstrumentKind(models.TextChoices):
    COMMON = "common", "보통주"
    PREFERRED = "preferred", "우선주"
    ETF = "etf", "ETF"
    SPAC = "spac", "SPAC"
    REIT = "reit", "REIT"
    OTHER = "other", "기타"


class Instrument(models.Model):
    # The ticker is the key so bulk imports can write bars without a lookup per row.
    ticker = models.CharField(max_length=6, primary_key=True)
    name = models.CharField(max_length=100)
    name_en = models.CharField(max_length=200, blank=True)
    market = models.CharField(max_length=8, choices=Market.choices, db_index=True)
    kind = models.CharField(max_length=10, choices=InstrumentKind.choices, default=InstrumentKind.COMMON)
    sector = models.CharField(max_length=100, blank=True)
    listed_shares = models.BigIntegerField(null=True, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["ticker"]

    def __str__(self) -> str:
        return f"{self.ticker} {self.name}"


class DailyBar(models.Model):
    # No database-level foreign key: importers create missing instruments before writing
    # bars, and a deferred key check per row was a quarter of a million-row import.
    instrument = models.ForeignKey(
        Instrument, on_delete=models.CASCADE, db_column="ticker", related_name="bars", db_constraint=False
    )
    date = models.DateField()
    open = models.FloatField()
    high = models.FloatField()
    low = models.FloatField()
    close = models.FloatField()
    volume = models.BigIntegerField()
    traded_value = models.BigIntegerField(null=True, blank=True)
    # A halted session (open = 0, volume = 0): kept for the record, never used as a price.
    halted = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["instrument", "date"], name="dailybar_unique_ticker_date")]
        indexes = [models.Index(fields=["date"], name="dailybar_date")]

    def __str__(self) -> str:
        return f"{self.instrument_id} {self.date} {self.close}"


class IndexBar(models.Model):
    index = models.CharField(max_length=8, choices=[("KOSPI", "KOSPI"), ("KOSDAQ", "KOSDAQ")])
    date = models.DateField()
    open = models.FloatField(null=True, blank=True)
    high = models.FloatField(null=True, blank=True)
    low = models.FloatField(null=True, blank=True)
    close = models.FloatField()
    volume = models.FloatField(null=True, blank=True)
    traded_value = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["index", "date"], name="indexbar_unique_index_date")]
        ordering = ["index", "date"]

    def __str__(self) -> str:
        return f"{self.index} {self.date} {self.close}"


class BreadthDay(models.Model):
    """Daily breadth of one market; any field may be unknown (null)."""

    market = models.CharField(max_length=8, choices=Market.choices)
    date = models.DateField()
    advances = models.IntegerField(null=True, blank=True)
    declines = models.IntegerField(null=True, blank=True)
    unchanged = models.IntegerField(null=True, blank=True)
    new_highs = models.IntegerField(null=True, blank=True)
    new_lows = models.IntegerField(null=True, blank=True)
    pct_above_ma50 = models.FloatField(null=True, blank=True)
    derived = models.BooleanField(default=False, help_text="computed from stock bars rather than provided")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["market", "date"], name="breadth_unique_market_date")]
        ordering = ["market", "date"]


class Quote(models.Model):
    """The last quote seen for a ticker, with the time the feed stamped it."""

    ticker = models.CharField(max_length=6, primary_key=True)
    price = models.BigIntegerField()
    change = models.BigIntegerField(default=0)
    change_rate = models.FloatField(default=0.0)
    volume = models.BigIntegerField(default=0)
    bid_price = models.BigIntegerField(null=True, blank=True)
    ask_price = models.BigIntegerField(null=True, blank=True)
    as_of = models.DateTimeField()
    source = models.CharField(max_length=16, default="demo")
    updated_at = models.DateTimeField(auto_now=True)


class IntradayBar(models.Model):
    ticker = models.CharField(max_length=6)
    minute = models.DateTimeField(help_text="start of the minute, KST-aware")
    session_date = models.DateField()
    open = models.BigIntegerField()
    high = models.BigIntegerField()
    low = models.BigIntegerField()
    close = models.BigIntegerField()
    volume = models.BigIntegerField(default=0)
    ticks = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ticker", "minute"], name="intradaybar_unique_ticker_minute")]
        indexes = [models.Index(fields=["session_date", "ticker"], name="intradaybar_session")]


class GateStatus(models.TextChoices):
    GREEN = "GREEN", "GREEN"
    YELLOW = "YELLOW", "YELLOW"
    RED = "RED", "RED"


class SessionState(models.TextChoices):
    PRE_OPEN = "pre_open", "장 시작 전"
    OPEN = "open", "장중"
    CLOSED = "closed", "장 마감"
    HOLIDAY = "holiday", "휴장"


class GateBasis(models.TextChoices):
    LIVE = "live", "장중 (실시간 지수)"
    CLOSE = "close", "종가 확정"
    PREVIOUS_CLOSE = "previous_close", "전일 종가 기준"


class MarketGateQuerySet(models.QuerySet["MarketGate"]):
    def latest_first(self) -> MarketGateQuerySet:
        """Newest market data first: by trading date, then schedule slot. A backfilled
        past date never outranks a newer session, whenever it was computed."""
        return self.order_by("-trading_date", "-slot", "-id")

    def final(self) -> MarketGateQuerySet:
        """Rows computed from a session's closing values (the hysteresis chain)."""
        return self.filter(basis=GateBasis.CLOSE)

    def final_before(self, day: date) -> MarketGate | None:
        """The newest final row of a session before `day`: hysteresis' "previous" for `day`."""
        return self.final().filter(trading_date__lt=day).latest_first().first()


class MarketGate(models.Model):
    """One row per gate computation; the history is kept."""

    status = models.CharField(max_length=6, choices=GateStatus.choices)
    level = models.PositiveSmallIntegerField()
    kospi = models.FloatField(null=True, blank=True)
    kospi_change_pct = models.FloatField(null=True, blank=True)
    kosdaq = models.FloatField(null=True, blank=True)
    kosdaq_change_pct = models.FloatField(null=True, blank=True)
    sectors = models.JSONField(default=list, blank=True)
    components = models.JSONField(default=list, blank=True)
    session = models.CharField(max_length=8, choices=SessionState.choices, default=SessionState.OPEN)
    provisional = models.BooleanField(default=False, help_text="intraday values; final at the close")
    trading_date = models.DateField(db_index=True)
    as_of = models.DateTimeField(db_index=True, help_text="time of the market data")
    computed_at = models.DateTimeField(default=timezone.now, db_index=True)
    # The schedule period this computation belongs to: a task delivered twice (beat
    # restarted, a redelivered message) updates its row instead of adding a duplicate.
    slot = models.DateTimeField(unique=True, blank=True, help_text="computed_at floored to the gate period")
    source = models.CharField(max_length=16, default="demo")
    # What the index values are: the live feed in session (provisional), a session's
    # close (final), or, in session without a live index, the previous close.
    basis = models.CharField(max_length=16, choices=GateBasis.choices, default=GateBasis.CLOSE)
    # Hysteresis state after this row (a held colour change and how many sessions it has
    # been the raw colour), so the next session continues it exactly.
    pending_status = models.CharField(max_length=6, choices=GateStatus.choices, blank=True, default="")
    pending_count = models.PositiveSmallIntegerField(default=0)

    objects = MarketGateQuerySet.as_manager()

    class Meta:
        ordering = ["-trading_date", "-slot", "-id"]
        get_latest_by = ["trading_date", "slot"]

    def __str__(self) -> str:
        return f"{self.trading_date} {self.status} {self.level}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.slot is None:
            self.slot = self.computed_at  # a row saved by hand is its own slot
        super().save(*args, **kwargs)

    @classmethod
    def latest(cls) -> MarketGate | None:
        return cls.objects.latest_first().first()

    def is_stale(self, now: datetime | None = None) -> bool:
        from marketgate.gate.freshness import gate_is_stale

        return gate_is_stale(self, now or timezone.now())

    def current_session(self, now: datetime | None = None) -> str:
        from marketgate.gate.freshness import gate_session

        return gate_session(self, now or timezone.now())

    def to_data(self, now: datetime | None = None) -> dict[str, Any]:
        """The `data` object of a `market_gate_update` frame (protocol.md, fixed)."""
        now = now or timezone.now()
        return {
            "status": self.status,
            "level": self.level,
            "kospi": self.kospi,
            "kospi_change_pct": self.kospi_change_pct,
            "kosdaq": self.kosdaq,
            "kosdaq_change_pct": self.kosdaq_change_pct,
            "sectors": self.sectors,
            # Reasons are rendered from their stored codes (both languages from one row).
            "components": [render_component(c) if isinstance(c, dict) else c for c in self.components or []],
            "as_of": timezone.localtime(self.as_of).isoformat(),
            "stale": self.is_stale(now),
            "session": self.current_session(now),
            "provisional": self.provisional,
            "trading_date": self.trading_date.isoformat(),
            "source": self.source,
            # The old system's monitoring read this: when the gate was computed (= `timestamp`).
            "updated_at": timezone.localtime(self.computed_at).isoformat(),
            "basis": self.basis,
        }

    def to_message(self, now: datetime | None = None) -> dict[str, Any]:
        return {
            "type": "market_gate_update",
            "topic": "market-gate",
            "timestamp": timezone.localtime(self.computed_at).isoformat(),
            "data": self.to_data(now),
        }


class AdjustmentSource(models.TextChoices):
    PRICE_LIMIT = "price_limit", "가격제한폭 초과 (자동 감지)"
    PROVIDER = "provider", "데이터 제공자 수정주가"
    MANUAL = "manual", "수동 입력"


MIN_ADJUSTMENT_FACTOR = 0.001
MAX_ADJUSTMENT_FACTOR = 1000.0


class AdjustmentFactor(models.Model):
    """A corporate action of one ticker (split, reverse split, bonus issue...).

    Stored bars stay as traded (display, fills); indicators, moving averages, bases and
    breadth divide the prices before `ex_date` by `factor` (marketgate.data.corporate_actions).
    """

    ticker = models.CharField(max_length=6, db_index=True)
    ex_date = models.DateField()
    factor = models.FloatField(help_text="prices before ex_date are divided by this, volumes multiplied")
    source = models.CharField(max_length=16, choices=AdjustmentSource.choices, default=AdjustmentSource.PRICE_LIMIT)
    prev_close = models.FloatField(null=True, blank=True)
    open = models.FloatField(null=True, blank=True, help_text="the ex-date's open the factor was read from")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ticker", "ex_date"], name="adjustment_unique_ticker_date")]
        ordering = ["ticker", "ex_date"]

    def __str__(self) -> str:
        return f"{self.ticker} {self.ex_date} ÷{self.factor:g}"

    def clean(self) -> None:
        # Every earlier price is divided by the factor: zero, a negative or a non-number
        # would wreck the ticker's whole history, and KRX actions stay within 1:1000.
        factor = self.factor
        if factor is None or not math.isfinite(factor) or not (MIN_ADJUSTMENT_FACTOR <= factor <= MAX_ADJUSTMENT_FACTOR):
            raise ValidationError({"factor": _("배율은 %(low)s에서 %(high)s 사이의 양수여야 합니다 (2:1 분할이면 2).")
                                   % {"low": MIN_ADJUSTMENT_FACTOR, "high": MAX_ADJUSTMENT_FACTOR}})
        if self.ticker and not (len(self.ticker) == 6 and self.ticker.isalnum()):
            raise ValidationError({"ticker": _("종목코드는 6자리입니다 (예: 005930).")})


class BarFetchFailure(models.Model):
    """A ticker whose daily bars the provider could not deliver; the daily ingest
    retries it on its next runs (only its missing sessions) until it succeeds."""

    ticker = models.CharField(max_length=6, primary_key=True)
    missing_since = models.DateField(help_text="first session not stored")
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.ticker} missing since {self.missing_since} ({self.attempts} attempts)"
