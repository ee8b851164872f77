"""Shared sample data for tests."""
