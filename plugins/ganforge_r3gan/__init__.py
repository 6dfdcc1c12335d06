"""R3GAN (Huang, Gokaslan, Kuleshov and Tompkin, "The GAN is dead; long live the GAN! A Modern GAN Baseline",
NeurIPS 2024), sized for 28-64 pixel images.

The paper's argument: GANs are not fragile by nature; the classic loss is. Its objective is the relativistic
pairing GAN (RpGAN: each real example against one sample, D minimises softplus(C(G(z)) − C(x)), G the reverse),
whose landscape has no mode-dropping basins of the kind the classic loss has, regularised by both zero-centred
gradient penalties, R1 on real data and R2 on generated data, which together make training converge locally
where R1 alone does not reliably. With that objective every old trick (normalisation, minibatch
statistics, progressive growing, style mapping, path-length and lazy regularisation) can go, and the backbone
becomes a plain modern ConvNet: residual blocks with a 1x1 → grouped 3x3 → 1x1 inverted bottleneck, no
normalisation, fix-up initialisation (each residual branch's last layer zero, the others scaled by the number
of blocks, so every block starts as the identity), bilinear low-pass resampling, and a learned 4x4 basis at G's
input and D's output. It reaches 1,000 of 1,000 modes and KL 0.029 on stacked MNIST.

What ganforge implements (``ganforge run r3gan --data fashion-mnist --minutes 20``):

* the objective: ganforge's ``rpgan`` loss with its R1 and R2 at the same γ, 0.05 at the start (the paper's
  preset for small images, CIFAR-10) annealed to a tenth of it (``anneal.gamma_final``);
* the optimiser: Adam with β1 = 0 and β2 from 0.9 to 0.99 (``anneal.beta2_final``), learning rate 2e-4 to 5e-5
  for G and D (``schedule.final`` 0.25); one D step per G step; all three follow half a cosine (the paper's
  ``cosine_decay_with_warmup`` without warm-up), here over the run's length rather than a fixed 20M images;
* the networks, ``generator.name=r3gan`` and ``discriminator.name=r3gan`` (see :mod:`ganforge_r3gan.models`),
  which any variant can take;
* the moving average of G that every ganforge variant samples from (``ema.*``; see below).

Departures from the paper, each for a reason:

* **Widths and depth (CPU cost).** The paper's CIFAR-10 networks have 768 channels at every resolution and two
  blocks per stage (about 100M parameters); here ``width`` is 64 at the lowest resolution, halving at each
  doubling above 7 px (``halve_above``: 64, 32, 16 channels at 7, 14, 28 px), one block per stage
  (``blocks``), about 0.1M parameters in each network. On this project's shared 2-core machine, one thread, a
  batch of 64 Fashion-MNIST images took 14.3 s a step at width 96 with the paper's constant width to 32 px,
  9.1 s with it halving above 7 px, and 4.4 s at width 64 halving above 7 px (load average 11 to 15); DCGAN's
  step took 0.25 s (load 8). The expansion (2) and the group width (16 channels, the paper's 1536 / 96) are the
  paper's.
* **Base resolution.** The paper's basis is 4x4; 28 px images (MNIST, Fashion-MNIST, stacked MNIST) start
  from 7x7 (28 → 14 → 7), as dcgan's networks do; 32 and 64 px ones from 4x4.
* **Batch size (CPU cost).** 64, not the paper's 512 (CIFAR-10): a CPU's images per second hardly depend on
  the batch, so a smaller one takes more steps in the same minutes.
* **Resampling.** The same [1, 3, 3, 1] filter, computed as bilinear interpolation in G (replicating the
  border pixel where the paper's filter reads zeros) and as strided sums in D, whose double backward (R1 and R2
  take one) is many times cheaper on a CPU than a depthwise convolution's.
* **Moving average.** The paper's average has a half-life that grows along the same cosine to 5M images
  (CIFAR-10) or 0.5M (FFHQ-64); ganforge's moving average bounds its half-life by ``ema.rampup`` (0.05) of the
  steps so far and its decay by ``ema.decay`` (0.999), the same shape, linear instead of cosine.
* **No augmentation by default.** The paper augments CIFAR-10 and FFHQ (ADA's pipeline at a probability up
  to 0.55); a run of minutes shows D far fewer images than it needs to overfit 60,000. ganforge's ``augment.*``
  (DiffAugment, ADA's adaptive probability) applies to r3gan like any variant.
* **Clipped output.** G's output layer is linear, as the paper's, then clipped to the data's [-1, 1] (the
  paper clips only when it writes 8-bit images), so that D judges the images a user gets and G keeps
  ganforge's generator contract (images in [-1, 1]).
"""
