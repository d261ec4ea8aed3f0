"""Tiny configs and matching inputs for every registered backbone (the battery's fixtures)."""

import numpy as np

from builders import list_backbones

TINY = {
    "transformer": dict(sequence_length=8, vocabulary_size=30, hidden_dim=8, num_layers=1, num_heads=2,
                        intermediate_dim=16),
    "transformer_continuous": dict(sequence_length=6, num_features=3, hidden_dim=8, num_layers=1, num_heads=2,
                                   intermediate_dim=16, pooling="first"),
    "cnn": dict(input_shape=(12, 12, 1), filters=(4, 8)),
    "rnn": dict(sequence_length=6, num_features=3, units=4, num_layers=2, bidirectional=True),
    "rnn_all": dict(sequence_length=6, num_features=3, units=4, num_layers=2, output="all"),
    "rnn_tokens": dict(sequence_length=8, vocabulary_size=30, embedding_dim=4, units=4, cell="gru"),
    "tabular": dict(num_numeric=3, categorical_cardinalities=[4, 5], hidden_units=(8,)),
    "tabular_all": dict(num_numeric=3, categorical_cardinalities=[4, 5], hidden_units=(8, 4), output="all"),
    "tabular_interactions": dict(num_numeric=3, categorical_cardinalities=[4], hidden_units=(8,),
                                 interactions=[["product", 0, 1], ["difference", 2, 0]]),
    "tabular_transformer": dict(num_numeric=3, categorical_cardinalities=[4], architecture="transformer",
                                embedding_dim=8, num_layers=1),
    "recommender": dict(num_users=10, num_items=12, embedding_dim=4, l2=1e-4),
    "recommender_implicit": dict(num_users=10, num_items=12, embedding_dim=4, l2=1e-4, implicit=True),
    "application": dict(application="MobileNetV2", input_shape=(16, 16, 1), image_size=32),
    "bag_of_words": dict(vocabulary_size=30, dropout=0.1),
    "temporal_cnn": dict(sequence_length=6, num_features=3, filters=(2, 2), kernel_size=3, dense_units=4),
}


def registry_name(case: str) -> str:
    """The registered backbone a case builds: its own name, or the part before "_" ("rnn_all" -> "rnn")."""
    return case if case in list_backbones() else case.split("_")[0]


def sample_inputs(case: str, n: int = 8, seed: int = 0):
    rng = np.random.default_rng(seed)
    cfg = TINY[case]
    if case in ("transformer", "rnn_tokens", "bag_of_words"):
        return rng.integers(1, cfg["vocabulary_size"], size=(n, cfg.get("sequence_length", 8))).astype("int32")
    if case in ("transformer_continuous", "rnn", "rnn_all", "temporal_cnn"):
        return rng.normal(size=(n, cfg["sequence_length"], cfg["num_features"])).astype("float32")
    if case in ("cnn", "application"):
        return rng.random((n, *cfg["input_shape"])).astype("float32")
    if case.startswith("recommender"):
        return {"user": rng.integers(0, cfg["num_users"], n).astype("int32"),
                "item": rng.integers(0, cfg["num_items"], n).astype("int32")}
    x = {"numeric": rng.normal(size=(n, cfg["num_numeric"])).astype("float32")}
    x["categorical"] = np.stack([rng.integers(0, c, n) for c in cfg["categorical_cardinalities"]], 1).astype("int32")
    return x
