"""The scan table lines up Korean names by terminal cell width (pure)."""

from __future__ import annotations

import io

from signals.scans.console import ProgressBar, cell_width, pad, signal_table, truncate


def _signal(ticker: str, name: str, **extra: object) -> dict:
    return {"ticker": ticker, "name": name, "market": "KOSPI", "grade": "A", "score": 80, "entry_price": 75_100,
            "stop_loss": 69_100, "target_price": 90_200, "position_size": 1_666, "reasons": ["RS 94"], **extra}


def test_hangul_counts_two_cells_and_ascii_one() -> None:
    assert cell_width("삼성전자") == 8
    assert cell_width("KBI동양철관") == 11
    assert cell_width("Ａ") == 2  # full-width form


def test_padding_uses_cells_not_characters() -> None:
    assert pad("삼성", 6) == "삼성  " and pad("AB", 6, right=True) == "    AB"


def test_columns_after_korean_names_line_up() -> None:
    lines = signal_table([_signal("005930", "삼성전자"), _signal("000660", "SK하이닉스"), _signal("0015N0", "ABC")])
    rows = lines[:5]
    market_at = {cell_width(line[: line.index("KOSPI")]) for line in rows[2:]}
    assert len(market_at) == 1
    assert cell_width(rows[0][: rows[0].index("시장")]) == market_at.pop()


def test_prices_have_thousands_separators() -> None:
    line = signal_table([_signal("005930", "삼성전자")])[2]
    assert "75,100" in line and "69,100" in line and "1,666" in line


def test_reasons_follow_the_table() -> None:
    lines = signal_table([_signal("005930", "삼성전자")])
    assert lines[-2:] == ["005930 삼성전자", "  - RS 94"]


def test_long_names_are_cut_with_an_ellipsis_within_the_width() -> None:
    cut = truncate("아주아주아주긴종목이름입니다", 10)
    assert cut.endswith("…") and cell_width(cut) <= 10


def test_the_progress_bar_draws_only_on_a_terminal() -> None:
    out = io.StringIO()
    ProgressBar(out, enabled=False)("load", 0.5)
    assert out.getvalue() == ""
    bar = ProgressBar(out, enabled=True, width=10)
    bar("compute", 0.5)
    bar.close()
    assert out.getvalue() == "\rscan [#####-----]  50% compute   \n"
