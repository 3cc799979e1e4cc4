"""Offline speech recognition with the pocketsphinx package's English model (optional extra:
`pip install pocketsphinx`), used to score intelligibility."""

from __future__ import annotations

import numpy as np

from engine.audio.io import resample
from engine.errors import BadInput


class Recognizer:
    def __init__(self) -> None:
        try:
            from pocketsphinx import Config, Decoder
        except ImportError:
            raise BadInput("--asr needs the pocketsphinx package: pip install pocketsphinx") from None
        config = Config()
        config.set_string("-logfn", "/dev/null")
        self.decoder = Decoder(config)
        self.sample_rate = int(config["samprate"])

    def transcribe(self, wav: np.ndarray, sample_rate: int) -> str:
        """The best hypothesis for one clip, independent of the clips transcribed before it: the feature
        front end (live cepstral mean normalisation, noise tracking) is reset first, as a fresh decoder
        would be; without the reset a hypothesis depended on the previous clip (10 of 12 changed after
        noisy neighbours)."""
        wav = resample(np.asarray(wav, dtype=np.float32), sample_rate, self.sample_rate)
        pcm = (np.clip(wav, -1, 1) * 32767).astype(np.int16).tobytes()
        self.decoder.reinit_feat()
        self.decoder.start_utt()
        self.decoder.process_raw(pcm, full_utt=True)
        self.decoder.end_utt()
        hyp = self.decoder.hyp()
        return hyp.hypstr if hyp is not None else ""
