"""Residual CNN backbone for small images, and an adapter for keras.applications networks."""

from __future__ import annotations

from collections.abc import Sequence

import keras

from builders.backbones.base import Backbone, layer_kwargs
from builders.checks import check_size, check_sizes
from builders.errors import ConfigError
from builders.registry import register_backbone


# oneDNN (TF 2.21 ships v3.7.3) corrupts the heap in the weight gradient of a 1x1 convolution with stride > 1
# when the input has fewer than 16 channels (its AVX-512 block; 8 on AVX2) and the batch does not split evenly
# over the intra-op threads (jit_1x1 backward_weights, "rtus" path: uxlfoundation/oneDNN#6035): "double free
# or corruption", "corrupted double-linked list" or a segfault inside fit, e.g. filters [8, 16] on a partial
# batch of 23. Such a projection takes every stride-th pixel first and convolves with stride 1 (the same
# function and weights, without that kernel); projections from 16 channels or more are left as they were.
_NARROW_PROJECTION_CHANNELS = 16


@keras.saving.register_keras_serializable(package="vertical_zoo")
class Subsample2D(keras.layers.Layer):
    """Every `stride`-th row and column of NHWC images, starting at the first: what a 1x1
    convolution with that stride and "valid" padding reads.

    Example:
    >>> import numpy as np
    >>> Subsample2D(2)(np.arange(16.0).reshape(1, 4, 4, 1))[0, :, :, 0].numpy().tolist()
    [[0.0, 2.0], [8.0, 10.0]]
    """

    def __init__(self, stride: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.stride = check_size("Subsample2D", "stride", stride)

    def call(self, x):
        return x[:, :: self.stride, :: self.stride, :]

    def compute_output_shape(self, input_shape):
        def size(n):
            return None if n is None else (n - 1) // self.stride + 1

        return (input_shape[0], size(input_shape[1]), size(input_shape[2]), input_shape[3])

    def get_config(self) -> dict:
        return {**super().get_config(), "stride": self.stride}


def _projection(x, filters: int, stride: int, name: str, kw: dict):
    if stride != 1 and x.shape[-1] < _NARROW_PROJECTION_CHANNELS:
        x = Subsample2D(stride, name=f"{name}_proj_subsample", **kw)(x)
        stride = 1
    return keras.layers.Conv2D(filters, 1, strides=stride, use_bias=False, name=f"{name}_proj", **kw)(x)


def _residual_block(x, filters: int, stride: int, name: str, kw: dict, momentum: float):
    shortcut = x
    y = keras.layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, name=f"{name}_conv1", **kw)(x)
    y = keras.layers.BatchNormalization(momentum=momentum, name=f"{name}_bn1", **kw)(y)
    y = keras.layers.ReLU(name=f"{name}_relu1", **kw)(y)
    y = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv2", **kw)(y)
    y = keras.layers.BatchNormalization(momentum=momentum, name=f"{name}_bn2", **kw)(y)
    if stride != 1 or shortcut.shape[-1] != filters:
        shortcut = _projection(x, filters, stride, name, kw)
        shortcut = keras.layers.BatchNormalization(momentum=momentum, name=f"{name}_proj_bn", **kw)(shortcut)
    y = keras.layers.Add(name=f"{name}_add", **kw)([y, shortcut])
    return keras.layers.ReLU(name=f"{name}_out", **kw)(y)


