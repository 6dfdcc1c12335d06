"""Calls sys.exit while being imported."""

raise SystemExit(7)
