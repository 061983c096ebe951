"""Market-data providers (see base.py for the interface)."""
