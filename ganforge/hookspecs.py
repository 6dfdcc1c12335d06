"""The hooks a ganforge plugin can implement.

A plugin is a module (or object) named in the ``ganforge`` entry-point group. It implements any of the hooks
below with ``@ganforge.hookimpl``. Each registration hook receives a ``register`` callback; call it once per
component::

    register(name, component, description=None)

``component`` is either the object itself (a class or factory function) or an import path
``"package.module:attribute"``, which is imported only when the component is first used, so that
``ganforge list`` stays fast. ``description`` defaults to the first line of the object's docstring and is
required for import paths.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("ganforge")


@hookspec
def register_variants(register) -> None:
    """Called once when the registry is first used, to register variants (GAN recipes).

    A variant is a subclass of :class:`ganforge.Variant`: it names its default components and
    hyperparameters and owns its training step. Returns nothing; call ``register`` per variant.
    """


@hookspec
def register_generators(register) -> None:
    """Called once when the registry is first used, to register generator factories.

    A generator factory is called with the arguments its variant supplies (those without defaults, such as
    ``noise_dim`` and ``spec``) and the user's ``generator.*`` settings (those with defaults), and returns an
    ``nn.Module``. Returns nothing; call ``register`` per generator.
    """


@hookspec
def register_discriminators(register) -> None:
    """Called once when the registry is first used, to register discriminator factories.

    A discriminator factory is called like a generator factory (``spec`` plus ``discriminator.*`` settings) and
    returns an ``nn.Module`` that maps a batch of data to one logit per example. Returns nothing.
    """


@hookspec
def register_losses(register) -> None:
    """Called once when the registry is first used, to register adversarial losses.

    A loss factory takes only ``loss.*`` settings and returns a :class:`ganforge.Loss`:
    ``discriminator_loss(real_logits, fake_logits)`` and ``generator_loss(fake_logits)`` from D's outputs; optionally
    ``penalty(discriminator, real, fake)``, a term added to D's loss that may differentiate D with respect to its
    input (``discriminator`` is D as a function of its input, so conditional variants fix the labels), such as
    WGAN-GP's gradient penalty or R1; ``report(real_logits, fake_logits)``, scalars for the progress bar; and
    ``d_steps``, the discriminator steps per generator step the loss is meant for (WGAN-GP's n_critic), used
    where a variant's ``optim.d_steps`` is left at None. Returns nothing.
    """


@hookspec
def register_embeddings(register) -> None:
    """Called once when the registry is first used, to register conditioning embeddings.

    An embedding factory is called with ``spec`` (a :class:`ganforge.data.DataSpec`; ``spec.num_classes`` says how
    many labels there are) and the user's ``embedding.*`` settings, and returns an ``nn.Module`` with an integer
    attribute ``dim`` that maps a batch of int64 labels (N,) to float vectors (N, dim): fixed class codes, or
    pretrained text embeddings looked up by caption index. Conditional variants feed them to G and D. Returns
    nothing; call ``register`` per embedding.
    """


@hookspec
def register_datasets(register) -> None:
    """Called once when the registry is first used, to register datasets.

    A dataset factory takes only ``data.*`` settings (such as ``root`` and ``split``) and returns a
    :class:`ganforge.data.TensorData`. Returns nothing.
    """
