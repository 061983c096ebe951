"""An adjustment factor divides a ticker's whole history: admin refuses zero, negative,
non-finite or absurd factors with a message, and one written around admin (shell, SQL)
is left out of every read rather than wrecking the history."""

from __future__ import annotations

from datetime import date

import pytest

from marketgate.data.adjustment_store import stored_factors
from marketgate.models import AdjustmentFactor

pytestmark = pytest.mark.django_db

ADD = "/admin/marketgate/adjustmentfactor/add/"


def _form(factor: str, ticker: str = "086280") -> dict[str, str]:
    return {"ticker": ticker, "ex_date": "2024-07-12", "factor": factor, "source": "manual",
            "prev_close": "", "open": ""}


@pytest.mark.parametrize("factor", ["0", "-2", "nan", "inf", "1e9"])
def test_admin_refuses_a_factor_that_would_wreck_the_history(admin_client, factor):
    response = admin_client.post(ADD, _form(factor))
    assert response.status_code == 200  # the form again, with the error, nothing saved
    assert not AdjustmentFactor.objects.exists()
    assert "errorlist" in response.content.decode()


def test_admin_saves_a_real_split_and_refuses_a_bad_code(admin_client):
    assert admin_client.post(ADD, _form("2", ticker="08628")).status_code == 200
    assert not AdjustmentFactor.objects.exists()
    response = admin_client.post(ADD, _form("2"))
    assert response.status_code == 302
    assert AdjustmentFactor.objects.get().factor == 2.0


def test_a_factor_written_around_admin_is_left_out_of_reads(caplog):
    AdjustmentFactor.objects.create(ticker="086280", ex_date=date(2024, 7, 12), factor=2.0, source="manual")
    AdjustmentFactor.objects.create(ticker="005930", ex_date=date(2024, 7, 12), factor=0.0, source="manual")
    factors = stored_factors()
    assert list(factors["ticker"]) == ["086280"]  # the good factor survives
    assert "ignoring adjustment factor 0.0 of 005930" in caplog.text
