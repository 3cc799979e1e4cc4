"""The studio's engine process: loads and runs the models, without Qt.

The window's workers (studio/workers.py) start it as `python -m studio.engine_process ADDRESS` and talk
to it over three multiprocessing connections: commands in, events out, and a control line that carries
cancellations. The models run here, not in a thread of the GUI process, so their Python work never
competes with the GUI thread for the GIL (a busy thread made the window stall for 100+ ms on a loaded
machine; a process leaves it at its idle jitter).

It is a thin adapter: it loads the parts (a source: acoustic model or converter; a vocoder; an optional
polisher) and forwards the events of engine.inference.pipeline.Pipeline.stream, the one inference walk
that `prufrock say` uses too. Decoder chunks that come faster than 20 ms are batched into one event.

Commands (tuples):  ("load_voice", spec, device) ("load_vocoder", spec) ("load_polisher", on)
                    ("load_reference", path) ("load_converter", spec, device) ("load_source", path)
                    ("speak", {id, text, weights, reference, speaker, source, vocoder, polish})
                    ("measure_tokens", {voice, phrase, cache}) ("quit",)
Events (tuples):    ("voiceLoaded", VoiceInfo) ("voiceFailed", spec, msg) ("vocoderReady", name)
                    ("vocoderFailed", spec, msg) ("polisherReady", name or "") ("polisherFailed", msg)
                    ("referenceLoaded", ReferenceInfo) ("referenceFailed", path, msg)
                    ("converterLoaded", ConverterInfo) ("converterFailed", spec, msg)
                    ("sourceLoaded", SourceInfo) ("sourceFailed", path, msg)
                    ("tokensMeasured", voice, [TokenEffect]) ("tokensFailed", voice, msg)
                    ("jobStarted", id, Started) ("chunk", id, ChunkEvent) ("segmentDone", id, SegmentResult)
                    ("polished", id, Polished) ("audio", id, AudioChunk) ("take", id, Take)
                    ("cancelled", id) ("failed", id, msg)
                    A job ends with exactly one of take / cancelled / failed; a Stop after some audio was
                    made ends with a take whose `partial` is True. A job whose `source` is a path
                    converts that recording with the loaded converter (the second source), through
                    the same pipeline, vocoder choice and polish choice.
Control:            a job id: that job (and any older one) is cancelled. The pipeline's `cancel`
                    callback reads the control line at every decoder step, so Stop takes effect within
                    one decoder chunk.
"""

from __future__ import annotations

import logging
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine import priority
from engine import threads as cpu_threads

log = logging.getLogger("prufrock.engine")


@dataclass
class VoiceInfo:
    """What the window needs to know about a loaded voice."""

    name: str
    path: str
    kind: str
    role: str
    device: str
    audio: object  # engine.audio.AudioConfig
    n_style_tokens: int
    default_weights: list
    speakers: list
    card: str
    config: dict
    load_s: float
    threads: int = 1
    """torch's intra-op threads in the engine process (engine/threads.py)."""


@dataclass
class ReferenceInfo:
    path: str
    name: str
    mel: np.ndarray
    """(n_mels, T) log-mel of the trimmed clip, for display."""
    weights: list | None
    """The style-token weights the reference encoder gives the clip."""
    f0_hz: float | None = None
    """Median F0 of the clip: what a take styled by it aims for."""
    rate_sps: float | None = None
    """Syllables per second of the clip (envelope peaks): the speaking rate it aims for."""


@dataclass
class ConverterInfo:
    name: str
    path: str
    device: str
    audio: object  # engine.audio.AudioConfig
    target: str
    card: str
    load_s: float


@dataclass
class SourceInfo:
    """A recording to convert, read in the engine process for display and playback."""

    path: str
    name: str
    wav: np.ndarray
    """Mono float32 samples at `sample_rate` (the converter's rate)."""
    sample_rate: int
    mel: np.ndarray
    """(n_mels, T) log-mel of the whole recording (not trimmed: its time axis is the recording's)."""
    duration_s: float


@dataclass
class SegmentLabels:
    """What the window is told about a segment when a job starts (a source's segments may hold
    tensors, which are not sent over the event line)."""

    index: int
    text: str
    tokens: list


def error_message(exc: BaseException, doing: str) -> str:
    """One line for the window; unexpected errors also get their traceback on stderr (the log)."""
    from engine.errors import BadInput, NotBuiltYet

    if isinstance(exc, (BadInput, NotBuiltYet)):
        return str(exc)
    log.error("%s failed:\n%s", doing, "".join(traceback.format_exception(exc)))
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{doing} failed: {text} (details in the log)"


