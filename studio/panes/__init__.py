"""The window's panes: text and actions, style, takes, and the (later) convert and training tabs."""

from studio.panes.later_tabs import ConvertTab, TrainingTab
from studio.panes.style_panel import ReferenceDrop, StylePanel
from studio.panes.takes_pane import TakesPane
from studio.panes.text_pane import TextPane

__all__ = ["ConvertTab", "ReferenceDrop", "StylePanel", "TakesPane", "TextPane", "TrainingTab"]
