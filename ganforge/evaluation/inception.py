"""The Inception-v3 evaluator behind the FID of the literature (``ganforge eval --evaluator inception``).

It is the network torch-fidelity (and through it torchmetrics) computes the standard FID with, and it needs two
things ganforge never fetches by itself: the ``torch-fidelity`` package and the network's weights. The weights
must already be on disk as safetensors, at ``$GANFORGE_CACHE_DIR/evaluators/inception-v3-compat.safetensors``
(or ``--inception-weights PATH``); ganforge neither downloads nor unpickles them. To make that file from
torch-fidelity's ``weights-inception-2015-12-05-6726825d.pth``, on a machine you trust::

    python -c "import torch, safetensors.torch as s; s.save_file(torch.load('weights-inception-2015-12-05-6726825d.pth', weights_only=True), 'inception-v3-compat.safetensors')"

Without the package or the file, asking for it is an error that says so; nothing else is substituted.
"""

from __future__ import annotations

import io
from pathlib import Path

import torch

from ganforge.cache import cache_dir
from ganforge.errors import GanforgeError
from ganforge.evaluation.evaluator import EvaluatorInfo

WEIGHTS_NAME = "inception-v3-compat.safetensors"
ARCHITECTURE = "inception-v3-compat"


def default_weights_path() -> Path:
    return cache_dir() / "evaluators" / WEIGHTS_NAME


class InceptionEvaluator:
    """Inception-v3's 2048 pool features and its ImageNet logits, for images of any size and 1 or 3 channels."""

    def __init__(self, weights: Path | None = None):
        path = Path(weights) if weights is not None else default_weights_path()
        try:
            from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
        except ImportError:
            raise GanforgeError("Inception FID needs the torch-fidelity package: pip install torch-fidelity (or use the default evaluator)") from None
        if not path.is_file():
            raise GanforgeError(
                f"Inception FID needs the Inception-v3 weights as safetensors at {path} and ganforge does not download them; "
                "see `ganforge.evaluation.inception` for how to make that file, or pass --inception-weights PATH"
            )
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        from ganforge.evaluation.evaluator import weights_sha256

        try:
            tensors = load_file(str(path))
        except (SafetensorError, OSError, ValueError) as exc:
            raise GanforgeError(f"{path} is not a readable safetensors file ({exc}); make it again as described in the docs") from None
        buffer = io.BytesIO()  # torch-fidelity reads weights only through torch.load: hand it tensors we serialised
        torch.save(tensors, buffer)
        buffer.seek(0)
        try:
            self.network = FeatureExtractorInceptionV3(ARCHITECTURE, ["2048", "logits_unbiased"], feature_extractor_weights_path=buffer)
        except RuntimeError as exc:
            raise GanforgeError(f"{path} does not hold Inception-v3 weights ({str(exc).splitlines()[0]}); make it as described in the docs") from None
        self.info = EvaluatorInfo(
            dataset="imagenet",
            trained_on="ImageNet (the TF Inception-v3 weights of the standard FID)",
            tested_on="ImageNet validation",
            accuracy=None,
            weights_sha256=weights_sha256(self.network),
            architecture=ARCHITECTURE,
        )

    def to(self, device: torch.device) -> "InceptionEvaluator":
        self.network.to(device)
        return self

    @torch.no_grad()
    def features_and_logits(self, images: torch.Tensor, batch: int = 100) -> tuple[torch.Tensor, torch.Tensor]:
        """Features (N, 2048) and logits (N, 1008) of float images in [-1, 1] (grey ones repeated to RGB)."""
        device = next(self.network.parameters()).device
        features, logits = [], []
        for part in images.split(batch):
            pixels = ((part.float() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
            if pixels.shape[1] == 1:
                pixels = pixels.expand(-1, 3, -1, -1)
            pool, scores = self.network(pixels.to(device))
            features.append(pool)
            logits.append(scores)
        return torch.cat(features), torch.cat(logits)
