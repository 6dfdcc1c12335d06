"""Choosing the training device and the mixed-precision policy that goes with it."""

from __future__ import annotations

import contextlib

import torch

from ganforge.errors import GanforgeError


def resolve_device(spec: str) -> torch.device:
    """``auto`` (CUDA when present, else CPU), ``cpu``, ``cuda`` or ``cuda:N``, checked against this machine."""
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(spec)
    except RuntimeError:
        raise GanforgeError(f"--device {spec!r} is not a device; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise GanforgeError(f"--device {spec}: no CUDA GPU is available here (torch {torch.__version__}); use --device cpu or auto")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise GanforgeError(f"--device {spec}: this machine has {torch.cuda.device_count()} CUDA device(s); use cuda:0..cuda:{torch.cuda.device_count() - 1}")
    elif device.type != "cpu":
        raise GanforgeError(f"--device {spec}: only cpu and cuda devices are supported; use auto, cpu, cuda or cuda:N")
    return device


class Precision:
    """Autocast and loss scaling for one device: variants call :meth:`autocast` and :meth:`step`.

    ``dtype`` None is plain fp32. With fp16 each optimizer gets its own GradScaler, since G and D losses have
    unrelated magnitudes; bf16 has fp32's range and needs none.
    """

    def __init__(self, device: torch.device, dtype: torch.dtype | None = None):
        self.device = device
        self.dtype = dtype
        self.scalers: dict[int, torch.amp.GradScaler] = {}

    @classmethod
    def for_device(cls, device: torch.device, amp: bool) -> "Precision":
        """bf16 autocast on CUDA GPUs that support it, fp16 with loss scaling on older ones, fp32 on the CPU."""
        if not amp or device.type != "cuda":
            return cls(device)
        return cls(device, torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16)

    @property
    def name(self) -> str:
        return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[self.dtype]

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def scaler(self, optimizer: torch.optim.Optimizer) -> torch.amp.GradScaler | None:
        if self.dtype is not torch.float16:
            return None
        return self.scalers.setdefault(id(optimizer), torch.amp.GradScaler(self.device.type))

    def step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        """Backpropagate ``loss`` and step ``optimizer`` alone; the scaler skips steps with non-finite gradients."""
        optimizer.zero_grad(set_to_none=True)
        scaler = self.scaler(optimizer)
        if scaler is None:
            loss.backward()
            optimizer.step()
        else:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
