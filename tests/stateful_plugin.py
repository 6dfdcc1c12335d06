"""A test-only plugin: a variant whose training depends on every kind of state a resume has to restore."""

from __future__ import annotations

import random

import numpy
import torch

from ganforge.data import Batch
from ganforge.plugin import hookimpl
from ganforge_vanilla.recipe import Vanilla

POOL_SIZE = 4


class Stateful(Vanilla):
    """Vanilla, plus rates that fall from the start, a CycleGAN-style pool of past fakes as extra state, and Python
    and numpy draws."""

    # G draws one fake at a time for the pool, which batch norm in training mode cannot normalise
    defaults = {**Vanilla.defaults, "schedule.hold": 0.0, "schedule.final": 0.3, "generator.norm": "none"}

    def configure_optimizers(self) -> None:
        super().configure_optimizers()
        self.pool = torch.zeros(0, *self.spec.shape, device=self.device)
        self.steps = torch.zeros((), dtype=torch.int64)

    def train_step(self, batch: Batch, precision) -> dict[str, torch.Tensor]:
        jitter = 1 + 0.01 * random.random() + 0.01 * float(numpy.random.rand()) + 0.01 * float(self.pool.mean().nan_to_num())
        metrics = super().train_step(Batch(batch.data * jitter, batch.labels), precision)
        with torch.no_grad():
            fake = self.networks["generator"](self.noise(1))
        if len(self.pool) < POOL_SIZE:
            self.pool = torch.cat([self.pool, fake])
        elif random.random() < 0.5:
            self.pool[random.randrange(POOL_SIZE)] = fake[0]
        self.steps += 1
        return metrics

    def extra_state(self) -> dict[str, torch.Tensor]:
        return {"pool": self.pool, "steps": self.steps}

    def load_extra_state(self, tensors: dict[str, torch.Tensor]) -> None:
        self.pool = tensors["pool"].to(self.device)
        self.steps = tensors["steps"]


@hookimpl
def register_variants(register) -> None:
    register("stateful", Stateful)


def install(monkeypatch) -> None:
    """Make ``stateful`` a registered variant for one test, beside the installed plugins."""
    from importlib.metadata import EntryPoint, entry_points

    from ganforge import registry

    found = [*entry_points(group=registry.ENTRY_POINT_GROUP), EntryPoint("stateful", __name__, registry.ENTRY_POINT_GROUP)]
    monkeypatch.setattr(registry, "_registry", registry.build_registry(found))
