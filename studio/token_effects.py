"""What each style token does, in words people understand ("higher, faster"), measured: the voice
speaks a short fixed phrase in its default style and once per token with that token emphasised
(its weight raised by EMPHASIS, as a slider pushed up would), and the F0, speaking rate and level of
each rendering are compared with the default one.

Runs in the engine process (no Qt here), when a voice with style tokens is loaded; the figures are
cached next to the user data by voice name (USER_DATA/token_effects/NAME.json) and measured again
when the voice's weights change. Also the F0 and syllable rate of a reference clip, which the take
made from it states as what it aimed for.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger("prufrock.engine")

PHRASE = "Now is the time for all good people to come home."
"""The fixed phrase every token is measured (and previewed) on."""
EMPHASIS = 0.5
"""How much a token's weight is raised to emphasise it (the sliders run from 0 to 1)."""
SEMITONES_SAID = 0.7
"""F0 changes smaller than this many semitones are not put into words."""
RATE_SAID = 0.06
"""Speaking-rate changes smaller than this fraction are not put into words."""
LEVEL_SAID_DB = 2.0
CACHE_VERSION = 1


@dataclass
class TokenEffect:
    """What emphasising one style token did to the fixed phrase, against the default style."""

    token: int
    f0_hz: float
    """Median F0 of the voiced frames with the token emphasised."""
    base_f0_hz: float
    semitones: float
    """F0 change in semitones (12 = an octave up)."""
    rate: float
    """Speaking-rate ratio: default duration / emphasised duration (1.1 = 10% faster)."""
    duration_s: float
    base_duration_s: float
    level_db: float
    """Change of the mean level of the speech frames, in dB."""
    words: str
    """The change in words, e.g. "higher, faster"; "little change" when nothing passes the thresholds."""

    def tooltip(self) -> str:
        return (f"Emphasised (+{EMPHASIS:.1f}), token {self.token} makes the phrase “{PHRASE}”\n"
                f"F0 {self.base_f0_hz:.0f} → {self.f0_hz:.0f} Hz ({self.semitones:+.1f} semitones), "
                f"rate ×{self.rate:.2f} ({self.base_duration_s:.2f} → {self.duration_s:.2f} s), "
                f"level {self.level_db:+.1f} dB")


def in_words(semitones: float, rate: float, level_db: float) -> str:
    words = []
    if semitones >= SEMITONES_SAID:
        words.append("higher")
    elif semitones <= -SEMITONES_SAID:
        words.append("lower")
    if rate >= 1 + RATE_SAID:
        words.append("faster")
    elif rate <= 1 - RATE_SAID:
        words.append("slower")
    if level_db >= LEVEL_SAID_DB:
        words.append("louder")
    elif level_db <= -LEVEL_SAID_DB:
        words.append("softer")
    return ", ".join(words) or "little change"


def f0_median(wav: np.ndarray, sr: int, fmin: float = 60.0, fmax: float = 450.0) -> float:
    """Median F0 (Hz) of the voiced, loud frames (YIN with an energy gate); nan when none."""
    import librosa

    wav = np.asarray(wav, dtype=np.float32)
    frame, hop = 1024, 160
    if len(wav) < frame:
        return float("nan")
    f0 = librosa.yin(wav, fmin=fmin, fmax=fmax, sr=sr, frame_length=frame, hop_length=hop)
    rms = librosa.feature.rms(y=wav, frame_length=frame, hop_length=hop)[0][: len(f0)]
    loud = rms > 0.25 * float(rms.max()) if rms.size else np.zeros(0, bool)
    f0 = f0[: len(loud)][loud]
    f0 = f0[(f0 > fmin * 1.05) & (f0 < fmax * 0.95)]
    return float(np.median(f0)) if f0.size else float("nan")


def syllable_rate(wav: np.ndarray, sr: int) -> float:
    """Syllables per second of speech, counted as peaks of the smoothed loudness envelope (a rough
    but measured figure); nan for a clip with no speech."""
    wav = np.asarray(wav, dtype=np.float32)
    hop = sr // 100
    n = len(wav) // hop
    if n < 10:
        return float("nan")
    env = np.sqrt((wav[: n * hop].reshape(n, hop) ** 2).mean(axis=1))
    kernel = np.hanning(9)
    env = np.convolve(env, kernel / kernel.sum(), mode="same")
    speech = env > 0.1 * env.max()
    if speech.sum() < 10:
        return float("nan")
    peaks = 0
    for i in range(1, n - 1):  # local maxima at least 0.35 of the max, 80 ms apart
        if env[i] >= env[i - 1] and env[i] > env[i + 1] and env[i] > 0.35 * env.max():
            peaks += 1
    return peaks / (speech.sum() / 100.0)


