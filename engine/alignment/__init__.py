"""Attention alignments: metrics (focus rate, completeness, diagonal mass), the stop gate that decides
when a decoder may stop, and a small PNG writer for alignment images. Inference, training and
evaluation all use these."""

from engine.alignment.metrics import alignment_complete, diagonal_mass, focus_rate
from engine.alignment.png import join_alignments, save_alignment_png
from engine.alignment.stop_gate import StopGate

__all__ = ["StopGate", "alignment_complete", "diagonal_mass", "focus_rate", "join_alignments", "save_alignment_png"]
