"""The frozen-base recipe: backbone (frozen, inference mode) + trainable head, then optional
fine-tuning of the backbone's top layers at a lower learning rate."""

from __future__ import annotations

import keras
import numpy as np

from builders.backbones.base import Backbone
from builders.errors import ConfigError
from builders.heads import FEATURE_NORMALIZATION

_NORMALIZATION_LAYERS = (keras.layers.BatchNormalization, keras.layers.LayerNormalization, keras.layers.Normalization)


@keras.saving.register_keras_serializable(package="vertical_zoo")
class InferenceMode(keras.layers.Wrapper):
    """Runs the wrapped backbone with `training=False`, whatever the outer model is doing.

    A Keras 3 functional model passes its own `training` flag down to every layer it calls,
    overriding a `training=False` given when the graph was built; this wrapper makes the
    frozen-base recipe hold (BatchNorm keeps its moving statistics, Dropout stays off).

    Example:
    >>> from builders.backbones import CNNBackbone
    >>> InferenceMode(CNNBackbone(input_shape=(8, 8, 1), filters=(4,))).layer.name
    'cnn_backbone'
    """

    def call(self, inputs, training=None):
        return self.layer(inputs, training=False)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)


def input_like(model: keras.Model):
    """Fresh `keras.Input`s with a model's input structure, shapes, dtypes and names.

    Example:
    >>> inp = keras.Input((3,), name="x")
    >>> x = input_like(keras.Model(inp, keras.layers.Dense(1)(inp)))
    >>> x.shape, x.name, x is inp
    ((None, 3), 'x', False)
    """
    return keras.tree.map_structure(
        lambda t: keras.Input(shape=t.shape[1:], dtype=t.dtype, name=t.name.split("/")[0].split(":")[0]),
        model.input,
    )


def transfer_model(
    backbone: Backbone,
    head: keras.Model,
    freeze: bool = True,
    name: str = "transfer_model",
    inference_mode: bool | None = None,
) -> keras.Model:
    """Backbone + head as one functional model, the backbone frozen by default.

    A frozen (pretrained) backbone runs in inference mode (`InferenceMode`): its BatchNorm layers
    use their moving statistics (keras#9214) and Dropout is off, also after `unfreeze` makes it
    trainable for fine-tuning. With `freeze=False` (training from scratch) the backbone trains
    normally: its Dropout is active and BatchNorm normalizes with batch statistics and updates
    its moving ones. Compile after this call (the zoo's harness does), or use `unfreeze` which
    recompiles for you.

    Args:
        backbone: a `Backbone`.
        head: a head model (`build_head`).
        freeze: exclude the backbone's weights from training.
        name: the model's name.
        inference_mode: run the backbone in inference mode whatever the training flag; default:
            as `freeze` (pass `True` to fine-tune a pretrained base unfrozen from the start).

    Example:
    >>> from builders.backbones import CNNBackbone
    >>> from builders.heads import HeadConfig, build_head
    >>> base = CNNBackbone(input_shape=(8, 8, 1), filters=(4,))
    >>> model = transfer_model(base, build_head(HeadConfig("binary"), base.output_dim))
    >>> len(model.trainable_weights)  # the head's kernel and bias only
    2
    """
    if not isinstance(backbone, Backbone):
        raise ConfigError(f"transfer_model: backbone must be a builders Backbone, got {type(backbone).__name__}.")
    backbone.trainable = not freeze
    inputs = input_like(backbone)
    if freeze if inference_mode is None else inference_mode:
        features = InferenceMode(backbone, name=f"{backbone.name}_inference")(inputs)
    else:
        features = backbone(inputs)
    return keras.Model(inputs, head(features), name=name)


def get_backbone(model: keras.Model) -> Backbone:
    """The backbone inside a model made by `transfer_model` (or the first member's, for an ensemble).

    It takes a model, not a name: `builders.build_backbone(name, ...)` builds a backbone by its
    registered name (`builders.list_backbones()`).

    Example:
    >>> from builders.backbones import RNNBackbone
    >>> from builders.heads import HeadConfig, build_head
    >>> base = RNNBackbone(sequence_length=4, num_features=2, units=3)
    >>> get_backbone(transfer_model(base, build_head(HeadConfig("regression"), 3))) is base
    True
    """
    if not isinstance(model, keras.Model):
        hint = f" To build the backbone registered as {model!r}, call builders.build_backbone({model!r}, ...)." \
            if isinstance(model, str) else ""
        raise ConfigError(f"get_backbone takes a keras.Model built by transfer_model(), got {type(model).__name__} "
                          f"{model!r}.{hint} Registered backbones: builders.list_backbones().")
    for layer in model.layers:
        layer = layer.layer if isinstance(layer, InferenceMode) else layer
        if isinstance(layer, Backbone):
            return layer
    for layer in model.layers:  # an ensemble's members (`average_ensemble`): the first member's backbone
        if isinstance(layer, keras.Model) and not isinstance(layer, Backbone):
            return get_backbone(layer)
    raise ConfigError(f"Model '{model.name}' has no Backbone layer; build it with transfer_model().")


