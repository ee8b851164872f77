"""Escalation and re-sends: each recipient who has not acknowledged is told again, and their duty managers too."""
