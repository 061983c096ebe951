"""KIS Open API WebSocket frames: registration requests, acks, heartbeats, trades. Pure.

Realtime data arrives as text `0|H0STCNT0|003|f0^f1^...^f45^f0^...`: an encryption
flag (0 plain, 1 AES; only account notices are encrypted), the tr_id, the number of
records, then the records' fields joined by '^' (46 fields per H0STCNT0 record).
Control frames are JSON: the registration ack
`{"header":{"tr_id":..,"tr_key":..,"encrypt":"N"},"body":{"rt_cd":"0","msg_cd":"OPSP0000","msg1":"SUBSCRIBE SUCCESS",..}}`
and the server's heartbeat `{"header":{"tr_id":"PINGPONG","datetime":"YYYYmmddHHMMSS"}}`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from marketgate.calendar import KST
from marketgate.feeds.base import Tick

TRADES = "H0STCNT0"
PINGPONG = "PINGPONG"
REGISTER, RELEASE = "1", "2"

# H0STCNT0 (국내주식 실시간체결가) output fields, in order.
TRADE_FIELDS = (
    "MKSC_SHRN_ISCD", "STCK_CNTG_HOUR", "STCK_PRPR", "PRDY_VRSS_SIGN", "PRDY_VRSS", "PRDY_CTRT",
    "WGHN_AVRG_STCK_PRC", "STCK_OPRC", "STCK_HGPR", "STCK_LWPR", "ASKP1", "BIDP1", "CNTG_VOL", "ACML_VOL",
    "ACML_TR_PBMN", "SELN_CNTG_CSNU", "SHNU_CNTG_CSNU", "NTBY_CNTG_CSNU", "CTTR", "SELN_CNTG_SMTN",
    "SHNU_CNTG_SMTN", "CCLD_DVSN", "SHNU_RATE", "PRDY_VOL_VRSS_ACML_VOL_RATE", "OPRC_HOUR",
    "OPRC_VRSS_PRPR_SIGN", "OPRC_VRSS_PRPR", "HGPR_HOUR", "HGPR_VRSS_PRPR_SIGN", "HGPR_VRSS_PRPR",
    "LWPR_HOUR", "LWPR_VRSS_PRPR_SIGN", "LWPR_VRSS_PRPR", "BSOP_DATE", "NEW_MKOP_CLS_CODE", "TRHT_YN",
    "ASKP_RSQN1", "BIDP_RSQN1", "TOTAL_ASKP_RSQN", "TOTAL_BIDP_RSQN", "VOL_TNRT",
    "PRDY_SMNS_HOUR_ACML_VOL", "PRDY_SMNS_HOUR_ACML_VOL_RATE", "HOUR_CLS_CODE", "MRKT_TRTM_CLS_CODE",
    "VI_STND_PRC",
)
F = {name: i for i, name in enumerate(TRADE_FIELDS)}
# 전일 대비 부호: 1 상한, 2 상승, 3 보합, 4 하한, 5 하락.
FALLING_SIGNS = {"4", "5"}


class FrameError(ValueError):
    """A frame that does not follow the documented format."""


@dataclass(frozen=True)
class Heartbeat:
    raw: str


@dataclass(frozen=True)
class Ack:
    tr_id: str
    tr_key: str
    ok: bool
    msg_cd: str
    msg: str

    @property
    def is_release(self) -> bool:
        return "UNSUBSCRIBE" in self.msg.upper()

    @property
    def already(self) -> bool:
        return "ALREADY IN SUBSCRIBE" in self.msg.upper()

    @property
    def bad_credentials(self) -> bool:
        text = self.msg.lower()
        return "approval" in text or ("appkey" in text and "already in use" not in text)

    @property
    def key_in_use(self) -> bool:
        return "ALREADY IN USE" in self.msg.upper()


@dataclass(frozen=True)
class Data:
    tr_id: str
    encrypted: bool
    records: tuple[tuple[str, ...], ...]


Frame = Heartbeat | Ack | Data


def registration(approval_key: str, custtype: str, tr_type: str, tr_key: str, tr_id: str = TRADES) -> str:
    """The JSON a client sends to register ("1") or release ("2") a realtime feed."""
    return json.dumps(
        {
            "header": {"approval_key": approval_key, "custtype": custtype, "tr_type": tr_type, "content-type": "utf-8"},
            "body": {"input": {"tr_id": tr_id, "tr_key": tr_key}},
        },
        separators=(",", ":"),
    )


def parse(text: str) -> Frame:
    if text[:1] in ("0", "1") and "|" in text[:24]:
        return _parse_data(text)
    try:
        obj = json.loads(text)
        header = obj["header"]
        tr_id = str(header["tr_id"])
    except (ValueError, KeyError, TypeError) as exc:
        raise FrameError(f"not a KIS frame: {text[:80]!r}") from exc
    if tr_id == PINGPONG:
        return Heartbeat(text)
    body = obj.get("body") or {}
    return Ack(
        tr_id=tr_id,
        tr_key=str(header.get("tr_key", "")),
        ok=str(body.get("rt_cd", "")) == "0",
        msg_cd=str(body.get("msg_cd", "")),
        msg=str(body.get("msg1", "")),
    )


def _parse_data(text: str) -> Data:
    parts = text.split("|", 3)
    if len(parts) != 4:
        raise FrameError(f"data frame without 4 parts: {text[:80]!r}")
    flag, tr_id, count_text, payload = parts
    try:
        count = int(count_text)
    except ValueError as exc:
        raise FrameError(f"bad record count {count_text!r}") from exc
    if flag == "1":
        return Data(tr_id, True, ())
    fields = payload.split("^")
    if count <= 0 or len(fields) % count:
        raise FrameError(f"{len(fields)} fields do not split into {count} records")
    per = len(fields) // count
    return Data(tr_id, False, tuple(tuple(fields[i * per : (i + 1) * per]) for i in range(count)))


def _int(value: str) -> int:
    return int(float(value)) if value not in ("", None) else 0


def trade_tick(record: tuple[str, ...], source: str = "kis") -> Tick:
    """One H0STCNT0 record as a Tick. The trade time is the business date + HHMMSS, KST."""
    if len(record) < F["BSOP_DATE"] + 1:
        raise FrameError(f"H0STCNT0 record has {len(record)} fields")
    day, hhmmss = record[F["BSOP_DATE"]], record[F["STCK_CNTG_HOUR"]]
    try:
        as_of = datetime.strptime(day + hhmmss, "%Y%m%d%H%M%S").replace(tzinfo=KST)
    except ValueError as exc:
        raise FrameError(f"bad trade time {day!r} {hhmmss!r}") from exc
    change = abs(_int(record[F["PRDY_VRSS"]]))
    rate = abs(float(record[F["PRDY_CTRT"]] or 0.0))
    if record[F["PRDY_VRSS_SIGN"]] in FALLING_SIGNS:
        change, rate = -change, -rate
    ask, bid = _int(record[F["ASKP1"]]), _int(record[F["BIDP1"]])
    return Tick(
        ticker=record[F["MKSC_SHRN_ISCD"]],
        price=_int(record[F["STCK_PRPR"]]),
        change=change,
        change_rate=rate,
        volume=_int(record[F["ACML_VOL"]]),
        trade_volume=_int(record[F["CNTG_VOL"]]),
        bid=bid or None,
        ask=ask or None,
        as_of=as_of,
        source=source,
        day_open=_int(record[F["STCK_OPRC"]]) or None,
        day_high=_int(record[F["STCK_HGPR"]]) or None,
        day_low=_int(record[F["STCK_LWPR"]]) or None,
    )
