"""StackGAN (Zhang, Xu, Li, Zhang, Wang, Huang & Metaxas, "StackGAN: Text to Photo-realistic Image Synthesis with
Stacked Generative Adversarial Networks", ICCV 2017).

What it adds over vanilla: the image is drawn in two stages, each a conditional GAN. Stage I maps noise z and a
conditioning vector to a low-resolution image with the rough shape and colours; stage II takes that image and
the condition again and refines it to the full resolution. The condition is an embedding φ of what to draw:
the paper's are text embeddings; here any ``embedding`` component (``onehot`` class codes by default, so that it
works offline on any labelled dataset; a text-embedding plugin fits the same slot). Conditioning augmentation
draws the conditioning vector from N(μ(φ), diag σ²(φ)) and adds the KL divergence from N(0, I) to G's loss
(``stages.kl_weight``, 1, on the KL divided by its dimensions as in the authors' code); sample grids fix that
draw along with z. Each stage has a discriminator that also sees φ and is taught to reject real images
with a mismatched φ. Stage I trains first (``stages.stage1``, the first half of the run by default), then stage II
with stage I fixed. ``stages.upscale`` is the ratio of the two resolutions (2: 14 → 28 for MNIST; the paper's
64 → 256 is 4). Samples show one row per class; ``--class`` works as for cgan.

    ganforge run stackgan --data fashion-mnist --epochs 4
    ganforge sample runs/<run> --class 7 -n 16 --out sevens.png
"""
