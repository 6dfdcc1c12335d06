"""Built-in datasets: MNIST and Fashion-MNIST (IDX files, downloaded when absent) and 2-D Gaussian mixtures."""