@register_backbone("cnn")
@keras.saving.register_keras_serializable(package="vertical_zoo")
class CNNBackbone(Backbone):
    """A small ResNet (basic residual blocks with BatchNorm) pooled to one vector.

    Sized for small images (28x28 to 64x64). Each stage after the first halves the
    resolution. Inputs are float images scaled to [0, 1].

    Args:
        input_shape: tuple. `(height, width, channels)` of the images.
        filters: sequence of int. Filters of each stage.
        blocks_per_stage: int. Residual blocks per stage.
        dropout: float. Dropout before the pooled output.
        batch_norm_momentum: float. Momentum of the BatchNorm moving statistics. 0.9 (PyTorch's
            default, which the MedMNIST ResNets used) lets them follow the weights on small
            datasets; Keras's 0.99 needs hundreds of steps, so a model validated after a few
            epochs of a 500-image set would be scored with statistics that are still mostly init.
        stem_stride: int. Stride of the first convolution: 1 keeps the first stage at full
            resolution (as the MedMNIST ResNets do at 28x28); 2 halves it, for about a quarter of
            the work per image.
        augmentation: float. 0 for none; else random horizontal flips, and shifts and zooms of up
            to this fraction of the image, applied only while training from scratch (a frozen
            base runs in inference mode, where they are the identity).
        dtype: str or `keras.DTypePolicy`; forwarded to every layer.

    Example:
    >>> CNNBackbone(input_shape=(28, 28, 1), filters=(8, 16)).output_shape
    (None, 16)
    """

    def __init__(
        self,
        input_shape: Sequence[int] = (28, 28, 1),
        filters: Sequence[int] = (32, 64, 128),
        blocks_per_stage: int = 1,
        dropout: float = 0.0,
        batch_norm_momentum: float = 0.9,
        augmentation: float = 0.0,
        stem_stride: int = 1,
        dtype=None,
        **kwargs,
    ):
        input_shape = check_sizes("CNNBackbone", "input_shape", input_shape)
        filters = check_sizes("CNNBackbone", "filters", filters)
        if len(input_shape) != 3:
            raise ConfigError(f"CNNBackbone: input_shape must be (height, width, channels), got {input_shape}.")
        if not filters:
            raise ConfigError("CNNBackbone: filters must list at least one stage's filters, e.g. [32, 64].")
        blocks_per_stage = check_size("CNNBackbone", "blocks_per_stage", blocks_per_stage)
        stem_stride = check_size("CNNBackbone", "stem_stride", stem_stride)
        kw = layer_kwargs(dtype)

        # === Layers ===
        inputs = keras.Input(shape=input_shape, name="images")
        x = inputs
        if augmentation:
            x = keras.layers.RandomFlip("horizontal", name="augment_flip", **kw)(x)
            x = keras.layers.RandomTranslation(augmentation, augmentation, fill_mode="nearest",
                                               name="augment_shift", **kw)(x)
            x = keras.layers.RandomZoom(augmentation, fill_mode="nearest", name="augment_zoom", **kw)(x)
        x = keras.layers.Conv2D(filters[0], 3, strides=stem_stride, padding="same", use_bias=False, name="stem_conv",
                                **kw)(x)
        x = keras.layers.BatchNormalization(momentum=batch_norm_momentum, name="stem_bn", **kw)(x)
        x = keras.layers.ReLU(name="stem_relu", **kw)(x)
        for s, f in enumerate(filters):
            for b in range(blocks_per_stage):
                stride = 2 if s > 0 and b == 0 else 1
                x = _residual_block(x, f, stride, f"stage{s}_block{b}", kw, batch_norm_momentum)
        x = keras.layers.GlobalAveragePooling2D(name="pool", **kw)(x)
        features = keras.layers.Dropout(dropout, name="pool_dropout", **kw)(x)

        # === Functional Model ===
        super().__init__(inputs=inputs, outputs=features, dtype=dtype, **kwargs)

        # === Config ===
        self.image_shape = input_shape
        self.filters = filters
        self.blocks_per_stage = blocks_per_stage
        self.dropout = dropout
        self.batch_norm_momentum = batch_norm_momentum
        self.augmentation = augmentation
        self.stem_stride = stem_stride

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            input_shape=list(self.image_shape),
            filters=list(self.filters),
            blocks_per_stage=self.blocks_per_stage,
            dropout=self.dropout,
            batch_norm_momentum=self.batch_norm_momentum,
            augmentation=self.augmentation,
            stem_stride=self.stem_stride,
        )
        return config


@register_backbone("application")
@keras.saving.register_keras_serializable(package="vertical_zoo")
class ApplicationBackbone(Backbone):
    """Wraps a `keras.applications` network (e.g. ResNet50, MobileNetV2, EfficientNetB0).

    Images of any size and 1 or 3 channels are resized to `image_size` and grey images are
    repeated to 3 channels. Weights are random unless `weights_path` names a local weights file
    (e.g. the `..._notop.h5` file downloaded once on a machine with network access): nothing is
    downloaded here. The loaded weights are saved inside the model, so the path is not needed
    to reload it.

    Args:
        application: str. Name of a function in `keras.applications`, e.g. `"MobileNetV2"`.
        input_shape: tuple. `(height, width, channels)` of the images fed to the backbone.
        image_size: int. Side length the images are resized to for the network.
        weights_path: str or None. A local `.h5`/`.weights.h5` file with the network's weights.
        dtype: str or `keras.DTypePolicy`.

    Example:
    >>> ApplicationBackbone("MobileNetV2", input_shape=(28, 28, 1), image_size=32).output_shape
    (None, 1280)
    """

    def __init__(
        self,
        application: str,
        input_shape: Sequence[int] = (224, 224, 3),
        image_size: int = 224,
        weights_path: str | None = None,
        dtype=None,
        **kwargs,
    ):
        constructor = getattr(keras.applications, application, None)
        if constructor is None or not callable(constructor):
            raise ConfigError(f"ApplicationBackbone: keras.applications has no network named {application!r}.")
        input_shape = check_sizes("ApplicationBackbone", "input_shape", input_shape)
        if len(input_shape) != 3:
            raise ConfigError(f"ApplicationBackbone: input_shape must be (height, width, channels), got {input_shape}.")
        image_size = check_size("ApplicationBackbone", "image_size", image_size)
        kw = layer_kwargs(dtype)

        # === Layers ===
        inputs = keras.Input(shape=input_shape, name="images")
        x = inputs
        if tuple(input_shape[:2]) != (image_size, image_size):
            x = keras.layers.Resizing(image_size, image_size, name="resize", **kw)(x)
        if input_shape[-1] == 1:
            x = keras.layers.Concatenate(name="grey_to_rgb", **kw)([x, x, x])
        x = keras.layers.Rescaling(255.0, name="to_pixels", **kw)(x)  # applications expect 0-255 inputs
        network = constructor(
            include_top=False, weights=None, input_shape=(image_size, image_size, 3), pooling="avg"
        )
        if weights_path:
            network.load_weights(weights_path, skip_mismatch=False)
        features = network(x)

        # === Functional Model ===
        super().__init__(inputs=inputs, outputs=features, dtype=dtype, **kwargs)

        # === Config ===
        self.application = application
        self.image_shape = input_shape
        self.image_size = image_size

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(application=self.application, input_shape=list(self.image_shape), image_size=self.image_size)
        return config
