"""Corpora and training data: corpus layouts, the feature cache, length-bucketed batches, parallel pairs."""

from engine.data.cache import FeatureCache, compute_log_mel, compute_waveform
from engine.data.layouts import (
    LAYOUTS,
    detect_layout,
    parse_style,
    read_arctic,
    read_corpus,
    read_list,
    read_ljspeech,
    read_vctk,
)
from engine.data.pairs import parallel_pairs, speakers
from engine.data.sampler import BucketBatchSampler
from engine.data.utterance import Utterance

__all__ = [
    "Utterance", "LAYOUTS", "detect_layout", "read_corpus", "read_ljspeech", "read_arctic", "read_vctk",
    "read_list", "parse_style", "FeatureCache", "compute_log_mel", "compute_waveform",
    "BucketBatchSampler", "parallel_pairs", "speakers",
]
