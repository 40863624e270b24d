"""Experiments: pure functions from a validated config to a results record."""
