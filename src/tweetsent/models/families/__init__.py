"""Model families; importing this package registers every module in it (a new family is one module here that
calls `register_family`): word vectors (word.py) and pretrained encoders (pretrained.py)."""

import importlib
import pkgutil

from tweetsent.models.families.base import FAMILIES, Family, family_of

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["FAMILIES", "Family", "family_of"]
