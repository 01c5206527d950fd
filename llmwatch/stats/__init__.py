"""Statistics used across jobs: percentiles, control charts, tests."""
