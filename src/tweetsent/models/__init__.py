"""Classifier networks (plain `nn.Module`s), the registry that maps names to them, their families (how each
kind turns texts into inputs and is saved), and the model folder they are loaded from."""

from tweetsent.models import recurrent  # isort: skip (registration order: the study's models first)
from tweetsent.models import bert, ensemble, students  # ensemble: registers the loader of ensemble folders
from tweetsent.models.registry import MODELS, build_model, model_spec

__all__ = ["MODELS", "bert", "build_model", "ensemble", "model_spec", "recurrent", "students"]
