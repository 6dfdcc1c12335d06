"""ganforge-fgan: the f-GAN losses and a residual MLP generator, as a third-party ganforge plugin."""
