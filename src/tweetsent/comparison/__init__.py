"""Comparing models and baselines on the same tweets: compare, the baselines, the report and its figures."""
