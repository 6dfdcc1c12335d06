"""Registers StackGAN, its stage networks and its embeddings (class labels and captions). Imports nothing heavy."""

from ganforge.plugin import hookimpl


@hookimpl
def register_variants(register):
    register("stackgan", "ganforge_stackgan.recipe:StackGAN", "Zhang et al. 2017: stage I draws low-res from z and an embedding, stage II refines")


@hookimpl
def register_generators(register):
    register("stackgan-stage1", "ganforge_stackgan.models:Stage1Generator", "StackGAN stage I: (z, embedding) -> low-res image, with conditioning augmentation")
    register("stackgan-stage2", "ganforge_stackgan.models:Stage2Generator", "StackGAN stage II: (stage-I image, embedding) -> full-res image")


@hookimpl
def register_discriminators(register):
    register("stackgan", "ganforge_stackgan.models:StageDiscriminator", "StackGAN D(x, embedding): is x real and does it match the embedding")


@hookimpl
def register_embeddings(register):
    register("onehot", "ganforge_stackgan.embeddings:OneHotEmbedding", "Class label -> fixed one-hot vector (offline class conditioning)")
    register("text-gru", "ganforge_stackgan.text:TextGRU", "Captions -> learned sentence vector: word or char tokens, bidirectional GRU (learns image-text matching in stage I)")
    register("word-vectors", "ganforge_stackgan.word_vectors:WordVectorMean", "Captions -> mean of pretrained word vectors from a local file (GloVe text or safetensors)")
