"""The realtime transport: topics, history (seq/epoch), broadcast, fan-out, the /ws consumer."""
