"""Window-age regression for sequences cut from longer trajectories (an engine's life, a patient's stay).

Each window is labelled with its age: how many steps its trajectory had run at the window's last
step. The age is known while the trajectory runs, so it needs no outcome (no failure time, no
remaining useful life): a self-supervised target. Predicting it makes the backbone's feature
vector track how far the trajectory has drifted from its start, which is what degradation tasks
need (on C-MAPSS FD001 it beat masked-step reconstruction as the pretext of the DCNN; see
BENCHMARKS.md).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from builders.backbones.base import Backbone
from builders.errors import ConfigError
from builders.pretrain.base import Pretrainer, check_inputs, fit_pretrainer, shuffled_batches


@keras.saving.register_keras_serializable(package="vertical_zoo")
class WindowAgePretrainer(Pretrainer):
    """Regresses each window's age from the backbone's feature vector (one linear unit, MSE).

    Ages are standardized with `age_mean` and `age_std` (those of the pretraining corpus), so the
    loss does not depend on the trajectories' time unit.

    Args:
        backbone: a continuous-input sequence backbone (`num_features` set, fixed `sequence_length`).
        age_mean: float. Subtracted from the ages.
        age_std: float. Divides the centred ages; must be positive.

    Example:
    >>> from builders.backbones import TemporalCNNBackbone
    >>> b = TemporalCNNBackbone(sequence_length=6, num_features=2, filters=(4,), dense_units=8)
    >>> WindowAgePretrainer(b, age_mean=20.0, age_std=5.0)(np.zeros((3, 6, 2), "float32")).shape
    TensorShape([3, 1])
    """

    def __init__(self, backbone: Backbone, age_mean: float = 0.0, age_std: float = 1.0, **kwargs):
        if getattr(backbone, "num_features", None) is None or getattr(backbone, "sequence_length", None) is None:
            raise ConfigError(f"WindowAgePretrainer: backbone must take continuous windows (num_features and "
                              f"sequence_length set), got {type(backbone).__name__}.")
        if not age_std > 0:
            raise ConfigError(f"WindowAgePretrainer: age_std must be positive, got {age_std}.")
        super().__init__(backbone, **kwargs)

        # === Layers ===
        self.age_head = keras.layers.Dense(1, name="age_head", dtype=backbone.dtype_policy)

        # === Config ===
        self.age_mean = float(age_mean)
        self.age_std = float(age_std)

    def call(self, inputs, training=None):
        return self.age_head(self.backbone(inputs, training=training))

    def make_dataset(self, data, batch_size: int, seed: int) -> tf.data.Dataset:
        """`data`: `{"windows": (n, steps, features), "ages": (n,)}`."""
        mean, std = self.age_mean, self.age_std
        arrays = {"windows": np.asarray(data["windows"], "float32"), "ages": np.asarray(data["ages"], "float32")}
        return shuffled_batches(arrays, batch_size, seed).map(
            lambda d: (d["windows"], (d["ages"][:, tf.newaxis] - mean) / std))

    def get_config(self) -> dict:
        return {**super().get_config(), "age_mean": self.age_mean, "age_std": self.age_std}


def pretrain_window_age(
    backbone: Backbone,
    data: np.ndarray,
    *,
    ages: np.ndarray,
    epochs: int = 10,
    batch_size: int = 256,
    learning_rate: float = 1e-3,
    seed: int = 0,
    verbose: int | str = 0,
) -> dict[str, list[float]]:
    """Pretrain a continuous-input sequence backbone in place by regressing each window's age.

    Args:
        backbone: a continuous `RNNBackbone`, `TransformerBackbone` or `TemporalCNNBackbone`; trained in place.
        data: float32 windows `(n, sequence_length, num_features)`, scaled as the target task's.
        ages: `(n,)` steps each window's trajectory had run at its last step (e.g.
            `zoo.data.cmapss_fd001.trajectory_ages`); at least two distinct values.
        epochs, batch_size, learning_rate, seed: the training loop (Adam).
        verbose: Keras `fit` verbosity.

    Returns:
        The history: `loss` (mean squared error of the standardized age) per epoch.

    Example:
    >>> from builders.backbones import RNNBackbone
    >>> b = RNNBackbone(sequence_length=6, num_features=1, units=4)
    >>> start = np.arange(32, dtype="float32")
    >>> windows = (start[:, None] + np.arange(6))[..., None] / 40
    >>> len(pretrain_window_age(b, windows, ages=start + 6, epochs=2)["loss"])
    2
    """
    check_inputs(backbone, data, "pretrain_window_age")
    ages = np.asarray(ages, dtype="float64")
    if ages.shape != (len(data),):
        raise ConfigError(f"pretrain_window_age: ages has shape {ages.shape}; expected one age per window "
                          f"({len(data)},).")
    if not np.isfinite(ages).all() or ages.std() == 0:
        raise ConfigError("pretrain_window_age: ages must be finite and not all equal (nothing to regress).")
    keras.utils.set_random_seed(seed)
    pretrainer = WindowAgePretrainer(backbone, age_mean=float(ages.mean()), age_std=float(ages.std()))
    return fit_pretrainer(pretrainer, {"windows": data, "ages": ages}, loss="mse", epochs=epochs,
                          batch_size=batch_size, learning_rate=learning_rate, seed=seed, verbose=verbose)
