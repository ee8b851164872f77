"""Reliability tests: the chaos run of the whole pipeline under faults."""
