"""DCGAN: the deep convolutional GAN (Radford, Metz & Chintala, "Unsupervised Representation Learning with Deep
Convolutional Generative Adversarial Networks", ICLR 2016).

What it adds over vanilla: the training is the vanilla recipe's (any loss, k D steps); the networks are
convolutional, following the paper's guidelines: strided convolutions instead of pooling (D) and fractionally
strided ones instead of upsampling (G), batch normalisation in both (not on G's output or D's input layer), no
fully connected hidden layers, ReLU in G with tanh on its output, LeakyReLU(0.2) in D, weights from N(0, 0.02),
Adam with lr 2e-4 and β1 0.5; minibatches of 64, not the paper's 128 (twice the steps per epoch at the same cost on
these small datasets: see the recipe). The depth follows the data: 28x28 grey images (MNIST, Fashion-
MNIST) go 7 → 14 → 28, 32x32 colour 4 → 8 → 16 → 32, 64x64 colour 4 → 8 → 16 → 32 → 64 (the paper's network), with
``generator.width`` / ``discriminator.width`` channels next to the image, doubling towards the 4x4 or 7x7 end.
``--set discriminator.norm=layer`` swaps D's batch norm for layer norm, as WGAN-GP's critic wants.

    ganforge run dcgan --data fashion-mnist --epochs 3
    ganforge run dcgan --data fashion-mnist --set loss.name=wgan-gp --set discriminator.norm=layer --lr 1e-4 \\
        --set optim.beta1=0 --set optim.beta2=0.9
"""