def feature_normalization(model: keras.Model) -> keras.layers.Normalization | None:
    """The head's feature standardization layer (`HeadConfig(normalize_features=True)`), or None.

    Example:
    >>> from builders.backbones import CNNBackbone
    >>> from builders.heads import HeadConfig, build_head
    >>> base = CNNBackbone(input_shape=(8, 8, 1), filters=(4,))
    >>> feature_normalization(transfer_model(base, build_head(HeadConfig("binary"), base.output_dim))) is None
    True
    """
    return next((la for la in model.get_layer("head").layers if la.name == FEATURE_NORMALIZATION), None)


def adapt_feature_normalization(model: keras.Model, features: np.ndarray) -> bool:
    """Set the head's feature standardization (`HeadConfig(normalize_features=True)`) from `features`,
    the frozen backbone's outputs on the training inputs: each feature centred on its mean, all of
    them divided by one overall standard deviation (the root mean of their variances). One scale, not
    one per feature: a feature nearly constant on a few labelled rows (one engine's windows) would
    otherwise be divided by almost 0 and blow up on every other input. Returns whether the head has
    one (False: nothing to do).

    Example:
    >>> from builders.backbones import CNNBackbone
    >>> from builders.heads import HeadConfig, build_head
    >>> base = CNNBackbone(input_shape=(8, 8, 1), filters=(4,))
    >>> model = transfer_model(base, build_head(HeadConfig("binary", normalize_features=True), base.output_dim))
    >>> features = np.random.default_rng(0).normal(5.0, 0.01, (20, base.output_dim))
    >>> adapt_feature_normalization(model, features)
    True
    >>> standardized = model.get_layer("head").get_layer("feature_normalization")(features)
    >>> round(float(np.sqrt(np.mean(np.var(standardized, axis=0)))), 2)
    1.0
    """
    layer = feature_normalization(model)
    if layer is None:
        return False
    layer.adapt(np.asarray(features, dtype="float32").reshape(len(features), -1))
    variance = keras.ops.convert_to_numpy(layer.adapt_variance)
    layer.adapt_variance.assign(np.full_like(variance, float(variance.mean())))  # one scale for every feature
    layer.finalize_state()  # the tensors `call` reads, from the variables (as a reload makes them)
    return True


def unfreeze(
    model: keras.Model,
    num_layers: int | None = None,
    learning_rate: float = 1e-5,
    keep_normalization_frozen: bool = True,
) -> list[str]:
    """Make the top `num_layers` weighted layers of the backbone trainable, and recompile.

    Counts only layers that own weights, from the output end. `None`, or more layers than the
    backbone has, unfreezes them all. Normalization layers (BatchNorm, LayerNorm) stay frozen
    unless asked otherwise. The model is recompiled with its compile settings (loss, metrics,
    weighted metrics, loss weights) and a fresh optimizer of the same type at `learning_rate`
    (loss-scaled again if it was), so the change takes effect in the next `fit` (keras#14325,
    #18092).

    Returns:
        The names of the backbone layers that are now trainable.

    Example:
    >>> from builders.backbones import CNNBackbone
    >>> from builders.heads import HeadConfig, build_head
    >>> base = CNNBackbone(input_shape=(8, 8, 1), filters=(4,))
    >>> model = transfer_model(base, build_head(HeadConfig("binary"), base.output_dim))
    >>> model.compile("adam", "binary_crossentropy")
    >>> unfreeze(model, num_layers=1)
    ['stage0_block0_conv2']
    """
    if num_layers is not None and num_layers < 0:
        raise ConfigError(f"unfreeze: num_layers must be >= 0 or None, got {num_layers}.")
    backbone = get_backbone(model)
    backbone.trainable = True
    weighted = [layer for layer in backbone._flatten_layers(include_self=False, recursive=True) if layer.weights]
    # Only leaves: a wrapper such as Bidirectional or a nested network owns its children's weights.
    leaves = [layer for layer in weighted if not any(True for _ in layer._flatten_layers(include_self=False))]
    candidates = [
        layer for layer in leaves if not (keep_normalization_frozen and isinstance(layer, _NORMALIZATION_LAYERS))
    ]
    chosen = candidates if num_layers is None else candidates[max(0, len(candidates) - num_layers) :] if num_layers else []
    chosen_ids = {id(layer) for layer in chosen}
    for layer in leaves:
        layer.trainable = id(layer) in chosen_ids
    if getattr(model, "optimizer", None) is not None and model.compiled:
        config = model.get_compile_config()
        settings = {key: keras.saving.deserialize_keras_object(config.get(key))
                    for key in ("loss", "metrics", "weighted_metrics", "loss_weights")}
        model.compile(optimizer=_fresh_optimizer(model.optimizer, learning_rate), **settings,
                      run_eagerly=model.run_eagerly, steps_per_execution=model.steps_per_execution,
                      jit_compile=getattr(model, "jit_compile", "auto"))
    return [layer.name for layer in chosen]


def _fresh_optimizer(optimizer: keras.optimizers.Optimizer, learning_rate: float) -> keras.optimizers.Optimizer:
    """A new optimizer like `optimizer` (no state) at `learning_rate`; a loss-scaled one is scaled again."""
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return keras.optimizers.LossScaleOptimizer(_fresh_optimizer(optimizer.inner_optimizer, learning_rate))
    return optimizer.__class__.from_config({**optimizer.get_config(), "learning_rate": learning_rate})
