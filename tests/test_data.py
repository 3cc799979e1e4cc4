"""engine.data: corpus layouts, the feature cache, bucketed batches, parallel pairs."""

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import engine.data.cache as cache_mod
from engine.audio import AudioConfig
from engine.data import (
    BucketBatchSampler,
    FeatureCache,
    Utterance,
    detect_layout,
    parallel_pairs,
    parse_style,
    read_corpus,
    speakers,
)
from engine.errors import BadInput



# ------------------------------------------------------------------------------------------- Utterance


def test_utterance_frozen_and_style_not_compared():
    a = Utterance("x", Path("a.wav"), "hi", "s", {"pitch": 1.0})
    b = Utterance("x", Path("a.wav"), "hi", "s", {"pitch": 2.0})
    assert a == b and hash(a) == hash(b)
    assert Utterance("x", Path("a.wav"), "hi").speaker == "default"
    assert Utterance("x", Path("a.wav"), "hi").style == {}
    with pytest.raises(Exception):
        a.id = "y"


# ------------------------------------------------------------------------------------------- layouts


def test_ljspeech(ljspeech_corpus, sentences):
    utts = read_corpus(ljspeech_corpus)
    assert detect_layout(ljspeech_corpus) == "ljspeech"
    assert len(utts) == len(sentences)
    assert [u.id for u in utts] == [f"LJ001-{i:04d}" for i in range(1, 9)]
    assert all(u.speaker == "default" and u.style == {} for u in utts)
    assert all(u.audio_path.is_file() for u in utts)
    assert utts[0].text == sentences[0].replace("etc.", "et cetera")  # normalised column wins
    assert utts[1].text == '"Not at this particular case, Tom," apologized Whittemore.'  # quotes kept
    assert utts[2].text == sentences[2]
    # the metadata.csv file itself is also accepted
    assert read_corpus(ljspeech_corpus / "metadata.csv") == utts


def test_multispeaker_ljspeech(multispeaker_corpus, sentences):
    utts = read_corpus(multispeaker_corpus)
    assert len(utts) == 2 * len(sentences)
    assert speakers(utts) == ["espeak_a", "espeak_b"]
    a = [u for u in utts if u.speaker == "espeak_a"]
    b = [u for u in utts if u.speaker == "espeak_b"]
    assert [u.id for u in a] == [u.id for u in b] == [f"arctic_a{i:04d}" for i in range(1, 9)]
    assert a[0].audio_path == multispeaker_corpus / "wavs" / "espeak_a" / "arctic_a0001.wav"
    assert [u.text for u in a] == sentences
    assert a[0].style == {"pitch": 0.0, "rate": 1.0}
    assert b[3].style == {"pitch": 2.0, "rate": pytest.approx(1.1)}


def test_arctic(arctic_corpus, sentences):
    assert detect_layout(arctic_corpus) == "arctic"
    utts = read_corpus(arctic_corpus)
    assert [u.id for u in utts] == [f"arctic_a{i:04d}" for i in range(1, 9)]
    assert [u.text for u in utts] == sentences
    assert speakers(utts) == ["esp"]
    assert all(u.audio_path.parent == arctic_corpus / "wav" for u in utts)


def test_arctic_speaker_from_other_folder_name(arctic_corpus, tmp_path):
    other = tmp_path / "my_voice"
    shutil.copytree(arctic_corpus, other)
    assert speakers(read_corpus(other, "arctic")) == ["my_voice"]


def test_vctk(vctk_corpus, sentences):
    assert detect_layout(vctk_corpus) == "vctk"
    utts = read_corpus(vctk_corpus)
    assert len(utts) == 2 * len(sentences)
    assert speakers(utts) == ["p225", "p226"]
    p225 = [u for u in utts if u.speaker == "p225"]
    assert [u.id for u in p225] == [f"{i:03d}" for i in range(1, 9)]
    assert [u.text for u in p225] == sentences
    assert p225[0].audio_path.name == "p225_001_mic1.flac"


