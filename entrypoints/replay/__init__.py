"""`drive-alerts replay`: a scenario through intake, worker and (optionally) delivery; wiring, so it lives in runtime."""
