"""Adversarial losses for any variant: ``bce``, ``lsgan``, ``hinge`` and ``wgan-gp``, each with the R1 option.

Choosing a loss is one flag, ``--set loss.name=hinge``; ``--set loss.r1_gamma=10`` adds the R1 gradient penalty
(Mescheder et al. 2018) to D's loss with any of them. Every loss is a :class:`ganforge.Loss`.
"""
