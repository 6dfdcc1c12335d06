"""Adversarial losses for any variant: ``bce``, ``lsgan``, ``hinge``, ``wgan-gp``, and the relativistic ``ragan``
and ``rpgan``, each with the R1 and R2 options.

Choosing a loss is one flag, ``--set loss.name=hinge``; ``--set loss.r1_gamma=10`` adds the R1 gradient penalty
on real data (Mescheder et al. 2018) to D's loss with any of them, ``--set loss.r2_gamma=10`` the R2 penalty on
generated data. R3GAN's objective (Huang et al. 2024) is ``loss.name=rpgan`` with both. Every loss is a
:class:`ganforge.Loss`.
"""
