"""The conditional GAN (Mirza & Osindero, "Conditional Generative Adversarial Nets", 2014).

What it adds over vanilla: both players see the class label y. G(z, y) draws an example of class y, and D(x, y)
gives the probability that x is a real example of class y, so the value function becomes
E[log D(x, y)] + E[log(1 − D(G(z, y), y))]. The label enters each network through a learned embedding (the
paper's one-hot input times a weight matrix): joined to z in G, and to the input of D, as an extra image plane
for the conv networks (``conditional-dcgan``, the default) or beside the flattened example for the MLP ones
(``conditional-mlp``, the paper's setting). Fakes in each step carry the labels of the real minibatch beside
them. Sample grids have one row per class, each column sharing its z, so a column shows what the label alone
changes; ``ganforge sample RUN --class 3`` draws only threes. Datasets without labels are refused.

    ganforge run cgan --data mnist --epochs 5
    ganforge sample runs/<run> --class 3 -n 16 --out threes.png
"""
