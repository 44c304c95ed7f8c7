"""Sentiment140 data: reading, cleaning, tokenizing, vocabulary, prepared splits and batches."""
