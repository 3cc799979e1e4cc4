"""The window's panes: text and actions, style, takes, and the convert and training tabs."""

from studio.panes.convert_tab import ConvertTab
from studio.panes.style_panel import ReferenceDrop, StylePanel
from studio.panes.takes_pane import TakesPane
from studio.panes.text_pane import TextPane
from studio.panes.training_tab import TrainingTab

__all__ = ["ConvertTab", "ReferenceDrop", "StylePanel", "TakesPane", "TextPane", "TrainingTab"]
