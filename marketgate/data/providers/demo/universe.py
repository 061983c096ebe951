"""The demo market's instruments: a deterministic, seeded list of plausible KRX issues.

A few real-looking large caps, preferred shares, sector ETFs, SPACs and a REIT (so
universe filters have something to filter), and generated companies whose Korean and
English names come from word lists. Pure: no Django.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

import numpy as np

Style = Literal["vcp", "leader", "random", "laggard", "illiquid", "etf", "special"]

SECTORS = ("반도체", "2차전지", "헬스케어", "자동차", "은행", "인터넷", "화학", "조선", "건설", "철강", "음식료", "전자")

# (Korean, English) prefixes and per-sector suffixes for generated company names.
PREFIXES = (
    ("한빛", "Hanbit"), ("대성", "Daesung"), ("동양", "Dongyang"), ("세진", "Sejin"), ("미래", "Mirae"),
    ("새한", "Saehan"), ("우진", "Woojin"), ("태광", "Taekwang"), ("삼화", "Samhwa"), ("성우", "Sungwoo"),
    ("한솔", "Hansol"), ("대한", "Daehan"), ("유니", "Uni"), ("제이엠", "JM"), ("케이씨", "KC"),
    ("하나", "Hana"), ("신성", "Shinsung"), ("동진", "Dongjin"), ("서울", "Seoul"), ("부산", "Busan"),
    ("진양", "Jinyang"), ("금강", "Geumgang"), ("백산", "Baeksan"), ("청호", "Chungho"), ("명성", "Myungsung"),
    ("광명", "Kwangmyung"), ("나라", "Nara"), ("푸른", "Pureun"), ("오성", "Osung"), ("상신", "Sangsin"),
    ("코리아", "Korea"), ("에이치", "H"), ("아이티", "IT"), ("동원", "Dongwon"), ("선진", "Sunjin"),
)
SUFFIXES: dict[str, tuple[tuple[str, str], ...]] = {
    "반도체": (("반도체", "Semiconductor"), ("테크", "Tech"), ("마이크론", "Micron"), ("일렉트론", "Electron")),
    "2차전지": (("에너지", "Energy"), ("배터리", "Battery"), ("머티리얼즈", "Materials")),
    "헬스케어": (("바이오", "Bio"), ("제약", "Pharmaceutical"), ("메디칼", "Medical"), ("헬스케어", "Healthcare")),
    "자동차": (("모터스", "Motors"), ("오토텍", "Autotech"), ("정공", "Precision Industry")),
    "은행": (("금융지주", "Financial Group"), ("증권", "Securities"), ("캐피탈", "Capital")),
    "인터넷": (("소프트", "Soft"), ("게임즈", "Games"), ("네트웍스", "Networks"), ("엔터", "Entertainment")),
    "화학": (("화학", "Chemical"), ("케미칼", "Chemicals"), ("산업", "Industries")),
    "조선": (("중공업", "Heavy Industries"), ("기계", "Machinery"), ("조선", "Shipbuilding")),
    "건설": (("건설", "Construction"), ("개발", "Development")),
    "철강": (("철강", "Steel"), ("금속", "Metal")),
    "음식료": (("식품", "Foods"), ("제과", "Confectionery")),
    "전자": (("전자", "Electronics"), ("전기", "Electric"), ("정밀", "Precision")),
}


@dataclass(frozen=True)
class DemoInstrument:
    ticker: str
    name: str
    name_en: str
    market: str  # KOSPI | KOSDAQ
    kind: str  # InstrumentKind value
    sector: str
    style: Style
    price: float  # last close the history is scaled to
    turnover: float  # typical daily traded value, KRW
    beta: float
    vol: float  # daily idiosyncratic volatility
    listed_shares: int


# ticker, name, name_en, market, kind, sector, price, shares, turnover (KRW/day)
_SPECIALS: tuple[tuple[str, str, str, str, str, str, float, int, float], ...] = (
    ("005930", "삼성전자", "Samsung Electronics", "KOSPI", "common", "반도체", 72_000, 5_969_782_550, 1.0e12),
    ("000660", "SK하이닉스", "SK hynix", "KOSPI", "common", "반도체", 190_000, 728_002_365, 6.0e11),
    ("373220", "LG에너지솔루션", "LG Energy Solution", "KOSPI", "common", "2차전지", 350_000, 234_000_000, 2.0e11),
    ("005380", "현대차", "Hyundai Motor", "KOSPI", "common", "자동차", 230_000, 209_416_191, 2.5e11),
    ("035420", "NAVER", "NAVER", "KOSPI", "common", "인터넷", 190_000, 158_437_008, 1.5e11),
    ("105560", "KB금융", "KB Financial Group", "KOSPI", "common", "은행", 80_000, 393_528_423, 1.5e11),
    ("247540", "에코프로비엠", "EcoPro BM", "KOSDAQ", "common", "2차전지", 180_000, 97_801_344, 2.0e11),
    ("196170", "알테오젠", "Alteogen", "KOSDAQ", "common", "헬스케어", 300_000, 53_000_000, 1.5e11),
    ("005935", "삼성전자우", "Samsung Electronics (1P)", "KOSPI", "preferred", "반도체", 58_000, 822_886_700, 8.0e10),
    ("005385", "현대차우", "Hyundai Motor (1P)", "KOSPI", "preferred", "자동차", 175_000, 24_984_946, 1.0e10),
    ("069500", "KODEX 200", "KODEX 200", "KOSPI", "etf", "", 36_000, 300_000_000, 5.0e11),
    ("091160", "KODEX 반도체", "KODEX Semiconductor", "KOSPI", "etf", "반도체", 38_000, 20_000_000, 4.0e10),
    ("305720", "KODEX 2차전지산업", "KODEX Secondary Battery Industry", "KOSPI", "etf", "2차전지", 17_000, 80_000_000, 6.0e10),
    ("091170", "KODEX 은행", "KODEX Banks", "KOSPI", "etf", "은행", 9_000, 40_000_000, 1.5e10),
    ("091180", "KODEX 자동차", "KODEX Automobile", "KOSPI", "etf", "자동차", 21_000, 15_000_000, 1.2e10),
    ("143860", "TIGER 헬스케어", "TIGER Healthcare", "KOSPI", "etf", "헬스케어", 27_000, 10_000_000, 6.0e9),
    ("157490", "TIGER 소프트웨어", "TIGER Software", "KOSPI", "etf", "인터넷", 11_000, 10_000_000, 6.0e9),
    ("439730", "한빛스팩1호", "Hanbit SPAC No.1", "KOSDAQ", "spac", "", 2_050, 8_000_000, 3.0e8),
    ("451220", "대성스팩2호", "Daesung SPAC No.2", "KOSDAQ", "spac", "", 2_100, 7_500_000, 2.0e8),
    ("357120", "미래리츠", "Mirae REIT", "KOSPI", "reit", "", 5_200, 60_000_000, 2.0e9),
)

SECTOR_ETFS: tuple[tuple[str, str], ...] = tuple(
    (ticker, name) for ticker, name, _, _, kind, sector, *_ in _SPECIALS if kind == "etf" and sector
)


def rng_for(*parts: object) -> np.random.Generator:
    """A generator seeded by its arguments, identical in every process (unlike hash())."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return np.random.default_rng(int.from_bytes(digest, "little"))


