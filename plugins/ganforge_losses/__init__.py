"""Adversarial losses for single-generator, single-discriminator variants."""