class ChunkBatcher:
    """Joins decoder chunks that come faster than `interval_s` into one event (the first is sent at
    once), so a fast voice does not flood the window with tiny messages."""

    def __init__(self, send, interval_s: float = 0.02) -> None:
        self.send, self.interval_s = send, interval_s
        self.pending: list = []
        self.last = 0.0

    def add(self, ev) -> None:
        self.pending.append(ev)
        if time.perf_counter() - self.last >= self.interval_s:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        from engine.inference.synthesizer import ChunkEvent

        evs, self.pending = self.pending, []
        if len(evs) == 1:
            ev = evs[0]
        else:
            ev = ChunkEvent(evs[0].segment, np.concatenate([e.mel for e in evs], axis=-1),
                            np.concatenate([e.alignment for e in evs], axis=0),
                            np.concatenate([e.stop_prob for e in evs], axis=0), evs[-1].elapsed_s)
        self.send(ev)
        self.last = time.perf_counter()


MAX_SOURCE_S = 600.0
"""Longest recording the Convert tab takes (its samples and mel travel to the window and are drawn);
longer ones are converted by `prufrock convert`, which has no limit."""


def _check_source_length(path: str) -> None:
    """BadInput when the recording's header says it is longer than MAX_SOURCE_S (checked before decoding;
    a file whose header soundfile cannot read is left to load_audio, which reports why)."""
    import soundfile as sf

    from engine.errors import BadInput

    try:
        seconds = float(sf.info(path).duration)
    except Exception:  # noqa: BLE001
        return
    if seconds > MAX_SOURCE_S:
        raise BadInput(f"{Path(path).name} is {seconds / 60:.1f} min long; the Convert tab takes recordings up "
                       f"to {MAX_SOURCE_S / 60:.0f} min: cut it, or convert it whole with "
                       f"'prufrock convert {Path(path).name} -o OUT.wav'")


