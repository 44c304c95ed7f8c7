"""tweetsent: train, compare, evaluate and serve tweet sentiment classifiers on Sentiment140."""

__version__ = "0.1.0"
