"""The hooks a ganforge plugin can implement: the whole plugin API in one place.

A plugin is a module (or object) named in the ``ganforge`` entry-point group of its package's pyproject::

    [project.entry-points.ganforge]
    fgan = "ganforge_fgan.plugin"

It implements any of the hooks below with ``@ganforge.hookimpl``; an implementation may take any subset of the
hook's arguments, by name. A hook name the spec does not know, or an argument it does not provide, makes the
plugin fail to load (and only that plugin). docs/plugins.md walks through writing one.

**Registration hooks** receive a ``register`` callback; call it once per component::

    register(name, component, description=None)

``component`` is either the object itself (a class or factory function) or an import path
``"package.module:attribute"``, imported only when the component is first used, so that ``ganforge list`` stays
fast. ``description`` defaults to the first line of the object's docstring and is required for import paths.
Names are lower-case words joined by ``-`` (``fgan``, ``mlp-residual``); when two plugins register the same name,
both are kept and users pick one as ``distribution:name``.

**Lifecycle hooks** observe or extend a training run; each receives ``run_dir``, ``config`` and ``variant`` plus
what the moment adds. They return nothing. An exception other than :class:`ganforge.GanforgeError` from one of
them is reported once and that plugin's lifecycle hooks are skipped for the rest of the run
(``GANFORGE_STRICT_PLUGINS=1`` stops the run instead); a ``GanforgeError`` stops the run with its message.

Plugin modules must import nothing heavy (no torch) at import time: every ``ganforge`` command loads them.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("ganforge")


# --- components ---------------------------------------------------------------------------------------------------


@hookspec
def register_variants(register) -> None:
    """Called once when the registry is first used, to register variants (GAN recipes).

    A variant is a subclass of :class:`ganforge.Variant`: it names its components, settings sections and defaults,
    and owns its training step (see "The variant contract" in docs/plugins.md). Returns nothing; call ``register``
    once per variant.
    """


@hookspec
def register_generators(register) -> None:
    """Called once when the registry is first used, to register generator factories.

    A generator factory is called with the arguments its variant supplies (parameters without defaults, such as
    ``noise_dim`` and ``spec``) and the user's ``generator.*`` settings (parameters with defaults), and returns an
    ``nn.Module`` mapping a batch of inputs (noise) to a batch of examples of shape ``spec.shape``, images in
    [-1, 1]. Returns nothing; call ``register`` once per generator.
    """


@hookspec
def register_discriminators(register) -> None:
    """Called once when the registry is first used, to register discriminator factories.

    A discriminator factory is called like a generator factory (``spec`` plus ``discriminator.*`` settings) and
    returns an ``nn.Module`` that maps a batch of examples to one logit per example: D(x) = sigmoid(logit) is the
    probability that x is real. Returns nothing; call ``register`` once per discriminator.
    """


@hookspec
def register_losses(register) -> None:
    """Called once when the registry is first used, to register adversarial losses.

    A loss factory takes only ``loss.*`` settings and returns a :class:`ganforge.Loss`:
    ``discriminator_loss(real_logits, fake_logits)`` and ``generator_loss(fake_logits, real_logits=None)`` from D's
    outputs (``real_logits`` only for a loss with ``needs_real_logits``; a one-argument one still works); optionally
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
    :class:`ganforge.data.TensorData`. Returns nothing; call ``register`` once per dataset.
    """


# --- settings -----------------------------------------------------------------------------------------------------


@hookspec
def config_sections() -> dict[str, type]:
    """Called once when the registry is first used, to add sections to every run's config.

    Returns ``{section: dataclass}``. Each field (with a default and a type hint, as in
    :class:`ganforge.config.TrainConfig`) becomes settable as ``--set <section>.<field>=value``, is written to the
    run's ``config.json``, and is read by the plugin's lifecycle hooks as ``config.<section>.<field>``. The
    dataclass may raise :class:`ganforge.GanforgeError` in ``__post_init__`` to reject a combination of values.
    Section names must not collide with ``train``, ``data`` or another plugin's section. Settings configure a
    training run only: loading a checkpoint for sampling ignores them.
    """


# --- lifecycle ----------------------------------------------------------------------------------------------------


@hookspec
def on_run_start(run_dir, config, variant) -> None:
    """Called once before the first training step, after the run directory and its config.json exist.

    ``run_dir`` is the run directory (a ``Path``), ``config`` the resolved :class:`ganforge.config.RunConfig`,
    ``variant`` the :class:`ganforge.Variant` with its networks and optimizers on the training device. Returns
    nothing. Open log files or connections here.
    """


@hookspec
def on_log(run_dir, config, variant, record, step, epoch) -> None:
    """Called after each line of metrics is written to metrics.jsonl (every ``train.log_every`` steps and at the
    end of each epoch).

    ``record`` is that line as a dict of floats: ``step``, ``epoch``, the variant's metrics (``loss_d``,
    ``loss_g``, ``d_real``, ``d_fake``, ...) averaged since the previous line, and ``images_per_s``; ``step`` and
    ``epoch`` repeat its first two entries. Returns nothing. Called on the host, with no device synchronisation
    left to do: this is where loggers write scalars.
    """


@hookspec
def on_checkpoint_save(run_dir, config, variant, path, step, epoch) -> None:
    """Called after a checkpoint has been written (atomically) and old ones pruned.

    ``path`` is the new ``.safetensors`` file, ``step`` and ``epoch`` the progress it records. Returns nothing.
    Copy or upload checkpoints here.
    """


@hookspec
def on_epoch_end(run_dir, config, variant, epoch, step, sample_path, checkpoint_path) -> None:
    """Called after each epoch, once its sample picture and checkpoint are written.

    ``epoch`` is 1-based, ``step`` the generator steps so far, ``sample_path`` the PNG drawn from the run's fixed
    noise (``samples/epoch_NNN.png``) and ``checkpoint_path`` the checkpoint saved at the epoch's end. Returns
    nothing.
    """


@hookspec
def on_run_end(run_dir, config, variant, result, error) -> None:
    """Called once when training stops, whether it finished or failed.

    ``result`` is the :class:`ganforge.trainer.RunResult` (steps, epochs, checkpoint, samples, last metrics) when
    the run finished, else None; ``error`` is the exception that stopped it (including ``KeyboardInterrupt``), else
    None. The exception propagates after every plugin has seen it. Returns nothing. Close files here.
    """


# --- command line -------------------------------------------------------------------------------------------------


@hookspec
def add_commands(app) -> None:
    """Called once when the ``ganforge`` command starts, to add sub-commands.

    ``app`` is a ``typer.Typer``: decorate functions with ``@app.command()`` or attach a group with
    ``app.add_typer(...)``. Import heavy modules inside the command bodies, not at module level. A command may not
    reuse the name of a built-in command or of another plugin's; such a command is skipped with a warning. A
    :class:`ganforge.GanforgeError` raised by a command is printed as one line with exit status 2, like the
    built-in commands' errors. Returns nothing.
    """
