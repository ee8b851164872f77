"""Subcommands of `drive-alerts` that belong to the runtime (settings, broker, topics)."""
