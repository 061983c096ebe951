"""Kiwoom REST API: the session and its frames."""
