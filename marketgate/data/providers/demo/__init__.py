"""The demo market: a deterministic simulated KRX market (instruments, history, sessions, clock), no network."""
