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


def native_bf16(device: torch.device) -> bool:
    """Whether the CUDA ``device`` (the current one when it has no index) computes in bf16 natively.

    Asked of this device, not the current one, and without emulation: ``torch.cuda.is_bf16_supported()`` says
    True on a V100 or T4, which only emulate bf16; fp16 with a loss scaler is the fast choice there.
    """
    if torch.version.hip:
        return True  # every ROCm GPU torch supports has bf16
    return torch.cuda.get_device_capability(device) >= (8, 0)


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
        self._settled: dict[int, torch.Tensor] = {}  # per fp16 optimizer: 1.0 once an update went through the scaler

    @classmethod
    def for_device(cls, device: torch.device, amp: bool, job: Distributed = Distributed(), dtype: str = "auto") -> "Precision":
        """The precision ``train.amp`` and ``train.amp_dtype`` ask for on ``device``.

        ``auto``: bf16 autocast on CUDA GPUs with native bf16 (compute capability 8.0 and up: A100, H100, ...),
        fp16 with loss scaling on older ones (V100, T4: their bf16 is emulated, and slow), fp32 on the CPU.
        ``bf16`` or ``fp16`` forces that dtype on any device (on the CPU it is slow, but it tests the path).
        ``amp`` False is fp32 whatever ``dtype`` says.
        """
        if not amp or (dtype == "auto" and device.type != "cuda"):
            return cls(device, job=job)
        if dtype == "auto":
            return cls(device, torch.bfloat16 if native_bf16(device) else torch.float16, job)
        return cls(device, {"bf16": torch.bfloat16, "fp16": torch.float16}[dtype], job)

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
            _backward(scaler.scale(loss))
            self.job.average_gradients(optimizer)
            scale = scaler._scale.clone()  # the scale this update used (scale() has set it); read on the device
            scaler.step(optimizer)  # skips the update itself when a gradient overflowed
            # GradScaler keeps no public per-optimizer flag; this optimizer's found_inf, as step() set it and as
            # update() reads it (one scaler per optimizer, so it is exactly whether this update was skipped)
            overflowed = sum(found.to(self.device) for found in scaler._per_optimizer_states[id(optimizer)]["found_inf_per_device"].values())
            scaler.update()
            skipped = self._counted_overflow(optimizer, overflowed.clamp(max=1.0), scale, loss.detach())
        else:
            _backward(loss)
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

    def _counted_overflow(self, optimizer: torch.optim.Optimizer, overflowed: torch.Tensor, scale: torch.Tensor, loss: torch.Tensor) -> torch.Tensor:
        """1.0 if this fp16 update, skipped or not by the scaler (``overflowed``), counts toward
        ``train.max_nonfinite_steps``, else 0.0; all on the device.

        GradScaler starts at a scale of 2**16, chosen to be too large: its first updates often overflow, and each
        halves the scale until the gradients fit. That warm-up is routine and must not stop a run, so a skip is not
        counted while the scaler is still settling: before this optimizer's first update that went through, while
        the scale is above 1. Counted are a non-finite loss (always), and an overflow once the scale has settled or
        has fallen to 1 or below (gradients that overflow fp16 even unscaled are a fault, not a scale too large).
        The warm-up thus skips at most 16 updates uncounted; a run that never gets one through stops after
        16 + ``train.max_nonfinite_steps``. The settled mark is not saved: a resumed run settles again at its first
        update that goes through (its restored scale has settled already, so that is normally the first one).
        """
        settled = self._settled.get(id(optimizer))
        if settled is None:
            settled = torch.zeros((), device=self.device)
        counted = torch.maximum(overflowed * torch.maximum(settled, (scale <= 1).float()), torch.isfinite(loss).logical_not().float())
        self._settled[id(optimizer)] = torch.maximum(settled, 1.0 - overflowed)
        return counted

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


def _backward(loss: torch.Tensor) -> None:
    """``loss.backward()``; a second step on a loss already backpropagated is a one-line error saying what to do."""
    try:
        loss.backward()
    except RuntimeError as exc:
        if "backward through the graph a second time" not in str(exc):
            raise
        raise GanforgeError(
            "precision.step was given a loss that an earlier precision.step already backpropagated: one loss takes "
            "one step of one optimizer, so give the networks it updates one optimizer (one parameter group each "
            "for their own rates), or compute each optimizer's loss afresh"
        ) from None