class Engine:
    def __init__(self, commands, events, control) -> None:
        self.commands, self.events, self.control = commands, events, control
        self.cancelled_upto = 0
        self.source = None  # acoustic model or converter (the pipeline's source)
        self.vocoder = None
        self.polisher = None
        self.references: dict = {}
        self.converter = None  # the second source: a voice converter (engine.models.vc.adapter)
        self.vocoder_spec: str | None = None
        self.convert_vocoder = None  # (spec, vocoder) for a converter whose audio differs from the voice's
        self.convert_polisher = None  # (converter name, polisher)
        self.idle = None  # (voice name, generator): work done while no command waits (token measurement)

    def send(self, *msg) -> None:
        self.events.send(msg)

    def is_cancelled(self, job_id: int) -> bool:
        while self.control.poll():
            self.cancelled_upto = max(self.cancelled_upto, int(self.control.recv()))
        return job_id <= self.cancelled_upto

    def serve(self) -> None:
        while True:
            try:
                if self.idle is not None and not self.commands.poll():
                    self._idle_step()  # one rendering of the background measurement, then look again
                    continue
                msg = self.commands.recv()
            except (EOFError, OSError):
                return
            kind, args = msg[0], msg[1:]
            if kind == "quit":
                return
            handler = getattr(self, "do_" + kind, None)
            if handler is None:
                log.error("unknown command %r", kind)
                continue
            try:
                handler(*args)
            except (EOFError, OSError):  # the window is gone
                return

    # ----- models --------------------------------------------------------------------------------
    def do_load_voice(self, spec: str, device: str) -> None:
        import torch

        start = time.perf_counter()
        try:
            bundle, kind, source = _adapter_for(spec, device, ("acoustic", "converter"), "cannot speak in this version")
            _warm_up(source)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a message
            self.send("voiceFailed", spec, error_message(exc, f"loading voice {Path(spec).name!r}"))
            return
        self.source, self.vocoder, self.polisher, self.references = source, None, None, {}
        self.idle = None
        self.send("voiceLoaded", VoiceInfo(
            name=source.name, path=spec, kind=bundle.kind, role=kind.role, device=source.device.type,
            audio=source.audio, n_style_tokens=getattr(source, "n_style_tokens", 0),
            default_weights=source.default_token_weights() if hasattr(source, "default_token_weights") else [],
            speakers=list(getattr(source, "speakers", [])), card=bundle.card, config=dict(bundle.config),
            load_s=time.perf_counter() - start, threads=torch.get_num_threads()))

    def do_load_vocoder(self, spec: str) -> None:
        from engine.errors import BadInput
        from engine.inference.vocoder import load_vocoder

        try:
            if self.source is None:
                raise BadInput("no voice is loaded, so no vocoder can be matched to it")
            audio = self.source.audio
            vocoder = load_vocoder(spec, audio, device=self.source.device)
            vocoder.vocode(np.full((audio.n_mels, 8), np.log(audio.log_floor), dtype=np.float32))  # warm-up
        except Exception as exc:  # noqa: BLE001
            self.send("vocoderFailed", spec, error_message(exc, f"loading vocoder {spec!r}"))
            return
        self.vocoder, self.vocoder_spec = vocoder, spec
        self.send("vocoderReady", vocoder.name)

    def do_load_polisher(self, on: bool) -> None:
        from engine.errors import BadInput
        from engine.inference.polisher import load_polisher

        if not on:
            self.polisher = None
            self.send("polisherReady", "")
            return
        try:
            if self.source is None:
                raise BadInput("no voice is loaded, so no polisher can be matched to it")
            self.polisher = load_polisher(self.source.name, device=self.source.device)
        except Exception as exc:  # noqa: BLE001
            self.polisher = None
            self.send("polisherFailed", error_message(exc, "loading the polisher"))
            return
        self.send("polisherReady", self.polisher.name)

    def do_load_reference(self, path: str) -> None:
        from engine.errors import BadInput

        try:
            if self.source is None:
                raise BadInput("no voice is loaded: wait for the voice to load, then load the clip again")
            if not hasattr(self.source, "reference_from_file"):
                raise BadInput(f"{self.source.name} takes no reference clip")
            style = self.source.reference_from_file(path)
            _, weights = self.source.style_vector(style, 1)
        except Exception as exc:  # noqa: BLE001
            self.send("referenceFailed", path, error_message(exc, f"reading reference clip {Path(path).name}"))
            return
        self.references = {path: style}
        f0 = rate = None
        try:
            from engine.audio.io import load_audio
            from engine.audio.trim import trim_silence
            from studio.token_effects import clip_aims

            sr = self.source.audio.sample_rate
            wav, _ = load_audio(path, sr, max_seconds=60)
            f0, rate = clip_aims(trim_silence(wav, self.source.audio), sr)
            f0, rate = (None if f0 != f0 else f0), (None if rate != rate else rate)  # nan: not measurable
        except Exception as exc:  # noqa: BLE001 - the figures are a courtesy; the clip works without them
            log.warning("measuring the clip's F0 and rate failed: %s", exc)
        self.send("referenceLoaded", ReferenceInfo(path, Path(path).name, style.reference_mel.cpu().numpy(),
                                                   weights, f0, rate))

    def do_load_converter(self, spec: str, device: str) -> None:
        start = time.perf_counter()
        try:
            bundle, _, converter = _adapter_for(spec, device, ("converter",), "does not convert speech")
        except Exception as exc:  # noqa: BLE001
            self.send("converterFailed", spec, error_message(exc, f"loading converter {Path(spec).name!r}"))
            return
        self.converter, self.convert_polisher = converter, None
        self.send("converterLoaded", ConverterInfo(
            name=converter.name, path=spec, device=converter.device.type, audio=converter.audio,
            target=str(getattr(getattr(converter, "cfg", None), "target", "") or ""), card=bundle.card,
            load_s=time.perf_counter() - start))

    def do_load_source(self, path: str) -> None:
        """Read a recording to convert (at the converter's rate) and its log-mel, for the window."""
        import torch

        from engine.audio import AudioConfig
        from engine.audio.features import log_mel_spectrogram
        from engine.audio.io import load_audio
        from engine.audio.trim import has_sound
        from engine.errors import BadInput

        try:
            audio = self.converter.audio if self.converter is not None else AudioConfig()
            _check_source_length(path)
            wav, _ = load_audio(path, audio.sample_rate)
            if not has_sound(wav):
                raise BadInput(f"{Path(path).name} is silent (its peak is below -60 dBFS): "
                               "record or choose a recording with speech")
            mel = log_mel_spectrogram(torch.from_numpy(np.ascontiguousarray(wav)), audio).float().numpy()
        except Exception as exc:  # noqa: BLE001
            self.send("sourceFailed", path, error_message(exc, f"reading {Path(path).name}"))
            return
        self.send("sourceLoaded", SourceInfo(path, Path(path).name, wav.astype(np.float32), audio.sample_rate,
                                             mel, len(wav) / audio.sample_rate))

    def do_measure_tokens(self, job: dict) -> None:
        """What each style token does to the voice (F0 and speaking rate), measured on a fixed phrase:
        from the cache at once, else one rendering at a time while no other command waits."""
        from engine.inference.vocoder import GriffinLimVocoder
        from studio.token_effects import measure_steps

        voice = job.get("voice", "")
        if self.source is None or not getattr(self.source, "n_style_tokens", 0):
            self.send("tokensFailed", voice, "no voice with style tokens is loaded")
            return
        # Griffin-Lim whatever the chosen vocoder: F0 and rate are the mel's (the cache is keyed by the
        # voice alone), and a Speak waits for the rendering in progress: one WaveNet rendering of the
        # phrase took 1.5-4 s on 2 cores, one with Griffin-Lim a third of that.
        measuring = GriffinLimVocoder(self.source.audio, device=self.source.device)
        self.idle = (voice, measure_steps(self.source, measuring, job["phrase"], job.get("cache")))

    def _idle_step(self) -> None:
        voice, steps = self.idle
        try:
            next(steps)
        except StopIteration as done:
            self.idle = None
            self.send("tokensMeasured", voice, done.value)
        except Exception as exc:  # noqa: BLE001
            self.idle = None
            self.send("tokensFailed", voice, error_message(exc, "measuring the style tokens"))

    # ----- converting ----------------------------------------------------------------------------
    def _convert_parts(self, job: dict):
        """(source, vocoder, polisher) for a conversion job: the converter, the job's vocoder choice
        matched to the converter's audio, and its polisher when Polish is on and one is installed."""
        from engine.errors import BadInput
        from engine.inference.polisher import load_polisher, polishers_for
        from engine.inference.vocoder import load_vocoder

        conv = self.converter
        if conv is None:
            raise BadInput("no voice converter is loaded: choose one in the converter list")
        spec = job.get("vocoder") or self.vocoder_spec or "griffinlim"
        if self.vocoder is not None and self.vocoder_spec == spec and self.vocoder.audio == conv.audio:
            vocoder = self.vocoder
        else:
            if self.convert_vocoder is None or self.convert_vocoder[0] != (spec, conv.name):
                self.convert_vocoder = ((spec, conv.name), load_vocoder(spec, conv.audio, device=conv.device))
            vocoder = self.convert_vocoder[1]
        polisher = None
        if job.get("polish") and polishers_for(conv.name):
            if self.convert_polisher is None or self.convert_polisher[0] != conv.name:
                self.convert_polisher = (conv.name, load_polisher(conv.name, device=conv.device))
            polisher = self.convert_polisher[1]
        if hasattr(conv, "candidates"):
            from engine.models.vc.adapter import DEFAULT_CANDIDATES

            conv.candidates = max(1, int(job.get("candidates") or DEFAULT_CANDIDATES))
        return conv, vocoder, polisher

    # ----- speaking ------------------------------------------------------------------------------
    def _request(self, job: dict):
        from engine.inference.synthesizer import SpeakRequest, Style

        style = None
        if job.get("reference"):
            path = job["reference"]
            style = self.references.get(path)
            if style is None:
                style = self.source.reference_from_file(path)
                self.references = {path: style}
        elif job.get("weights") is not None:
            style = Style(weights=list(job["weights"]), source="sliders")
        return SpeakRequest(job.get("text", ""), style=style, speaker=job.get("speaker"),
                            source=job.get("source") or "text")

    def do_speak(self, job: dict) -> None:
        """Run the pipeline for one job and forward its events (see the module docstring)."""
        from engine.errors import BadInput
        from engine.inference.pipeline import AudioChunk, Pipeline, Polished, Started, TakeReady
        from engine.inference.synthesizer import ChunkEvent, SegmentDone

        job_id = job["id"]

        def cancelled() -> bool:
            return self.is_cancelled(job_id)

        batch = ChunkBatcher(lambda ev: self.send("chunk", job_id, ev))
        took = False
        try:
            if job.get("source") not in (None, "", "text"):
                from engine.models.vc.adapter import ConvertRequest

                pipeline = Pipeline(*self._convert_parts(job))
                request = ConvertRequest(path=job["source"])
            else:
                if self.source is None:
                    raise BadInput("no voice is loaded yet: wait until the voice has loaded")
                if self.vocoder is None:
                    raise BadInput("no vocoder is loaded: choose griffinlim in the vocoder list")
                pipeline = Pipeline(self.source, self.vocoder, self.polisher)
                request = self._request(job)
            for ev in pipeline.stream(request, cancel=cancelled):
                if isinstance(ev, ChunkEvent):
                    batch.add(ev)
                    continue
                batch.flush()
                if isinstance(ev, Started):  # the window needs each segment's labels, not its tensors
                    self.send("jobStarted", job_id, Started(
                        [SegmentLabels(getattr(sg, "index", i), str(getattr(sg, "text", "")), list(sg.tokens))
                         for i, sg in enumerate(ev.segments)], ev.token_weights))
                elif isinstance(ev, SegmentDone):
                    self.send("segmentDone", job_id, ev.result)
                elif isinstance(ev, Polished):
                    self.send("polished", job_id, ev)
                elif isinstance(ev, AudioChunk):
                    self.send("audio", job_id, ev)
                elif isinstance(ev, TakeReady):
                    took = True
                    self.send("take", job_id, ev.take)
        except Exception as exc:  # noqa: BLE001
            if not job.get("retried_on_cpu") and self._move_to_cpu_after_oom(exc, job):
                job["retried_on_cpu"] = True
                self.do_speak(job)
                return
            self.send("failed", job_id, error_message(exc, "synthesis"))
            return
        if not took:
            self.send("cancelled", job_id)

    def _move_to_cpu_after_oom(self, exc: BaseException, job: dict) -> bool:
        """CUDA ran out of memory during a synthesis: the voice, its vocoder and polisher move to the CPU
        (for this job, which runs again, and the next ones) and the window is told. -> whether they did."""
        from engine.inference.cpu_fallback import OOM_NOTICE, is_cuda_oom
        from engine.inference.polisher import load_polisher
        from engine.inference.vocoder import load_vocoder

        source = self.source
        if job.get("source") not in (None, "", "text") or source is None or source.device.type != "cuda" \
                or not is_cuda_oom(exc):
            return False
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        try:
            source = type(source)(source.bundle, device="cpu", seed=getattr(source, "seed", 0))
            vocoder = load_vocoder(self.vocoder_spec or "griffinlim", source.audio, device=source.device)
            polisher = load_polisher(source.name, device=source.device) if self.polisher is not None else None
        except Exception as again:  # noqa: BLE001
            log.warning("moving the voice to the CPU failed: %s", again)
            return False
        self.source, self.vocoder, self.polisher = source, vocoder, polisher
        self.send("notice", OOM_NOTICE + "; the voice runs on the CPU from now on")
        return True


