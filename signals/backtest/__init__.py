"""Walk-forward backtest: the production scan as of every session, outcomes on later bars, statistics."""
