"""One press of Speak, from the click to the take: sends the job to the engine process and turns the
pipeline's events (engine.inference.pipeline.Pipeline.stream, forwarded by studio/engine_process.py)
into drawing, playback and a take.

    jobStarted   the sentences are known: the views start following, the takes list shows the take
                 as in progress, progress counts "decoding n/N · vocoding m/N"
    chunk        mel frames and attention rows are drawn as the decoder makes them
    segmentDone  a sentence's final (postnet) mel replaces its live frames
    audioChunk   samples are drawn on the waveform and played while later ones are still being made
    takeReady    the take is listed (a partial one when Stop came after some audio), kept on disk
    cancelled / failed   nothing was made / a one-line message

A conversion (studio/convert_controller.py) is a job like any other: `start(job, convert)` makes the
Convert tab's view model and views the ones its events are drawn into.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject

from engine.inference.pipeline import SENTENCE_GAP_S
from studio.workers import SpeakJob


class SpeakController(QObject):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.w = window
        self.stream_open = False
        self._fed_segment = -1
        self._segments = 0
        self._decoded = 0
        self._vocoded = 0
        self.target = None  # the ConvertController while a conversion runs, else None (the Speak tab)

    @property
    def vm(self):
        return self.target.vm if self.target is not None else self.w.take_vm

    def _views(self):
        if self.target is not None:
            return self.target.tab.converted_view, self.target.tab.alignment
        return self.w.speak_tab.spectrogram, self.w.speak_tab.alignment

    def connect_engine(self, e) -> None:
        e.jobStarted.connect(self.started)
        e.chunk.connect(self.chunk)
        e.segmentDone.connect(self.segment_done)
        e.audioChunk.connect(self.audio_chunk)
        e.takeReady.connect(self.take_ready)
        e.jobCancelled.connect(self.cancelled)
        e.jobFailed.connect(self.failed)

    def current(self, job_id: int) -> SpeakJob | None:
        """The running job if `job_id` is it (events of older jobs are ignored)."""
        job = self.w.job
        return job if job is not None and job.id == job_id else None

    # ----- starting and stopping --------------------------------------------------------------------
    def speak(self, text: str | None = None, source: str = "text") -> SpeakJob | None:
        w = self.w
        if text is not None:
            w.text_input.setPlainText(text)
        if not w.can_speak():
            if w.job is None:
                w.statusBar().showMessage("The voice is still loading: Speak is available when it is ready", 5000)
            return None
        text = w.text_pane.plain_text()
        if source == "text" and not text.strip():
            w.show_error("There is no text to speak: type something in the text pane first.", kind="info",
                         topic="text")
            return None
        job = SpeakJob(text=text, speaker=w.toolbar.speaker(), source=source, **w.style_vm.request())
        return self.start(job)

    def start(self, job: SpeakJob, target=None) -> SpeakJob:
        """Send `job` to the engine; its events are drawn into the Speak tab, or into `target`'s views
        (the ConvertController) for a conversion."""
        w = self.w
        text = job.text
        self.target = target
        w.job = job
        w.audio.stop()
        self.stream_open = False
        self._fed_segment = -1
        self._segments = self._decoded = self._vocoded = 0
        w.banner.clear("text")
        w.banner.clear("synthesis")
        w.busy_bar.setRange(0, 0)
        w.busy_bar.setFormat("starting…")
        w.busy_bar.show()
        w.speak_tab.takes_pane.begin_pending(text if not job.converting else "converting " + Path(job.source).name)
        w.statusBar().showMessage("Converting…" if job.converting else "Speaking…")
        w.update_actions()
        w.engine.speak(job)
        return job

    def stop(self) -> None:
        w = self.w
        if w.job is not None and not w.job.is_cancelled():
            w.engine.cancel(w.job)
            w.statusBar().showMessage("Stopping…")
        self.stream_open = False
        w.audio.stop()
        w.update_actions()

    # ----- the engine's events ----------------------------------------------------------------------
    def _progress(self) -> None:
        n = max(self._segments, 1)
        text = f"decoding {min(self._decoded + 1, n) if self._decoded < n else n}/{n} · vocoding {self._vocoded}/{n}"
        self.w.busy_bar.setRange(0, 2 * n)
        self.w.busy_bar.setValue(self._decoded + self._vocoded)
        self.w.busy_bar.setFormat(text)
        self.w.speak_tab.takes_pane.set_pending_text(text)

    def started(self, job_id: int, ev) -> None:
        job = self.current(job_id)
        if job is None:
            return
        if job.started:
            # The engine runs the job again from the start (it moved to the CPU after CUDA ran out of
            # memory): what was drawn, counted and played of the first attempt is dropped.
            self.w.audio.stop()
            self.stream_open = False
            self._fed_segment = -1
            self._decoded = self._vocoded = 0
            job.first_audio_s = job.first_mel_s = None
        job.started = True
        for view in self._views():
            view.follow(True)
        self.vm.begin(ev.segments)
        self._segments = len(ev.segments)
        self._progress()

    def chunk(self, job_id: int, ev) -> None:
        job = self.current(job_id)
        if job is None:
            return
        self.vm.append_chunk(ev)
        if job.first_mel_s is None:
            job.first_mel_s = time.perf_counter() - job.t0
            self.vm.soon()  # draw the first frames without waiting for the frame timer
            self.w.firstChunk.emit()

    def segment_done(self, job_id: int, result) -> None:
        if self.current(job_id) is not None:
            self.vm.finish_segment(result)
            self._decoded += 1
            self._progress()

    def audio_chunk(self, job_id: int, ev) -> None:
        job = self.current(job_id)
        if job is None or job.is_cancelled():
            return
        w = self.w
        if ev.last:
            self._vocoded += 1
            self._progress()
            return
        if not len(ev.wav):
            return
        self.vm.append_audio(ev.segment, ev.wav)
        self.vm.soon()
        if job.first_audio_s is None:
            job.first_audio_s = time.perf_counter() - job.t0
            w.firstAudio.emit()
        sr = self.vm.audio.sample_rate
        if self._fed_segment < 0:
            w.play_offset_s = 0.0
            self.stream_open = w.audio.begin(sr)
        if self.stream_open:
            if 0 <= self._fed_segment != ev.segment:
                w.audio.feed(np.zeros(int(SENTENCE_GAP_S * sr), dtype=np.float32))
            w.audio.feed(ev.wav)
        self._fed_segment = ev.segment

    def take_ready(self, job_id: int, take) -> None:
        job = self.current(job_id)
        if job is None:
            return
        w = self.w
        job.done_s = time.perf_counter() - job.t0
        if self.stream_open:
            w.audio.end_feed()
            self.stream_open = False
        target = self.target
        ref = w.style_vm.reference
        if job.reference and ref is not None and ref.path == job.reference and not job.converting:
            aims = w.style.aims(ref)
            if aims:
                take.style = f"{take.style} ({aims})"
        if job.purpose:
            take.style = f"{job.purpose}: {take.style}"
        self.end("take")
        n = w.takes_ctl.add(take) + 1
        if target is not None:
            target.take_added(take)
        w.update_labels()
        done = f"{take.duration_s:.2f} s of audio in {take.synthesis_s + take.polish_s + take.vocoder_s:.2f} s"
        if take.partial:
            w.statusBar().showMessage(f"Stopped: take {n} keeps the {done} made before Stop (partial)", 8000)
        else:
            w.statusBar().showMessage(f"Take {n}: {done} (RTF {take.rtf:.2f})", 8000)
        w.takeAdded.emit(n - 1)
        w.jobEnded.emit("partial" if take.partial else "take")

    def cancelled(self, job_id: int) -> None:
        if self.current(job_id) is None:
            return
        self.end("cancelled")
        self.w.statusBar().showMessage("Stopped before any audio was made: no take was added", 6000)
        self.w.jobEnded.emit("cancelled")

    def failed(self, job_id: int, message: str) -> None:
        if self.current(job_id) is None:
            return
        self.w.audio.stop()
        self.end("failed")
        self.w.show_error(message, topic="synthesis")
        self.w.jobEnded.emit("failed")

    def end(self, how: str) -> None:
        w = self.w
        w.last_job, w.job = w.job, None
        if how != "take":
            self.stream_open = False
        w.speak_tab.takes_pane.drop_pending()
        self.vm.end_live()
        for view in self._views():
            view.follow(False)  # each fits the take when it next draws (studio/views/refit.py)
        if self.target is not None:
            self.target.job_ended()
        self.target = None
        w.busy_bar.hide()
        w.update_actions()