def _adapter_for(spec: str, device: str, roles: tuple[str, ...], refusal: str):
    """-> (bundle, kind, the kind's inference adapter on `device`) for a model whose role is one of `roles`;
    NotBuiltYet ("NAME is a KIND model, which <refusal>") otherwise."""
    from engine import kinds
    from engine.bundle import load_bundle
    from engine.errors import NotBuiltYet

    bundle = load_bundle(spec)
    kind = kinds.get(bundle.kind)
    adapter = kind.adapter_class()
    if adapter is None or kind.role not in roles:
        raise NotBuiltYet(f"{bundle.name} is a {bundle.kind} model, which {refusal}")
    return bundle, kind, adapter(bundle, device=device)


def _warm_up(source) -> None:
    """A decode cancelled after its first step and a short postnet pass, so the first Speak does not
    pay torch's first-call costs (sources that cannot, skip it)."""
    import torch

    if not (hasattr(source, "stream") and hasattr(getattr(source, "model", None), "postprocess")):
        return
    for _ in source.stream("Hello.", cancel=lambda: True):
        pass
    with torch.inference_mode():
        source.model.postprocess(torch.zeros(1, source.audio.n_mels, 12, device=source.device))


def configure_process() -> None:
    """The engine process's CPU use, first thing: the niceness of PRUFROCK_NICENESS when the studio was
    given one (engine/priority.py; else the window's own) and its models on one thread unless
    PRUFROCK_THREADS says otherwise (engine/threads.py)."""
    priority.apply_from_env()
    cpu_threads.apply_from_env(cpu_threads.INTERACTIVE_THREADS)


def main(argv=None) -> int:
    from multiprocessing.connection import Client

    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.WARNING, format="prufrock engine: %(levelname)s %(message)s")
    address = argv[0]
    configure_process()
    authkey = bytes.fromhex(sys.stdin.readline().strip())
    events = Client(address, authkey=authkey)
    commands = Client(address, authkey=authkey)
    control = Client(address, authkey=authkey)
    try:
        Engine(commands, events, control).serve()
    except KeyboardInterrupt:
        pass
    finally:
        for c in (events, commands, control):
            c.close()
    return 0


if __name__ == "__main__":
    # Run the copy imported as studio.engine_process, so pickled classes carry that module name.
    from studio.engine_process import main as _main

    sys.exit(_main())