def speech_frames(mel: np.ndarray, top_db: float = 35.0) -> np.ndarray:
    """Indices of the frames of a (n_mels, T) natural-log mel within `top_db` of its loudest frame."""
    energy = np.log(np.exp(mel).mean(axis=0) + 1e-10) * 20 / math.log(10)
    return np.nonzero(energy > energy.max() - top_db)[0]


def _render(source, vocoder, phrase: str, weights):
    from engine.inference.synthesizer import SpeakRequest, Style

    result = source.render_mels(SpeakRequest(phrase, style=Style(weights=list(weights), source="sliders")))
    mel = np.concatenate([s.mel for s in result.segments], axis=-1)
    frames = speech_frames(mel)
    hop_s = source.audio.hop_length / source.audio.sample_rate
    duration = (frames[-1] - frames[0] + 1) * hop_s if frames.size else mel.shape[-1] * hop_s
    level = float(np.mean(mel[:, frames]) * 20 / math.log(10)) if frames.size else 0.0
    wav = vocoder.vocode(mel)
    return f0_median(wav, source.audio.sample_rate), duration, level


def emphasised(defaults: list[float], token: int) -> list[float]:
    """The default weights with `token` raised by EMPHASIS (at most 1, the sliders' top)."""
    w = [float(x) for x in defaults]
    w[token] = min(1.0, w[token] + EMPHASIS)
    return w


def _fingerprint(source, phrase: str) -> str:
    weights = Path(getattr(source.bundle, "path", "")) / "model.safetensors"
    try:
        st = weights.stat()
        stamp = f"{st.st_size}-{int(st.st_mtime)}"
    except OSError:
        stamp = "?"
    return f"v{CACHE_VERSION}|{stamp}|{phrase}|{EMPHASIS}"


def cached_effects(source, phrase: str = PHRASE, cache: str | None = None) -> list[TokenEffect] | None:
    """The figures kept in `cache` when they were measured for these very weights and phrase."""
    if not cache:
        return None
    try:
        data = json.loads(Path(cache).read_text())
        if data.get("key") == _fingerprint(source, phrase):
            return [TokenEffect(**e) for e in data["effects"]]
    except (OSError, ValueError, TypeError, KeyError):
        pass
    return None


def measure_steps(source, vocoder, phrase: str = PHRASE, cache: str | None = None):
    """Measure every token, one rendering per step: a generator that yields after each rendering (so
    the engine can serve a Speak between two) and returns the list of TokenEffects (cached in `cache`)."""
    found = cached_effects(source, phrase, cache)
    if found is not None:
        return found
    defaults = source.default_token_weights()
    base_f0, base_dur, base_level = _render(source, vocoder, phrase, defaults)
    effects = []
    for i in range(len(defaults)):
        yield i
        f0, dur, level = _render(source, vocoder, phrase, emphasised(defaults, i))
        st = 12 * math.log2(f0 / base_f0) if f0 > 0 and base_f0 > 0 else 0.0
        rate = base_dur / dur if dur > 0 else 1.0
        effects.append(TokenEffect(i, round(f0, 1), round(base_f0, 1), round(st, 2), round(rate, 3), round(dur, 3),
                                   round(base_dur, 3), round(level - base_level, 2),
                                   in_words(st, rate, level - base_level)))
    if cache:
        from engine.fsutil import atomic_write_text

        try:
            Path(cache).parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(Path(cache), json.dumps({"key": _fingerprint(source, phrase), "voice": source.name,
                                                       "phrase": phrase, "emphasis": EMPHASIS,
                                                       "effects": [asdict(e) for e in effects]}, indent=1) + "\n")
        except OSError as exc:
            log.warning("cannot cache the style-token figures in %s: %s", cache, exc)
    return effects


def measure_token_effects(source, vocoder, phrase: str = PHRASE, cache: str | None = None) -> list[TokenEffect]:
    """One TokenEffect per style token of `source`, all at once (see measure_steps)."""
    steps = measure_steps(source, vocoder, phrase, cache)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


def token_cache_path(voice_name: str) -> Path:
    """Where a voice's token figures are kept: next to the user data, by voice name."""
    from engine.paths import user_data_dir

    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in voice_name) or "voice"
    return user_data_dir() / "token_effects" / f"{safe}.json"


def clip_aims(wav: np.ndarray, sr: int) -> tuple[float, float]:
    """(median F0 in Hz, syllables per second) of a reference clip: what a take styled by it aims for."""
    return f0_median(wav, sr), syllable_rate(wav, sr)
