"""Prufrock engine: models, data, training and inference for speech synthesis and voice conversion.

Nothing in this package imports Qt: every feature of the studio is usable from scripts through here.
"""

__version__ = "0.1.0"
