"""Operations: readiness, metrics, task heartbeats, the scheduler watchdog and its alerts."""
