"""Alembic environment of drive-alerts (a package so it ships in the wheel; Alembic ignores this file)."""
