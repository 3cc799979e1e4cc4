"""The About dialog: the models loaded, with their cards."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout

import studio


def _nested(card: str) -> str:
    """A card's headings two levels down, under the dialog's own."""
    return "\n".join("##" + line if line.startswith("#") else line for line in card.strip().splitlines())


def about_markdown(voice, vocoder_name: str, vocoder_card: str = "") -> str:
    parts = [f"# Prufrock {studio.__version__}",
             "A desktop studio for neural speech synthesis.", ""]
    if voice is None:
        parts.append("**Voice:** none loaded.")
    else:
        parts += [f"**Voice:** `{voice.name}` — {voice.config.get('variant', voice.config.get('kind'))}, "
                  f"{voice.n_style_tokens} style tokens, {len(voice.speakers) or 1} speaker(s), "
                  f"{voice.audio.sample_rate} Hz, on {voice.device}  ",
                  f"`{voice.path}`", ""]
    if vocoder_name == "griffinlim":
        parts.append("**Vocoder:** Griffin-Lim (phase reconstruction from the mel spectrogram; no trained model).")
    else:
        parts.append(f"**Vocoder:** `{vocoder_name}`")
    parts.append("")
    if voice is not None:
        parts += ["---", f"## Model card: {voice.name}", "", _nested(voice.card) or "*(this model has no CARD.md)*"]
    if vocoder_card:
        parts += ["", "---", f"## Model card: {vocoder_name}", "", _nested(vocoder_card)]
    return "\n".join(parts)


class AboutDialog(QDialog):
    def __init__(self, markdown: str, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle("About Prufrock")
        self.resize(640, 560)
        self.browser = QTextBrowser(objectName="aboutText")
        self.browser.setOpenExternalLinks(True)
        self.browser.setMarkdown(markdown)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)
