"""The Market Gate: params -> components -> overrides -> formula (pure); service.py loads, computes and saves a row."""
