"""Model families; importing this package registers the two built in (word vectors, pretrained encoders)."""

from tweetsent.models.families import pretrained, word
from tweetsent.models.families.base import FAMILIES, Family, family_of

__all__ = ["FAMILIES", "Family", "family_of", "pretrained", "word"]
