"""Scans: load the market from the database, run the scanner, save signals, broadcast once."""
