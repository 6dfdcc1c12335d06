"""CycleGAN (Zhu, Park, Isola & Efros, "Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial
Networks", ICCV 2017).

What it adds over vanilla: no noise and no pairs. Two generators translate between image domains, G: A → B and
F: B → A, each against a discriminator of its target domain, trained on two unpaired sets of images. The
adversarial terms (least squares, the ``lsgan`` loss) make G(a) look like B; the cycle-consistency terms
λ(‖F(G(a)) − a‖₁ + ‖G(F(b)) − b‖₁), λ = 10, make the translation keep what the source shows; the identity terms
0.5λ(‖G(b) − b‖₁ + ‖F(a) − a‖₁) keep colours that need not change. The discriminators are 70x70 PatchGANs,
updated on generated images drawn through a pool of the last 50; the generators are ResNet-style (``resnet``, 6
residual blocks up to 128 pixels and 9 above) or the pix2pix U-Net (``unet``); Adam at 2e-4 stays constant for
the first half of the run and then decays linearly to 0 (``schedule.hold`` 0.5). Batch size 1, as in the paper.

Datasets: the releases of the paper (``horse2zebra``, ``monet2photo``, ``apple2orange``, ... downloaded once
from the authors' server, checked and extracted into the cache), your own ``unpaired-folders`` in the same layout
(trainA/, trainB/, testA/, testB/), and ``digits2fashion`` (MNIST digits ↔ Fashion-MNIST items), which works
offline. Sample grids show rows of a, G(a), F(G(a)), b, F(b), G(F(b)); ``ganforge sample RUN --input-dir DIR
--out DIR2`` translates a folder of images from A to B.

    ganforge run cyclegan --data digits2fashion --batch-size 16 --epochs 2
    ganforge run cyclegan --data horse2zebra --epochs 200
    ganforge sample runs/<run> --input-dir photos/ --out zebras/
"""
