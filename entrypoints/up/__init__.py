"""`drive-alerts up`: the whole pipeline on one machine under one supervisor (broker, re-seed, components, status)."""
