from __future__ import annotations

from django.contrib import admin

from marketgate.models import (
    AdjustmentFactor,
    BreadthDay,
    DailyBar,
    IndexBar,
    Instrument,
    IntradayBar,
    MarketGate,
    Quote,
)


@admin.register(MarketGate)
class MarketGateAdmin(admin.ModelAdmin):
    list_display = ("computed_at", "trading_date", "status", "level", "kospi", "kospi_change_pct",
                    "kosdaq", "kosdaq_change_pct", "session", "provisional", "as_of", "source")
    list_filter = ("status", "session", "provisional", "source", "trading_date")
    date_hierarchy = "computed_at"
    search_fields = ("trading_date", "status")
    ordering = ("-computed_at",)


@admin.register(Instrument)
class InstrumentAdmin(admin.ModelAdmin):
    list_display = ("ticker", "name", "name_en", "market", "kind", "sector", "active")
    list_filter = ("market", "kind", "active")
    search_fields = ("ticker", "name", "name_en")


@admin.register(DailyBar)
class DailyBarAdmin(admin.ModelAdmin):
    list_display = ("instrument", "date", "open", "high", "low", "close", "volume", "halted")
    list_filter = ("halted", "date")
    search_fields = ("instrument__ticker", "instrument__name")
    raw_id_fields = ("instrument",)
    date_hierarchy = "date"


@admin.register(IndexBar)
class IndexBarAdmin(admin.ModelAdmin):
    list_display = ("index", "date", "open", "high", "low", "close", "volume")
    list_filter = ("index",)
    date_hierarchy = "date"


@admin.register(BreadthDay)
class BreadthDayAdmin(admin.ModelAdmin):
    list_display = ("market", "date", "advances", "declines", "new_highs", "new_lows", "pct_above_ma50", "derived")
    list_filter = ("market", "derived")
    date_hierarchy = "date"


@admin.register(Quote)
class QuoteAdmin(admin.ModelAdmin):
    list_display = ("ticker", "price", "change", "change_rate", "volume", "as_of", "source")
    search_fields = ("ticker",)


@admin.register(IntradayBar)
class IntradayBarAdmin(admin.ModelAdmin):
    list_display = ("ticker", "minute", "open", "high", "low", "close", "volume", "ticks")
    list_filter = ("session_date",)
    search_fields = ("ticker",)


@admin.register(AdjustmentFactor)
class AdjustmentFactorAdmin(admin.ModelAdmin):
    list_display = ("ticker", "ex_date", "factor", "source", "prev_close", "open", "updated_at")
    list_filter = ("source",)
    search_fields = ("ticker",)
