"""Choosing the training device and the mixed-precision policy that goes with it."""

from __future__ import annotations

import contextlib

import torch

from ganforge.distributed import Distributed
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
    """Autocast, loss scaling and non-finite guarding for one device: variants call :meth:`autocast` and :meth:`step`.

    ``dtype`` None is plain fp32. With fp16 each optimizer gets its own GradScaler, since G and D losses have
    unrelated magnitudes; bf16 has fp32's range and needs none.
    """

    def __init__(self, device: torch.device, dtype: torch.dtype | None = None, job: Distributed = Distributed()):
        self.device = device
        self.dtype = dtype
        self.job = job  # with several processes, gradients are averaged across them before every update
        self.scalers: dict[int, torch.amp.GradScaler] = {}
        # (optimizer, skipped flag, loss) per update, both tensors left on the device, while the trainer watches
        self.updates: list[tuple[torch.optim.Optimizer, torch.Tensor, torch.Tensor]] | None = None
        self._one: torch.Tensor | None = None

    @classmethod
    def for_device(cls, device: torch.device, amp: bool, job: Distributed = Distributed()) -> "Precision":
        """bf16 autocast on CUDA GPUs that support it, fp16 with loss scaling on older ones, fp32 on the CPU."""
        if not amp or device.type != "cuda":
            return cls(device, job=job)
        return cls(device, torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16, job)

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
        """Backpropagate ``loss`` and step ``optimizer`` alone, skipping the update if a gradient is not finite.

        A NaN or infinite loss makes the gradients so. A skipped update leaves the weights and the optimizer's
        state exactly as they were; the trainer counts skips and stops a run that keeps producing them.
        """
        optimizer.zero_grad(set_to_none=True)
        scaler = self.scaler(optimizer)
        if scaler is not None:
            scaler.scale(loss).backward()
            self.job.average_gradients(optimizer)
            scaler.step(optimizer)  # skips the update itself when a gradient overflowed
            scaler.update()
            # Overflow while the scale settles is routine under fp16; only a non-finite loss counts as a fault.
            skipped = torch.isfinite(loss.detach()).logical_not().float()
        else:
            loss.backward()
            self.job.average_gradients(optimizer)  # so every process sees the same gradients and skips alike
            skipped = self._nonfinite_gradients(optimizer)
            # Deciding on the host would cost a synchronisation per update on a GPU. Fused optimizers (Adam, AdamW,
            # SGD, Adagrad with fused=True) take the flag as ``found_inf``, as under a GradScaler, and skip on the
            # device. Others can only be skipped from the host: on the CPU that read is free, as CPU work is
            # synchronous anyway; on a GPU it is one synchronisation, the price a GradScaler pays for them too.
            if getattr(optimizer, "_step_supports_amp_scaling", False):
                optimizer.grad_scale, optimizer.found_inf = None, skipped
                try:
                    optimizer.step()
                finally:
                    del optimizer.grad_scale, optimizer.found_inf
            elif not skipped.item():
                optimizer.step()
        if self.updates is not None:
            self.updates.append((optimizer, skipped, loss.detach()))

    def _nonfinite_gradients(self, optimizer: torch.optim.Optimizer) -> torch.Tensor:
        """1.0 on the device if any gradient of ``optimizer``'s parameters is NaN or infinite, else 0.0.

        One fused kernel per gradient dtype (GradScaler's own check, unscaling by exactly 1): it passes over each
        gradient once, a small fraction of an Adam update, and never waits for the device.
        """
        if self._one is None:
            self._one = torch.ones((), device=self.device)
        by_dtype: dict[torch.dtype, list[torch.Tensor]] = {}
        for group in optimizer.param_groups:
            for param in group["params"]:
                if param.grad is not None:
                    by_dtype.setdefault(param.grad.dtype, []).append(param.grad)
        found = torch.zeros((), device=self.device)
        for grads in by_dtype.values():
            torch._amp_foreach_non_finite_check_and_unscale_(grads, found, self._one)
        return found
