"""What kind of issue a listing row is, and which market it trades on. Pure.

KRX listings say it in several places (security group, share kind, and by convention
the name: "...우", "...2우B" for preferred shares, "...스팩" for SPACs, "...리츠" for
REITs); a file may have any subset of them.
"""

from __future__ import annotations

import re

# "...우", "...2우B", "...우(전환)"; but "...대우" is a company name (대우건설, 미래에셋대우).
_PREFERRED_NAME = re.compile(r"(\d우|(?<!대)우)[A-C]?(\(전환\))?$")
_ETF_NAME = re.compile(r"^(KODEX|TIGER|KBSTAR|RISE|ACE|SOL|HANARO|ARIRANG|KOSEF|PLUS|TIMEFOLIO|KIWOOM)\b")

MARKETS = {"KOSPI": "KOSPI", "유가증권": "KOSPI", "STK": "KOSPI", "KOSDAQ": "KOSDAQ", "KOSDAQ GLOBAL": "KOSDAQ",
           "코스닥": "KOSDAQ", "KSQ": "KOSDAQ", "KONEX": "KONEX", "코넥스": "KONEX", "KNX": "KONEX"}


def normalise_market(value: str) -> str | None:
    """KOSPI / KOSDAQ / KONEX (KOSDAQ GLOBAL is a KOSDAQ segment), or None if unknown."""
    return MARKETS.get(" ".join(str(value).upper().split()))


def classify_kind(name: str, security_group: str = "", share_kind: str = "") -> str:
    """An InstrumentKind value: common, preferred, etf, spac, reit or other."""
    name, group, share = str(name).strip(), str(security_group).strip(), str(share_kind).strip()
    if "스팩" in name or "SPAC" in name.upper():
        return "spac"
    if "ETF" in group.upper() or (not group and _ETF_NAME.match(name)):
        return "etf"
    if "부동산투자" in group or name.endswith("리츠"):
        return "reit"
    if "우선주" in share:
        return "preferred"
    if share in ("", "종류주권") and _PREFERRED_NAME.search(name):
        return "preferred"
    if group and group not in ("주권", "외국주권", "주식예탁증권"):
        return "other"  # funds, infrastructure and investment companies
    return "common"