def test_vctk_wav48_and_missing_recording_skipped(vctk_corpus, tmp_path):
    root = tmp_path / "VCTK-Corpus"
    shutil.copytree(vctk_corpus / "txt", root / "txt")
    (root / "wav48" / "p225").mkdir(parents=True)
    src = sorted((vctk_corpus / "wav48_silence_trimmed" / "p225").glob("*.flac"))[:3]
    for f in src:  # format follows content, not suffix: flac data under .wav is fine for soundfile
        shutil.copy(f, root / "wav48" / "p225" / f.name.replace("_mic1.flac", ".wav"))
    utts = read_corpus(root)
    assert [(u.speaker, u.id) for u in utts] == [("p225", "001"), ("p225", "002"), ("p225", "003")]
    assert utts[0].audio_path == root / "wav48" / "p225" / "p225_001.wav"


def test_list(list_corpus, sentences):
    assert detect_layout(list_corpus) == "list"
    utts = read_corpus(list_corpus)
    assert len(utts) == 8
    assert utts[0].id == "espeak_a_01" and utts[0].text == sentences[0] and utts[0].speaker == "espeak_a"
    assert utts[0].audio_path == list_corpus.parent / "audio" / "espeak_a_01.wav"
    assert utts[-1].speaker == "default"
    assert speakers(utts) == ["default", "espeak_a", "espeak_b"]


def test_parse_style():
    assert parse_style("") == {}
    assert parse_style("pitch=+2.0;rate=1.10") == {"pitch": 2.0, "rate": 1.1}
    assert parse_style("pitch=-1.5;") == {"pitch": -1.5}
    with pytest.raises(BadInput):
        parse_style("pitch=high")


def test_bad_corpora(tmp_path, ljspeech_corpus):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(BadInput, match="LJSpeech.*ARCTIC.*VCTK.*list"):
        read_corpus(empty)
    with pytest.raises(BadInput, match="not found"):
        read_corpus(tmp_path / "nope")
    with pytest.raises(BadInput, match="unknown corpus layout"):
        read_corpus(ljspeech_corpus, layout="timit")

    blank = tmp_path / "blank"
    (blank / "wavs").mkdir(parents=True)
    (blank / "metadata.csv").write_text("\n  \n")
    with pytest.raises(BadInput, match="empty"):
        read_corpus(blank)

    broken = tmp_path / "broken"
    shutil.copytree(ljspeech_corpus, broken)
    (broken / "wavs" / "LJ001-0003.wav").unlink()
    with pytest.raises(BadInput, match="LJ001-0003.wav") as err:
        read_corpus(broken)
    assert "\n" not in str(err.value)

    lst = tmp_path / "bad.list"
    lst.write_text("missing.wav|hello|x\n")
    with pytest.raises(BadInput, match="missing.wav"):
        read_corpus(lst)


# ----------------------------------------------------------------------------------------- the cache

CFG = AudioConfig()


def test_feature_cache_computes_and_reloads(tmp_path, arctic_corpus, monkeypatch):
    utts = read_corpus(arctic_corpus)[:2]
    cache = FeatureCache(tmp_path / "cache", CFG)
    mel = cache.log_mel(utts[0])
    assert mel.dtype == torch.float32 and mel.shape[0] == CFG.n_mels and mel.shape[1] > 50
    wav = cache.waveform(utts[0])
    assert wav.dtype == np.float32 and wav.ndim == 1
    assert mel.shape[1] == len(wav) // CFG.hop_length + 1
    entries = sorted(p.name for p in (tmp_path / "cache" / CFG.key()).rglob("*.npy"))
    assert len(entries) == 2 and not list((tmp_path / "cache").rglob("*.tmp"))

    def boom(*a, **k):
        raise AssertionError("cache missed: features computed again")

    monkeypatch.setattr(cache_mod, "compute_log_mel", boom)
    monkeypatch.setattr(cache_mod, "compute_waveform", boom)
    again = FeatureCache(tmp_path / "cache", CFG)
    assert torch.equal(again.log_mel(utts[0]), mel)
    assert np.array_equal(again.waveform(utts[0]), wav)
    assert again.hits == 2 and again.misses == 0
    with pytest.raises(AssertionError, match="cache missed"):
        again.log_mel(utts[1])


