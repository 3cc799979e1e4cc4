"""Length-bucketed batches: utterances of similar length share a batch, so little padding is wasted."""

from __future__ import annotations

import math
from typing import Iterator, Sequence

import numpy as np
from torch.utils.data import Sampler


class BucketBatchSampler(Sampler):
    """Yields lists of dataset indices (use as DataLoader(batch_sampler=...)).

    Each epoch the indices are shuffled (from `seed` and the epoch set by `set_epoch`), cut into chunks
    of batch_size * bucket_size_multiplier, each chunk sorted by length and cut into batches, and the
    batches shuffled. Every index appears exactly once per epoch (with `drop_last`, the one incomplete
    batch is left out).

    Distributed use: with `num_replicas` R > 1, rank r takes batches r, r+R, r+2R, ... of the epoch's
    list, so the ranks' shares are disjoint and equal in count. When the count of batches is not a
    multiple of R, batches from the start of the list are repeated to fill up the last round (or, with
    `drop_last`, the last round is dropped). All ranks must use the same seed and epoch.
    """

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        shuffle: bool = True,
        seed: int = 0,
        bucket_size_multiplier: int = 10,
        drop_last: bool = False,
        num_replicas: int = 1,
        rank: int = 0,
    ):
        super().__init__()
        self.lengths = np.asarray(lengths)
        if self.lengths.ndim != 1:
            raise ValueError("lengths must be a 1-D sequence of numbers")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if bucket_size_multiplier < 1:
            raise ValueError("bucket_size_multiplier must be at least 1")
        if num_replicas < 1 or not 0 <= rank < num_replicas:
            raise ValueError(f"rank must be in [0, num_replicas); got rank={rank}, num_replicas={num_replicas}")
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.seed = int(seed)
        self.bucket_size_multiplier = int(bucket_size_multiplier)
        self.drop_last = drop_last
        self.num_replicas = int(num_replicas)
        self.rank = int(rank)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose (deterministic) order the next iteration gives."""
        self.epoch = int(epoch)

    def _all_batches(self) -> list[list[int]]:
        """The epoch's batches over all replicas, before the split by rank."""
        n = len(self.lengths)
        rng = np.random.default_rng([self.seed, self.epoch])
        order = rng.permutation(n) if self.shuffle else np.arange(n)
        chunk = self.batch_size * self.bucket_size_multiplier
        batches: list[list[int]] = []
        for start in range(0, n, chunk):
            idx = order[start : start + chunk]
            idx = idx[np.argsort(self.lengths[idx], kind="stable")]
            batches.extend(idx[b : b + self.batch_size].tolist() for b in range(0, len(idx), self.batch_size))
        # only the very last batch can be incomplete (chunks are whole multiples of batch_size)
        if self.drop_last and batches and len(batches[-1]) < self.batch_size:
            batches.pop()
        if self.shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return batches

    def _rank_batches(self) -> list[list[int]]:
        batches = self._all_batches()
        r = self.num_replicas
        if r == 1 or not batches:
            return batches
        if self.drop_last:
            batches = batches[: len(batches) // r * r]
        else:
            pad = (-len(batches)) % r
            batches = batches + [batches[i % len(batches)] for i in range(pad)]
        return batches[self.rank :: r]

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self._rank_batches())

    def __len__(self) -> int:
        n = len(self.lengths)
        count = n // self.batch_size
        if not self.drop_last and n % self.batch_size:
            count += 1
        if self.num_replicas > 1:
            count = count // self.num_replicas if self.drop_last else math.ceil(count / self.num_replicas)
        return count
