"""ganforge-bigan: BiGAN / ALI, a variant whose discriminator takes two inputs, as a third-party ganforge plugin."""