def test_feature_cache_keys(tmp_path, rendered):
    audio = tmp_path / "a.wav"
    shutil.copy(rendered["espeak_a"][4], audio)
    utt = Utterance("u", audio, "text")
    cache = FeatureCache(tmp_path / "cache", CFG)
    first = cache.log_mel(utt)
    # another audio configuration lives in its own folder
    other = FeatureCache(tmp_path / "cache", AudioConfig(n_mels=40))
    assert other.log_mel(utt).shape[0] == 40 and other.dir != cache.dir
    # a changed recording is computed again
    shutil.copy(rendered["espeak_b"][4], audio)
    os.utime(audio, ns=(1, 1))
    second = cache.log_mel(utt)
    assert cache.misses == 2 and not torch.equal(first, second)


def test_feature_cache_concurrent_writers(tmp_path, arctic_corpus):
    """Two caches (as two processes would) filling the same entry at once: one complete entry."""
    from concurrent.futures import ThreadPoolExecutor

    utt = read_corpus(arctic_corpus)[4]
    caches = [FeatureCache(tmp_path / "shared", CFG) for _ in range(2)]
    with ThreadPoolExecutor(2) as pool:
        mels = list(pool.map(lambda c: c.log_mel(utt), caches))
    assert torch.equal(mels[0], mels[1])
    files = [p for p in (tmp_path / "shared").rglob("*") if p.is_file()]
    assert sorted(p.suffix for p in files) == [".json", ".npy"]
    assert torch.equal(FeatureCache(tmp_path / "shared", CFG).log_mel(utt), mels[0])


def test_precompute_progress(tmp_path, list_corpus):
    utts = read_corpus(list_corpus)[:3]
    cache = FeatureCache(tmp_path / "c", CFG)
    seen = []
    assert cache.precompute(utts, jobs=2, progress=lambda d, t: seen.append((d, t))) == 3
    assert seen[-1] == (3, 3) and len(seen) == 3
    assert all(cache.has(u) for u in utts)
    assert cache.precompute(utts) == 0


# --------------------------------------------------------------------------------------- the sampler


def _lengths(n=203, seed=1):
    return np.random.default_rng(seed).integers(20, 800, size=n).tolist()


def test_sampler_covers_every_index_once():
    lengths = _lengths()
    s = BucketBatchSampler(lengths, batch_size=8, seed=3)
    batches = list(s)
    assert len(batches) == len(s) == 26
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(len(lengths)))
    assert sum(len(b) < 8 for b in batches) == 1
    dropped = BucketBatchSampler(lengths, batch_size=8, drop_last=True)
    assert len(list(dropped)) == len(dropped) == 25
    assert all(len(b) == 8 for b in dropped)


def test_sampler_batches_are_length_homogeneous():
    lengths = np.asarray(_lengths())
    s = BucketBatchSampler(lengths.tolist(), batch_size=8, seed=0)
    bucketed = np.mean([np.ptp(lengths[b]) for b in s])
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(lengths))
    random = np.mean([np.ptp(lengths[perm[i : i + 8]]) for i in range(0, len(perm), 8)])
    assert bucketed < 0.3 * random


def test_sampler_epochs_deterministic_and_different():
    lengths = _lengths()
    s = BucketBatchSampler(lengths, batch_size=8, seed=5)
    s.set_epoch(0)
    e0 = list(s)
    s.set_epoch(1)
    e1 = list(s)
    assert e0 != e1
    s.set_epoch(0)
    assert list(s) == e0
    assert list(BucketBatchSampler(lengths, batch_size=8, seed=5)) == e0
    assert list(BucketBatchSampler(lengths, batch_size=8, seed=6)) != e0


