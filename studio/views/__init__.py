"""Live views (pyqtgraph): mel spectrogram, attention alignment, waveform with playhead."""

from studio.views.alignment import AlignmentView
from studio.views.spectrogram import SpectrogramView
from studio.views.waveform import WaveformView

__all__ = ["AlignmentView", "SpectrogramView", "WaveformView"]
