"""Korea Investment & Securities (KIS) Open API: the session and its frames."""