@pytest.mark.parametrize("n,replicas", [(200, 2), (203, 2), (203, 3), (5, 4)])
def test_sampler_distributed(n, replicas):
    lengths = _lengths(n)
    shares = []
    for rank in range(replicas):
        s = BucketBatchSampler(lengths, batch_size=8, seed=2, num_replicas=replicas, rank=rank)
        s.set_epoch(4)
        shares.append(list(s))
        assert len(shares[-1]) == len(s)
    assert len({len(sh) for sh in shares}) == 1  # equal counts
    flat = [i for sh in shares for b in sh for i in b]
    assert set(flat) == set(range(n))  # all covered
    total = -(-n // 8)
    if total % replicas == 0:  # no padding needed: disjoint
        assert sorted(flat) == list(range(n))
    else:
        assert len(flat) <= n + (replicas - 1) * 8


def test_sampler_dataloader():
    from torch.utils.data import DataLoader

    data = list(range(30))
    dl = DataLoader(data, batch_sampler=BucketBatchSampler([1] * 30, batch_size=4))
    assert sorted(int(x) for b in dl for x in b) == data


# ----------------------------------------------------------------------------------- parallel pairs


def test_parallel_pairs(multispeaker_corpus):
    utts = read_corpus(multispeaker_corpus)
    pairs = parallel_pairs(utts, "espeak_a", "espeak_b")
    assert len(pairs) == 8
    assert all(s.id == t.id and s.text == t.text for s, t in pairs)
    assert all(s.speaker == "espeak_a" and t.speaker == "espeak_b" for s, t in pairs)
    assert [s.id for s, _ in pairs] == sorted(s.id for s, _ in pairs)
    # a missing id on one side leaves the pair out
    partial = parallel_pairs([u for u in utts if not (u.speaker == "espeak_b" and u.id.endswith("3"))],
                             "espeak_a", "espeak_b")
    assert len(partial) == 7
    with pytest.raises(BadInput, match="espeak_c"):
        parallel_pairs(utts, "espeak_a", "espeak_c")


def test_parallel_pairs_vctk(vctk_corpus):
    pairs = parallel_pairs(read_corpus(vctk_corpus), "p226", "p225")
    assert [s.id for s, _ in pairs] == [f"{i:03d}" for i in range(1, 9)]
    assert all(s.speaker == "p226" for s, _ in pairs)


def test_prompt_reader_strict_and_lenient(tmp_path):
    from engine.data.prompts import read_prompts

    path = tmp_path / "prompts.txt"
    path.write_text("a1\tFirst sentence.\n\nSecond one without an id.\n", encoding="utf-8")
    with pytest.raises(BadInput, match=r"prompts.txt:3: expected 'ID<TAB>TEXT'"):
        read_prompts(path)
    prompts = read_prompts(path, strict=False)
    assert [(p.id, p.text) for p in prompts] == [("a1", "First sentence."), ("line3", "Second one without an id.")]
    (tmp_path / "blank.txt").write_text("\n \n")
    with pytest.raises(BadInput, match="no sentences"):
        read_prompts(tmp_path / "blank.txt", strict=False)


def test_held_out_prompts_are_the_last_hundred_arctic_ids():
    from engine.data.prompts import held_out_ids, held_out_prompts
    from engine.paths import ARCTIC_PROMPTS

    held = held_out_prompts()
    assert len(held) == 100
    assert (held[0].id, held[-1].id) == ("arctic_b0440", "arctic_b0539")
    all_ids = [line.split("\t")[0] for line in ARCTIC_PROMPTS.read_text().splitlines() if line.strip()]
    assert held_out_ids() == set(sorted(all_ids)[-100:])
    assert held_out_prompts(0) == []
