"""tweetsent: train, compare, evaluate and serve tweet sentiment classifiers, on your labelled tweets or
Sentiment140.

import tweetsent
clf = tweetsent.load()                         # the model that ships with tweetsent
clf = tweetsent.load("runs/bilstm-fast")       # or a run directory (or an ensemble's) or its model/ folder
clf.predict(["what a great day"])              # labels and per-label probabilities
clf = tweetsent.train("bilstm", data="my.csv") # train (any `tweetsent train` flag by name) and load
tweetsent.evaluate(clf, "test.csv")            # accuracy, macro-F1, ... on a labelled file
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tweetsent.core.errors import UserError
from tweetsent.core.versions import __version__

__all__ = ["Classifier", "Prediction", "UserError", "__version__", "evaluate", "load", "train"]

if TYPE_CHECKING:
    from tweetsent.api import evaluate, train
    from tweetsent.inference.classifier import Classifier, Prediction, load


def __getattr__(name: str) -> Any:
    # Lazy, so `import tweetsent` (and the CLI's start) does not pay for torch until a model is loaded.
    if name in ("Classifier", "Prediction", "load"):
        from tweetsent.inference import classifier

        return getattr(classifier, name)
    if name in ("train", "evaluate"):  # the training stack: imported when asked for
        from tweetsent import api

        return getattr(api, name)
    raise AttributeError(f"module 'tweetsent' has no attribute {name!r}")
