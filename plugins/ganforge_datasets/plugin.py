"""Registers the built-in datasets by import path, so that listing them never imports torch."""

from ganforge.plugin import hookimpl
from ganforge_datasets.release_names import RELEASES


@hookimpl
def register_datasets(register):
    register("mnist", "ganforge_datasets.mnist:mnist", "Handwritten digits 0-9, 28x28 grey (60k train / 10k test)")
    register(
        "fashion-mnist",
        "ganforge_datasets.mnist:fashion_mnist",
        "Zalando clothing images in 10 classes, 28x28 grey (60k train / 10k test)",
    )
    register(
        "stacked-mnist",
        "ganforge_datasets.stacked:stacked_mnist",
        "Three MNIST digits as the R, G, B channels: 1,000 modes (Metz et al. 2017, PacGAN)",
    )
    register("ring8", "ganforge_datasets.mixtures:ring8", "2-D benchmark: 8 Gaussians (std 0.01) on the unit circle")
    register("grid25", "ganforge_datasets.mixtures:grid25", "2-D benchmark: 25 Gaussians (std 0.05) on a 5x5 grid")
    register(
        "image-folder",
        "ganforge_datasets.folder:image_folder",
        "Your images from --data-root, all one size; first-level subfolders become classes",
    )
    register("digits2fashion", "ganforge_datasets.unpaired:digits2fashion", "Unpaired: MNIST digits (A) <-> Fashion-MNIST items (B), 28x28 grey, offline")
    register("unpaired-folders", "ganforge_datasets.unpaired:unpaired_folders", "Unpaired: your trainA/ trainB/ testA/ testB/ image folders")
    register(
        "captioned-mnist",
        "ganforge_datasets.captioned:captioned_mnist",
        "MNIST with captions measured on each digit: 'a thick seven leaning right' (text-to-image)",
    )
    register(
        "captioned-fashion-mnist",
        "ganforge_datasets.captioned:captioned_fashion_mnist",
        "Fashion-MNIST with captions measured on each item: 'a wide, dark pullover' (text-to-image)",
    )
    register(
        "captioned-folder",
        "ganforge_datasets.text_release:captioned_folder",
        "Captioned images in the StackGAN/AttnGAN release layout (CUB-200, Oxford-102): images/, text/, train/, test/",
    )
    for name, description in RELEASES.items():
        register(name, f"ganforge_datasets.releases:{name}", description)
