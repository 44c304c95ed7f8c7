"""Metrics, reports and plots computed from predictions."""
