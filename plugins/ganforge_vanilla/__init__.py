"""The vanilla GAN of Goodfellow et al. (2014), ganforge's reference plugin: MLP networks and the recipe."""
