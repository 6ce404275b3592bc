"""Learning equilibria - the torch boundary: nothing outside this package imports torch.

Importing the package loads no torch; its torch modules load when named:
`model` (the models), `archs` (the architecture registry: arrays, limits, decoding),
`loader` (shards and generated streams), `train` (the loop), `predict` (checkpoints and
predictions), `device` (what --device means, without torch), `evaluate` (the paper's
scores), `shipped` (the model inside the package).
"""
from metabnet.learn.archs import ARCHS
from metabnet.learn.shipped import DEFAULT, model_path

__all__ = ["ARCHS", "DEFAULT", "model_path"]
