"""Pretrained word vectors (GloVe) for the recurrent models."""
