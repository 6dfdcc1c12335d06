"""A pretrained sentence encoder read from a local file: φ = the mean of the caption's word vectors.

Nothing is downloaded. ``--set embedding.path=FILE`` names one of:

* a **safetensors** file with a float tensor ``vectors`` (V, D) and, in its metadata, ``vocabulary``: a JSON list
  of the V words, row by row (what ``ganforge_stackgan.word_vectors.save_word_vectors`` writes);
* a **text** file in the GloVe / word2vec text format: one word per line followed by its D numbers, separated by
  spaces (a first line of two integers, word2vec's "V D" header, is skipped).

A caption is lower-cased and split into runs of letters and digits; its words found in the vocabulary are looked up
and their vectors averaged (words not found are skipped). The vectors are fixed, and are not copied into run
checkpoints (GloVe's are half a gigabyte): a checkpoint records the SHA-256 of the vectors and vocabulary it was
trained with, and sampling from it needs the same file at the same path, or is refused.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from torch import nn

from ganforge.data import DataSpec
from ganforge.errors import GanforgeError
from ganforge_stackgan.text import pad, words


def save_word_vectors(path: str | Path, vocabulary: list[str], vectors: torch.Tensor) -> Path:
    """Write ``vectors`` (V, D) and their ``vocabulary`` as a safetensors file this embedding reads."""
    from safetensors.torch import save_file

    if len(vocabulary) != len(vectors) or vectors.dim() != 2:
        raise ValueError(f"{len(vocabulary)} words for vectors of shape {tuple(vectors.shape)}")
    save_file({"vectors": vectors.float().contiguous()}, str(path), metadata={"vocabulary": json.dumps(vocabulary)})
    return Path(path)


def _read_safetensors(path: Path) -> tuple[list[str], torch.Tensor]:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), "pt") as handle:
            metadata = handle.metadata() or {}
            if "vectors" not in handle.keys():
                raise GanforgeError(f"{path} holds no tensor 'vectors'; see docs for the word-vector file format")
            vectors = handle.get_tensor("vectors").float()
    except SafetensorError as exc:
        raise GanforgeError(f"{path} is not a readable safetensors file ({exc})") from None
    try:
        vocabulary = json.loads(metadata["vocabulary"])
    except (KeyError, ValueError):
        raise GanforgeError(f"{path} lacks its vocabulary: a JSON list of words under the metadata key 'vocabulary'") from None
    if vectors.dim() != 2 or not isinstance(vocabulary, list) or len(vocabulary) != len(vectors):
        raise GanforgeError(f"{path}: {len(vocabulary)} vocabulary words for vectors of shape {tuple(vectors.shape)}; they must agree")
    return [str(word) for word in vocabulary], vectors


def _read_text(path: Path) -> tuple[list[str], torch.Tensor]:
    vocabulary, rows = [], []
    with path.open(encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, 1):
            parts = line.rstrip().split(" ")
            if number == 1 and len(parts) == 2 and all(part.isdigit() for part in parts):
                continue  # word2vec's "V D" header
            if len(parts) < 2:
                continue
            try:
                rows.append([float(value) for value in parts[1:]])
            except ValueError:
                raise GanforgeError(f"{path} line {number} is not 'word x1 x2 ...' (GloVe text format)") from None
            if len(rows[-1]) != len(rows[0]):
                raise GanforgeError(f"{path} line {number} has {len(rows[-1])} numbers, line 1 had {len(rows[0])}; every vector needs the same size")
            vocabulary.append(parts[0])
    if not rows:
        raise GanforgeError(f"{path} holds no word vectors ('word x1 x2 ...' per line)")
    return vocabulary, torch.tensor(rows)


def read_word_vectors(path: Path) -> tuple[list[str], torch.Tensor]:
    """(vocabulary, vectors (V, D)) from a safetensors or GloVe-format text file."""
    if not path.is_file():
        raise GanforgeError(
            f"word-vector file {path} not found; pass --set embedding.path=FILE, a safetensors file (tensor 'vectors', "
            "metadata 'vocabulary') or GloVe text vectors already on this machine (nothing is downloaded)"
        )
    return _read_safetensors(path) if path.suffix == ".safetensors" else _read_text(path)


class WordVectorMean(nn.Module):
    """Caption -> the mean of its known words' pretrained vectors (fixed)."""

    def __init__(
        self,
        spec: DataSpec,
        path: str | None = None,  # the word-vector file: safetensors (vectors + vocabulary) or GloVe text
        max_length: int = 64,  # words read per caption
    ):
        super().__init__()
        if path is None:
            raise GanforgeError("the word-vectors embedding reads pretrained vectors from a local file; pass --set embedding.path=FILE")
        vocabulary, vectors = read_word_vectors(Path(path).expanduser())
        lowered: dict[str, int] = {}
        for index, word in enumerate(vocabulary):
            lowered.setdefault(word.lower(), index + 1)  # the first (most frequent, in GloVe's order) spelling wins
        self.lookup = lowered
        self.dim = vectors.shape[1]
        self.max_length = max_length
        digest = hashlib.sha256(json.dumps(vocabulary).encode())
        digest.update(vectors.numpy().tobytes())
        self.tokenizer_key = f"word-vectors:{digest.hexdigest()}:{max_length}"
        self.path = path
        # row 0 is the padding vector; not saved in checkpoints, which record the digest instead
        self.register_buffer("table", torch.cat([torch.zeros(1, self.dim), vectors]), persistent=False)
        self.register_buffer("digest", torch.frombuffer(bytearray(digest.digest()), dtype=torch.uint8).clone())

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):  # noqa: ANN001 - torch's signature
        saved = state_dict.get(prefix + "digest")
        if saved is not None and not torch.equal(saved.cpu(), self.digest.cpu()):
            raise GanforgeError(
                f"the word vectors in {self.path} are not those this run was trained with (their SHA-256 differs); "
                "sample with the same file"
            )
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def tokenize(self, texts: list[str]) -> torch.Tensor:
        """int32 (len(texts), L): 1 + the vocabulary row of each known word (0 pads)."""
        return pad([[self.lookup[word] for word in words(text) if word in self.lookup] for text in texts], self.max_length)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        tokens = tokens.long()
        mask = (tokens > 0).unsqueeze(2).float()
        return (self.table[tokens] * mask).sum(1) / mask.sum(1).clamp(min=1)
