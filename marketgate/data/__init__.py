"""Market data in: CSV reading and validation, imports, providers, the daily ingest, bulk writes."""
