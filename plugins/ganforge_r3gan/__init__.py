"""R3GAN (Huang, Gokaslan, Kuleshov and Tompkin, "The GAN is dead; long live the GAN! A Modern GAN Baseline",
NeurIPS 2024), sized for 28-64 pixel images."""
