"""Classifier networks (plain `nn.Module`s) and the registry that maps names to them."""

from tweetsent.models.registry import MODELS, build_model

__all__ = ["MODELS", "build_model"]
