"""StackGAN (Zhang, Xu, Li, Zhang, Wang, Huang & Metaxas, "StackGAN: Text to Photo-realistic Image Synthesis with
Stacked Generative Adversarial Networks", ICCV 2017).

What it adds over vanilla: the image is drawn in two stages, each a conditional GAN. Stage I maps noise z and a
conditioning vector to a low-resolution image with the rough shape and colours; stage II takes that image and
the condition again and refines it to the full resolution. ``stages.upscale`` is the ratio of the two resolutions
(2: 14 → 28 for MNIST; the paper's 64 → 256 is 4).

The text path, in the paper's terms (section 3):

* **Text embedding φ_t.** A caption t is encoded into a sentence embedding φ_t. The paper uses the char-CNN-RNN
  encoder of Reed et al. (2016), pretrained to match images with their captions. Here the encoder is an
  ``embedding`` component: ``text-gru`` (a word- or character-level bidirectional GRU) learns that image-text
  matching objective (Reed et al.'s, with an image encoder) during stage I, beside the GAN; ``word-vectors`` reads a
  pretrained encoder (word vectors, averaged) from a local file. ``onehot`` embeds a class label instead (the
  default, for labelled data without captions).
* **Conditioning augmentation.** φ_t is not fed to G directly: a fully connected layer gives μ(φ_t) and σ(φ_t), and
  G receives ĉ = μ + σ ⊙ ε, ε ~ N(0, I), drawn afresh each time. The KL divergence D_KL(N(μ, Σ) ‖ N(0, I)) joins
  G's loss with weight λ (``stages.kl_weight``, 1). Each stage has its own augmentation: ĉ₀ for stage I, ĉ for
  stage II, from the same φ_t.
* **Stage I** G₀(z, ĉ₀): the low-resolution image s₀. **Stage II** G(s₀, ĉ): s₀ is encoded by down-sampling
  convolutions, joined with ĉ replicated over the positions, passed through residual blocks and up-sampled to the
  full resolution. Stage I trains for the first ``stages.stage1`` of the run (half), then stage II with stage I
  (and the text encoder) fixed.
* **Matching-aware discriminators.** Each stage's D sees (real image, its caption) as real, and both (generated
  image, its caption) and (real image, a mismatched caption) as fake (Reed et al. 2016): the next image's caption
  in the minibatch, as the authors' code pairs them. D's loss is log D(x, φ_t) + ½ (log(1 − D(G(z, ĉ), φ_t)) +
  log(1 − D(x, φ_t'))), so it rejects images that are real but do not show the text.
* **Beyond the paper: the refiner's matching loss** (``stages.match_weight``, 0 by default). AttnGAN (Xu et al.
  2018) adds to G's loss the score of a pretrained image-text matching model on the generated images (its DAMSM
  loss). With ``text-gru``, the encoders that learned matching in stage I are that model: in stage II the refiner's
  loss gains λ times the matching loss of its images against their captions, so each image must be recognisably
  its own caption's among the minibatch's. The text-to-image recipe (``examples/configs/stackgan-captions.toml``)
  turns it on; benchmarks/README.md has what it changes.

On captioned data (``captioned-mnist``, ``captioned-fashion-mnist``, or your CUB-200 / Oxford-102 copy through
``captioned-folder``) each minibatch draws one of every image's captions. Sample grids show one caption per row
with the caption written under it; ``ganforge eval`` adds text-image agreement (the caption's class against the
evaluator's, attributes asked for against those measured) beside a mismatched-caption baseline.

    ganforge run stackgan --data captioned-mnist --set embedding.name=text-gru --epochs 4
    ganforge sample runs/<run> --caption "a thin one leaning left" -n 16 --out ones.png
    ganforge sample runs/<run> --captions captions.txt -n 8 --out grid.png
    ganforge eval runs/<run>
    ganforge run stackgan --data fashion-mnist --epochs 4          # class labels, one row per class
    ganforge sample runs/<run> --class 7 -n 16 --out sevens.png
"""
