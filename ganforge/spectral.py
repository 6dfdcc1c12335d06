"""Spectral normalisation (Miyato, Kataoka, Koyama and Yoshida, "Spectral Normalization for Generative Adversarial
Networks", ICLR 2018), the switch every built-in discriminator takes as ``discriminator.spectral_norm``.

Each linear, convolutional and embedding layer's weight is divided by an estimate of its largest singular value,
so that every layer is 1-Lipschitz and D as a whole is too, however its weights grow. The estimate is one step
of power iteration per forward pass in training (PyTorch's ``parametrizations.spectral_norm``), whose vectors are
buffers: saved in checkpoints and continued on resume. Convolutions are normalised as the matrix of their weight
reshaped to (out channels, everything else), as in the paper.
"""

from __future__ import annotations

from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

NORMALISED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Embedding)


def spectral_normalised(module: nn.Module) -> nn.Module:
    """``module`` with every layer it holds of a kind in :data:`NORMALISED` spectrally normalised, in place.

    Call it after the weights are initialised: an initialiser writing to ``layer.weight`` afterwards would write
    to a computed tensor, not to the parameter.
    """
    for layer in list(module.modules()):
        if isinstance(layer, NORMALISED):
            spectral_norm(layer)
    return module
