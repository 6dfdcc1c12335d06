"""Registers CycleGAN and its image-to-image networks. Imports nothing heavy: listing stays fast.

Its datasets (``digits2fashion``, ``unpaired-folders`` and the CycleGAN releases) come with the datasets plugin,
since any unpaired image-to-image variant can train on them.
"""

from ganforge.plugin import hookimpl


@hookimpl
def register_variants(register):
    register("cyclegan", "ganforge_cyclegan.recipe:CycleGAN", "Zhu et al. 2017: unpaired translation A <-> B with cycle consistency")


@hookimpl
def register_generators(register):
    register("resnet", "ganforge_cyclegan.models:ResnetGenerator", "Image -> image: conv, 2 downsamplings, residual blocks, 2 upsamplings (Johnson et al.)")
    register("unet", "ganforge_cyclegan.models:UNetGenerator", "Image -> image: pix2pix U-Net with skip connections between mirrored levels")


@hookimpl
def register_discriminators(register):
    register("patchgan", "ganforge_cyclegan.models:PatchGANDiscriminator", "Image -> map of logits, one per 70x70 patch (pix2pix/CycleGAN)")
