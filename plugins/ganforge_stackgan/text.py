"""A text encoder learned jointly with the GAN: captions -> sentence embeddings φ.

StackGAN takes φ from the char-CNN-RNN of Reed et al. (2016), pretrained to match images with their captions.
``text-gru`` learns the same job during training instead: the StackGAN recipe trains it with an image encoder on
Reed et al.'s matching objective (:mod:`ganforge_stackgan.matching`) during stage I, and keeps it fixed from stage
II on, as it keeps stage I.

Text is read by words (the default) or by characters, as the paper's encoder does:

* ``word``: lower-cased runs of letters and digits, each hashed (CRC-32, the same in every process and on every
  machine) into one of ``buckets`` learned vectors, so no vocabulary has to be built or saved;
* ``char``: the UTF-8 bytes of the lower-cased caption, one learned vector per byte value, then, as in the
  char-CNN-RNN, a convolution over 3 characters (ReLU) and max-pooling over non-overlapping runs of 3, which
  shortens the sequence the GRU reads threefold.

The token vectors go through a bidirectional GRU; φ is a linear map of its outputs averaged over the caption's
tokens. Captions longer than ``max_length`` tokens are cut. The backward GRU reads each caption from its own last
token, so padding changes nothing (as packed sequences would, without their host round trip per step).

A text embedding (any ``embedding`` component with a ``tokenize`` method) keeps this contract: ``tokenize(texts)``
gives an int tensor (len(texts), L) with 0 as padding, a pure function of the strings; ``tokenizer_key`` names the
tokenization (equal keys, equal tokens), so a dataset's captions are tokenized once per run; ``module(tokens)``
gives (N, dim) floats.
"""

from __future__ import annotations

import re
import zlib
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.data import DataSpec

WORD = re.compile(r"[a-z0-9]+")
BYTES = 256
POOL = 3  # char: characters per max-pooled step


def pad(rows: list[list[int]], max_length: int) -> torch.Tensor:
    """Token rows cut to ``max_length`` and zero-padded to the longest: int32 (len(rows), L), L >= 1."""
    length = max(1, min(max_length, max((len(row) for row in rows), default=1)))
    out = torch.zeros(len(rows), length, dtype=torch.int32)
    for index, row in enumerate(rows):
        row = row[:length]
        if row:
            out[index, : len(row)] = torch.tensor(row, dtype=torch.int32)
    return out


def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


class TextGRU(nn.Module):
    """Captions -> φ: token vectors, a bidirectional GRU, the mean of its outputs, a linear map.

    Settings (``--set embedding.<name>=...``): ``dim`` the size of φ; ``unit`` ``word`` or ``char``; ``embed_dim``
    the size of a token's vector; ``hidden`` the GRU's width per direction; ``buckets`` the hashed word vectors
    (words only); ``max_length`` the tokens read per caption.
    """

    def __init__(
        self,
        spec: DataSpec,
        dim: int = 128,  # the size of the sentence embedding φ
        unit: Literal["word", "char"] = "word",  # read captions by words (hashed) or by characters (bytes)
        embed_dim: int = 64,  # the size of a token's learned vector
        hidden: int = 128,  # the GRU's width, per direction
        buckets: int = 4096,  # hashed word vectors (words only)
        max_length: int = 48,  # tokens read per caption; longer captions are cut
    ):
        super().__init__()
        if dim < 1 or embed_dim < 1 or hidden < 1 or buckets < 1 or max_length < 1:
            raise ValueError("dim, embed_dim, hidden, buckets and max_length must be at least 1")
        self.dim = dim
        self.unit = unit
        self.buckets = buckets
        self.max_length = max_length
        self.tokenizer_key = f"text-gru:{unit}:{buckets if unit == 'word' else BYTES}:{max_length}"
        self.vectors = nn.Embedding((buckets if unit == "word" else BYTES) + 1, embed_dim, padding_idx=0)
        self.convolve = nn.Conv1d(embed_dim, embed_dim, 3, padding=1) if unit == "char" else None
        self.forward_rnn = nn.GRU(embed_dim, hidden, batch_first=True)
        self.backward_rnn = nn.GRU(embed_dim, hidden, batch_first=True)
        self.out = nn.Linear(2 * hidden, dim)

    def tokenize(self, texts: list[str]) -> torch.Tensor:
        """int32 (len(texts), L): hashed words, or bytes, plus one (0 pads)."""
        if self.unit == "word":
            rows = [[zlib.crc32(word.encode()) % self.buckets + 1 for word in words(text)] for text in texts]
        else:
            rows = [[byte + 1 for byte in text.lower().encode("utf-8")] for text in texts]
        return pad(rows, self.max_length)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        tokens = tokens.long()
        valid = tokens > 0
        vectors = self.vectors(tokens)
        if self.convolve is not None:
            # padding embeds as zeros, as the convolution's own zero padding does, and the masked ReLU outputs are 0,
            # below every max: a caption's features do not depend on the padding after it
            features = torch.relu(self.convolve(vectors.transpose(1, 2))) * valid[:, None, :].to(vectors.dtype)
            vectors = F.max_pool1d(features, POOL, POOL, ceil_mode=True).transpose(1, 2)
            valid = F.max_pool1d(valid[:, None, :].float(), POOL, POOL, ceil_mode=True)[:, 0] > 0
        lengths = valid.sum(1, keepdim=True)
        positions = torch.arange(valid.shape[1], device=tokens.device)[None]
        # each caption's tokens in reverse, padding left at the end; the permutation is its own inverse
        reverse = torch.where(positions < lengths, lengths - 1 - positions, positions)
        ahead, _ = self.forward_rnn(vectors)
        back, _ = self.backward_rnn(vectors.gather(1, reverse[:, :, None].expand(-1, -1, vectors.shape[2])))
        back = back.gather(1, reverse[:, :, None].expand(-1, -1, back.shape[2]))
        mask = valid.unsqueeze(2).to(ahead.dtype)
        pooled = (torch.cat([ahead, back], dim=2) * mask).sum(1) / mask.sum(1).clamp(min=1)
        return self.out(pooled.to(self.out.weight.dtype))