def _style_for(rng: np.random.Generator) -> Style:
    roll = rng.random()
    if roll < 0.07:
        return "vcp"
    if roll < 0.27:
        return "leader"
    if roll < 0.75:
        return "random"
    if roll < 0.95:
        return "laggard"
    return "illiquid"


def make_universe(seed: int, n: int) -> tuple[DemoInstrument, ...]:
    """`n` instruments (at least the special issues), identical for the same seed."""
    rng = rng_for(seed, "universe")
    out: list[DemoInstrument] = []
    taken: set[str] = set()
    for ticker, name, name_en, market, kind, sector, price, shares, turnover in _SPECIALS:
        style: Style = "etf" if kind == "etf" else ("special" if kind != "common" else "random")
        beta = 1.0 if kind == "etf" else (0.2 if kind in {"spac", "reit"} else 1.1)
        vol = 0.004 if kind == "etf" else (0.003 if kind == "spac" else 0.014)
        out.append(DemoInstrument(ticker, name, name_en, market, kind, sector, style, price, turnover, beta, vol, shares))
        taken.add(ticker)

    combos = [(p, sector, s) for p in PREFIXES for sector in SECTORS for s in SUFFIXES[sector]]
    order = rng.permutation(len(combos))
    position = 0
    while len(out) < n:
        prefix, sector, suffix = combos[order[position % len(combos)]]
        lap = position // len(combos)
        position += 1
        name = prefix[0] + suffix[0] + (f"{lap + 1}" if lap else "")
        name_en = f"{prefix[1]} {suffix[1]}" + (f" {lap + 1}" if lap else "")
        ticker = f"{int(rng.integers(1_000, 49_999)) * 10:06d}"
        if ticker in taken:
            continue
        taken.add(ticker)
        style = _style_for(rng)
        market = "KOSDAQ" if rng.random() < 0.55 else "KOSPI"
        if style == "vcp":
            price = float(np.exp(rng.uniform(np.log(8_000), np.log(150_000))))
        else:
            price = float(np.clip(np.exp(rng.normal(np.log(18_000), 1.0)), 1_200, 600_000))
        if style == "illiquid":
            turnover = float(rng.uniform(0.4e9, 3.0e9))
        elif style == "vcp":
            # Volume dries up to a third in the base; keep the 20-day value above 5 bn.
            turnover = float(np.exp(rng.uniform(np.log(20e9), np.log(150e9))))
        else:
            turnover = float(np.clip(np.exp(rng.normal(np.log(25e9), 0.9)), 6e9, 4e11))
        beta = float(rng.uniform(0.6, 1.5))
        vol = float(rng.uniform(0.012, 0.026) * (1.2 if market == "KOSDAQ" else 1.0))
        shares = int(max(turnover * rng.uniform(80, 400) / price, 1_000_000))
        out.append(DemoInstrument(ticker, name, name_en, market, "common", sector, style, price, turnover, beta, vol, shares))
    return tuple(out[: max(n, len(_SPECIALS))])
