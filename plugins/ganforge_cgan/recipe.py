"""The conditional GAN recipe (Mirza & Osindero, "Conditional Generative Adversarial Nets", 2014).

Both players see the class label y: G(z, y) maps noise and a label to an example of that class, and D(x, y)
gives the probability that x is a real example *of class y*. The value function is the vanilla one with every
term conditioned on y:

    min_G max_D  E_{x,y ~ data}[log D(x, y)] + E_{z ~ p_z, y ~ data}[log(1 − D(G(z, y), y))]

Each step draws the fake examples with the labels of the real minibatch beside them, so D cannot tell real from
fake by the label distribution alone, and G is trained on the data's class frequencies. Everything else (k D
steps, any loss component, the penalties) is the vanilla recipe's.
"""

from __future__ import annotations

import torch

from ganforge.config import supplied_parameters
from ganforge.data import TensorData
from ganforge.errors import GanforgeError
from ganforge.noise import ClassInputs
from ganforge_vanilla.recipe import ALGORITHM, Vanilla


class CGAN(Vanilla):
    """Mirza & Osindero 2014: G(z, y) and D(x, y) conditioned on the class label."""

    defaults = {**ALGORITHM, "generator.name": "conditional-dcgan", "discriminator.name": "conditional-dcgan"}

    def build(self) -> None:
        if self.spec.num_classes < 2:
            raise GanforgeError(
                f"cgan conditions on class labels, but dataset '{self.config.data.name}' has none; "
                "choose a labelled dataset such as mnist or fashion-mnist"
            )
        for section in ("generator", "discriminator"):
            choice = getattr(self.config, section)
            if "num_classes" not in supplied_parameters(self.registry.load(choice.kind, choice.name)):
                raise GanforgeError(
                    f"{section} '{choice.name}' is not class-conditional (its factory takes no num_classes); "
                    f"choose conditional-dcgan or conditional-mlp (see 'ganforge list {choice.kind}')"
                )
        supplied = dict(noise_dim=self.config.noise.dim, spec=self.spec, num_classes=self.spec.num_classes)
        self.networks["generator"] = self.make("generator", **supplied)
        self.networks["discriminator"] = self.make("discriminator", **supplied)
        self.loss = self.make("loss")

    def fake(self, count: int, labels: torch.Tensor | None) -> torch.Tensor:
        return self.networks["generator"](self.noise(count), labels)

    def discriminate(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return self.networks["discriminator"](x, labels)

    def sample_inputs(self, count: int, generator: torch.Generator, data: TensorData | None) -> ClassInputs:
        return ClassInputs.grid(self.config.noise, self.spec.num_classes, count, generator)

    def class_inputs(self, count: int, label: int, generator: torch.Generator) -> ClassInputs:
        return ClassInputs.single(self.config.noise, label, count, generator)

    def evaluation_inputs(self, count: int, generator: torch.Generator, data: TensorData | None) -> ClassInputs:
        return ClassInputs.random(self.config.noise, self.spec.num_classes, count, generator, None if data is None else data.labels)

    def noise_inputs(self, noise: torch.Tensor, labels: torch.Tensor | None, generator: torch.Generator | None) -> ClassInputs:
        return ClassInputs(noise, labels, None)

    def grid_columns(self, inputs: ClassInputs) -> int | None:
        return inputs.columns

    def row_labels(self, inputs: ClassInputs) -> list[str] | None:
        """Each row's class: the dataset's name for it where it has names (Fashion-MNIST's "T-shirt/top"), else its
        number. A grid of one chosen class (``--class``) has none."""
        if inputs.columns is None:
            return None
        names = self.spec.class_names
        return [names[label] if label < len(names) else str(label) for label in inputs.labels[:: inputs.columns].tolist()]

    def generate(self, inputs: ClassInputs) -> torch.Tensor:
        return self.networks["generator"](inputs.noise.to(self.device), inputs.labels.to(self.device))
