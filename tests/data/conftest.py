"""Fixtures of the data tests: FinanceDataReader on recorded responses."""

from tests.fdr_replay import http, replay  # noqa: F401 (fixtures)
