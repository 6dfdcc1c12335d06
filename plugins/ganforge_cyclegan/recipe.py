"""The CycleGAN recipe (Zhu et al., "Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial
Networks", 2017).

Two generators translate between unpaired domains, G: A → B and F: B → A, each judged by a discriminator of its
target domain (D_B, D_A). Since no pairs say what G(a) should look like, the objective ties the two directions
together:

    L = L_GAN(G, D_B) + L_GAN(F, D_A) + λ (‖F(G(a)) − a‖₁ + ‖G(F(b)) − b‖₁) + λ_id (‖G(b) − b‖₁ + ‖F(a) − a‖₁)

with least-squares adversarial terms (the ``lsgan`` loss component, changeable), cycle consistency weighted by
λ = 10, and the identity term at λ_id = 0.5 λ, which keeps colours where they need not change. Each step updates
both generators (discriminators frozen), then both discriminators on real images against generated ones drawn
through a pool of the last 50, with D's loss halved to slow it relative to G. Adam (lr 2e-4, β1 0.5) keeps its
learning rate for the first half of the run and then decays it linearly to 0 (``schedule.hold`` 0.5), as the
paper's 100 + 100 epochs do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from ganforge.checkpoint import prefixed, unprefixed
from ganforge.config import at_least, below
from ganforge.data import Batch, TensorData
from ganforge.device import Precision
from ganforge.errors import GanforgeError
from ganforge.loss import real_logits_for_generator
from ganforge.variant import Variant, frozen, statistics_frozen
from ganforge_cyclegan.pool import ImagePool

# Each row of a sample grid: a, G(a), F(G(a)), b, F(b), G(F(b)).
ROW = 6


@dataclass
class CycleConfig:
    """Settings of the ``cycle`` section: the weights of the objective and the image pool."""

    cycle_weight: float = at_least(0.0, 10.0)  # λ, the weight of the cycle-consistency L1 terms
    identity_weight: float = at_least(0.0, 0.5)  # λ_id as a fraction of λ (Zhu et al.: 0.5); 0 drops the term
    pool_size: int = at_least(0, 50)  # earlier generated images D is also shown (Shrivastava et al.); 0: none


@dataclass
class OptimConfig:
    """Settings of the ``optim`` section: Adam for the generators and for the discriminators."""

    lr: float = at_least(0.0, 2e-4)  # initial learning rate of all four networks
    beta1: float = below(0.0, 1.0, 0.5)  # Adam β1
    beta2: float = below(0.0, 1.0, 0.999)  # Adam β2


class CycleGAN(Variant):
    """Zhu et al. 2017: unpaired translation A <-> B with two generators, two PatchGAN Ds and cycle consistency."""

    components = {"generator": "generator", "discriminator": "discriminator", "loss": "loss"}
    sections = {"cycle": CycleConfig, "optim": OptimConfig}
    domains = 2
    generators = ("generator_ab", "generator_ba")
    discriminators = ("discriminator_a", "discriminator_b")
    defaults = {
        "generator.name": "resnet",
        "discriminator.name": "patchgan",
        "loss.name": "lsgan",
        "data.name": "digits2fashion",
        "train.batch_size": 1,
        "train.sample_count": 8,
        "schedule.hold": 0.5,
    }

    def build(self) -> None:
        if self.spec.domains != self.domains:
            raise GanforgeError(
                f"cyclegan translates between two domains, but dataset '{self.config.data.name}' has one; choose an "
                "unpaired two-domain dataset such as digits2fashion, horse2zebra or unpaired-folders"
            )
        for name in ("generator_ab", "generator_ba"):
            self.networks[name] = self.make("generator", spec=self.spec)
        for name in self.discriminators:
            self.networks[name] = self.make("discriminator", spec=self.spec)
        self.loss = self.make("loss")
        self.pools = {name: ImagePool(self.config.cycle.pool_size) for name in ("a", "b")}

    def configure_optimizers(self) -> None:
        optim = self.config.optim
        for name, pair in (("generators", ("generator_ab", "generator_ba")), ("discriminators", ("discriminator_a", "discriminator_b"))):
            params = [p for network in pair for p in self.networks[network].parameters()]
            self.optimizers[name] = torch.optim.Adam(
                params, lr=optim.lr, betas=(optim.beta1, optim.beta2), fused=True
            )

    def train_step(self, batch: Batch, precision: Precision) -> dict[str, torch.Tensor]:
        g, f = self.networks["generator_ab"], self.networks["generator_ba"]
        d_a, d_b = self.networks["discriminator_a"], self.networks["discriminator_b"]
        cycle = self.config.cycle
        real_a, real_b = batch.data, batch.other

        with frozen(d_a, d_b), precision.autocast():
            fake_b, fake_a = g(real_a), f(real_b)
            # relativistic losses compare with each D's logits on its own domain's real images (None for the others)
            paired_b, paired_a = (real_logits_for_generator(self.loss, d, real) for d, real in ((d_b, real_b), (d_a, real_a)))
            adversarial = self.loss.generator_loss(d_b(fake_b), paired_b) + self.loss.generator_loss(d_a(fake_a), paired_a)
            cycle_loss = F.l1_loss(f(fake_b).float(), real_a) + F.l1_loss(g(fake_a).float(), real_b)
            loss_g = adversarial + cycle.cycle_weight * cycle_loss
            if cycle.identity_weight:
                identity = F.l1_loss(g(real_b).float(), real_b) + F.l1_loss(f(real_a).float(), real_a)
                loss_g = loss_g + cycle.identity_weight * cycle.cycle_weight * identity
        precision.step(loss_g, self.optimizers["generators"])

        shown_a, shown_b = self.pools["a"].query(fake_a), self.pools["b"].query(fake_b)
        with precision.autocast():
            logits = {"real_a": d_a(real_a), "fake_a": d_a(shown_a), "real_b": d_b(real_b), "fake_b": d_b(shown_b)}
            loss_d = 0.5 * (
                self.loss.discriminator_loss(logits["real_a"], logits["fake_a"])
                + self.loss.discriminator_loss(logits["real_b"], logits["fake_b"])
            )
        with statistics_frozen(d_a, d_b):
            penalties = [self.loss.penalty(d, real, shown) for d, real, shown in ((d_a, real_a, shown_a), (d_b, real_b, shown_b))]
        if penalties[0] is not None:
            loss_d = loss_d + 0.5 * (penalties[0] + penalties[1])
        precision.step(loss_d, self.optimizers["discriminators"])

        metrics = {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), "adversarial": adversarial.detach(), "cycle": cycle_loss.detach()}
        if cycle.identity_weight:
            metrics["identity"] = identity.detach()
        if penalties[0] is not None:  # logged under the name every variant uses for it
            metrics["penalty"] = (0.5 * (penalties[0] + penalties[1])).detach()
        both = lambda kind: torch.cat([logits[f"{kind}_a"].detach().flatten(), logits[f"{kind}_b"].detach().flatten()])  # noqa: E731
        return metrics | self.loss.report(both("real"), both("fake"))

    def extra_state(self) -> dict[str, torch.Tensor]:
        return {**prefixed("pool_a", self.pools["a"].state()), **prefixed("pool_b", self.pools["b"].state())}

    def load_extra_state(self, tensors: dict[str, torch.Tensor]) -> None:
        for name, pool in self.pools.items():
            pool.load_state(unprefixed(f"pool_{name}", tensors), self.device)

    def sample_inputs(self, count: int, generator: torch.Generator, data: TensorData | None) -> tuple[torch.Tensor, torch.Tensor]:
        if data is None:
            raise GanforgeError(
                "cyclegan translates images rather than drawing them from noise: pass --input-dir DIR (images of "
                "domain A) and --out DIR"
            )
        picks = [torch.randperm(len(stored), generator=generator)[:count].to(stored.device) for stored in (data.data, data.other)]
        return data.scaled(data.data[picks[0]]).cpu(), data.scaled(data.other[picks[1]]).cpu()

    def generate(self, inputs: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """Rows of a, G(a), F(G(a)), b, F(b), G(F(b)): each source, its translation and its reconstruction."""
        g, f = self.networks["generator_ab"], self.networks["generator_ba"]
        a, b = (images.to(self.device) for images in inputs)
        count = min(len(a), len(b))
        a, b = a[:count], b[:count]
        fake_b, fake_a = g(a), f(b)
        columns = [a, fake_b, f(fake_b), b, fake_a, g(fake_a)]
        return torch.stack([c.to(a.dtype) for c in columns], dim=1).flatten(0, 1)

    def grid_columns(self, inputs: Any) -> int | None:
        return ROW

    def translate(self, images: torch.Tensor) -> torch.Tensor:
        """G(a): domain A to domain B."""
        return self.networks["generator_ab"](images.to(self.device))

    def evaluation_inputs(self, count: int, generator: torch.Generator, data: TensorData | None) -> torch.Tensor:
        """``count`` source images of domain A drawn i.i.d. from ``data`` (held out from training where the dataset
        has a test split)."""
        if data is None:
            raise GanforgeError("cyclegan is evaluated on translations of source images; it needs the dataset's images")
        picks = torch.randint(len(data.data), (count,), generator=generator)
        return data.scaled(data.data[picks.to(data.data.device)]).cpu()

    def evaluation_outputs(self, inputs: torch.Tensor) -> torch.Tensor:
        """G(a), to be compared with domain B."""
        return self.translate(inputs)
