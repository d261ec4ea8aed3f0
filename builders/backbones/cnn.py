"""Residual CNN backbone for small images, and an adapter for keras.applications networks."""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable, Sequence

import h5py
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


# How each keras.applications family's own `preprocess_input` maps 0-255 RGB images to its inputs
# (keras/src/applications/<family>.py): "tf" to [-1, 1]; "torch" to [0, 1], then ImageNet mean/std
# per channel; "caffe" RGB to BGR, then ImageNet channel means subtracted; None: the identity, the
# network rescales inside itself.
PREPROCESSING = {
    "convnext": None, "densenet": "torch", "efficientnet": None, "efficientnet_v2": None,
    "inception_resnet_v2": "tf", "inception_v3": "tf", "mobilenet": "tf", "mobilenet_v2": "tf",
    "mobilenet_v3": None, "nasnet": "tf", "resnet": "caffe", "resnet_v2": "tf", "vgg16": "caffe",
    "vgg19": "caffe", "xception": "tf",
}
_TORCH_MEAN, _TORCH_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


def application_family(application: str) -> str:
    """The `keras.applications` module a network function lives in, e.g. `"mobilenet_v2"`.

    Example:
    >>> application_family("MobileNetV2"), application_family("ResNet50")
    ('mobilenet_v2', 'resnet')
    """
    return getattr(keras.applications, application).__module__.rsplit(".", 1)[-1]


@keras.saving.register_keras_serializable(package="vertical_zoo")
class ImageNetPreprocessing(keras.layers.Layer):
    """A `keras.applications` family's `preprocess_input` on 0-255 RGB images, as a layer.

    Args:
        mode: str. `"tf"` (to [-1, 1]), `"torch"` (to [0, 1], then ImageNet mean and std per
            channel) or `"caffe"` (RGB to BGR, then ImageNet channel means subtracted), as in
            `keras.applications.imagenet_utils.preprocess_input`.

    Example:
    >>> x = keras.ops.convert_to_tensor([[[[0.0, 127.5, 255.0]]]])
    >>> keras.ops.convert_to_numpy(ImageNetPreprocessing("tf")(x)).tolist()
    [[[[-1.0, 0.0, 1.0]]]]
    """

    def __init__(self, mode: str, **kwargs):
        super().__init__(**kwargs)
        if mode not in ("tf", "torch", "caffe"):
            raise ConfigError(f"ImageNetPreprocessing: mode must be 'tf', 'torch' or 'caffe', got {mode!r}.")
        self.mode = mode

    def call(self, images):
        if self.mode == "tf":
            return images / 127.5 - 1.0
        if self.mode == "torch":
            mean = keras.ops.convert_to_tensor(_TORCH_MEAN, dtype=images.dtype)
            std = keras.ops.convert_to_tensor(_TORCH_STD, dtype=images.dtype)
            return (images / 255.0 - mean) / std
        mean = keras.ops.convert_to_tensor(_CAFFE_MEAN_BGR, dtype=images.dtype)
        return keras.ops.flip(images, axis=-1) - mean

    def get_config(self) -> dict:
        return {**super().get_config(), "mode": self.mode}


def build_under_policy(build: Callable[[], keras.Model], dtype) -> keras.Model:
    """Call `build()` with `dtype` as the global dtype policy, then restore the previous one.

    For networks whose constructor takes no `dtype` (the `keras.applications` functions): every
    layer they make takes the global policy, so this is how a mixed-precision `dtype` reaches them.
    `dtype=None` builds under the current global policy.

    Example:
    >>> net = build_under_policy(lambda: keras.Sequential([keras.layers.Dense(2)]), "mixed_float16")
    >>> net.layers[0].dtype_policy.name, keras.config.dtype_policy().name
    ('mixed_float16', 'float32')
    """
    if dtype is None:
        return build()
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(keras.dtype_policies.get(dtype))
    try:
        return build()
    finally:
        keras.config.set_dtype_policy(previous)


def _weights_to_pass(application: str) -> str:
    return (f"pass the path of a local copy of the keras.applications {application} weights without the top (the "
            f"'..._notop.h5' file, downloaded elsewhere: keras.applications.{application}(include_top=False, "
            "weights='imagenet') on a machine with network access saves it in ~/.keras/models/), or a .weights.h5 "
            f"file saved from a keras.applications.{application}(include_top=False) network")


def check_weights_file(application: str, weights_path: str | os.PathLike) -> str:
    """`weights_path` as a string if it can hold weights for the network, else a `ConfigError` saying what to pass.

    Nothing is ever downloaded: `"imagenet"` is refused, as are missing files, directories, other
    extensions than `.h5`/`.hdf5` (`.weights.h5` included) and files whose content is not HDF5.

    Example:
    >>> check_weights_file("MobileNetV2", "imagenet")
    Traceback (most recent call last):
    ...
    builders.errors.ConfigError: ApplicationBackbone: weights_path='imagenet' is not downloaded...
    """
    path = os.fspath(weights_path)
    where = f"ApplicationBackbone: weights_path={path!r}"
    if path.lower() == "imagenet":
        raise ConfigError(f"{where} is not downloaded: ApplicationBackbone never downloads weights (weights_path "
                          f"names a local file); {_weights_to_pass(application)}.")
    if not os.path.exists(path):
        raise ConfigError(f"{where} does not exist; {_weights_to_pass(application)}.")
    if os.path.isdir(path):
        raise ConfigError(f"{where} is a directory, not a weights file; {_weights_to_pass(application)}.")
    if not path.endswith((".h5", ".hdf5")):
        raise ConfigError(f"{where} is not a .h5 or .weights.h5 weights file; {_weights_to_pass(application)}.")
    if not h5py.is_hdf5(path):
        raise ConfigError(f"{where} is not an HDF5 file (damaged, truncated, or another format under an .h5 name); "
                          f"{_weights_to_pass(application)}.")
    return path


def load_network_weights(network: keras.Model, application: str, weights_path: str) -> None:
    """Load a checked weights file into a `keras.applications` network, or raise a `ConfigError` naming
    the file and the network when it holds another architecture's weights.

    Keras's own warnings are held back while loading (a file of another architecture makes
    Keras 3 warn once per layer before failing) and shown again when the load succeeds.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            network.load_weights(weights_path, skip_mismatch=False)
        except ValueError as error:
            detail = re.sub(r"\s+", " ", str(error).split("Target variable:")[0].split("List of objects")[0])
            raise ConfigError(
                f"ApplicationBackbone: weights_path={weights_path!r} does not hold weights of keras.applications."
                f"{application}(include_top=False) (another network, another alpha or width, or a file with the top): "
                f"{detail.strip()[:300].rstrip('.')}. To use it, {_weights_to_pass(application)}.") from None
    for warning in caught:
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)


@register_backbone("application")
@keras.saving.register_keras_serializable(package="vertical_zoo")
class ApplicationBackbone(Backbone):
    """Wraps a `keras.applications` network (e.g. ResNet50, MobileNetV2, EfficientNetB0).

    Images of any size and 1 or 3 channels, scaled to [0, 1], are resized to `image_size`, grey
    images are repeated to 3 channels, and the result goes through the network's own
    `preprocess_input` (e.g. `keras.applications.mobilenet_v2.preprocess_input` of the 0-255
    image: [-1, 1] for MobileNetV2, ImageNet mean/std for DenseNet, BGR minus the ImageNet means
    for ResNet50 and VGG; nothing for EfficientNet, MobileNetV3 and ConvNeXt, which rescale
    inside), so ImageNet weights see the inputs they were trained on.

    Weights are random unless `weights_path` names a local weights file (e.g. the `..._notop.h5`
    file downloaded once on a machine with network access): nothing is downloaded here, and a
    missing, non-HDF5 or other network's file is a `ConfigError` that says what to pass. The
    loaded weights are saved inside the model, so the path is not needed to reload it.

    Args:
        application: str. Name of a function in `keras.applications`, e.g. `"MobileNetV2"`.
        input_shape: tuple. `(height, width, channels)` of the images fed to the backbone.
        image_size: int. Side length the images are resized to for the network.
        weights_path: str or None. A local `.h5`/`.weights.h5` file with the network's weights.
        preprocess: bool. Apply the network's own `preprocess_input` (default). Configs saved
            before it was applied have no `preprocess` and reload with `False`, as they were trained.
        dtype: str or `keras.DTypePolicy`; forwarded to every layer, those of the
            `keras.applications` network included.

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
        preprocess: bool = True,
        dtype=None,
        **kwargs,
    ):
        constructor = getattr(keras.applications, application, None)
        if constructor is None or not callable(constructor):
            raise ConfigError(f"ApplicationBackbone: keras.applications has no network named {application!r}.")
        if application_family(application) not in PREPROCESSING:
            raise ConfigError(f"ApplicationBackbone: keras.applications.{application} is not supported (its "
                              f"preprocess_input is not known here); supported families: {sorted(PREPROCESSING)}.")
        input_shape = check_sizes("ApplicationBackbone", "input_shape", input_shape)
        if len(input_shape) != 3:
            raise ConfigError(f"ApplicationBackbone: input_shape must be (height, width, channels), got {input_shape}.")
        image_size = check_size("ApplicationBackbone", "image_size", image_size)
        if not isinstance(preprocess, bool):
            raise ConfigError(f"ApplicationBackbone: preprocess must be true or false, got {preprocess!r}.")
        weights_file = check_weights_file(application, weights_path) if weights_path else None
        kw = layer_kwargs(dtype)

        # === Layers ===
        inputs = keras.Input(shape=input_shape, name="images")
        x = inputs
        if tuple(input_shape[:2]) != (image_size, image_size):
            x = keras.layers.Resizing(image_size, image_size, name="resize", **kw)(x)
        if input_shape[-1] == 1:
            x = keras.layers.Concatenate(name="grey_to_rgb", **kw)([x, x, x])
        x = keras.layers.Rescaling(255.0, name="to_pixels", **kw)(x)  # preprocess_input takes 0-255 inputs
        mode = PREPROCESSING[application_family(application)]
        if preprocess and mode is not None:
            x = ImageNetPreprocessing(mode, name="preprocess", **kw)(x)
        network = build_under_policy(
            lambda: constructor(include_top=False, weights=None, input_shape=(image_size, image_size, 3),
                                pooling="avg"),
            dtype,
        )
        if weights_file:
            load_network_weights(network, application, weights_file)
        features = network(x)

        # === Functional Model ===
        super().__init__(inputs=inputs, outputs=features, dtype=dtype, **kwargs)

        # === Config ===
        self.application = application
        self.image_shape = input_shape
        self.image_size = image_size
        self.preprocess = preprocess

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(application=self.application, input_shape=list(self.image_shape), image_size=self.image_size,
                      preprocess=self.preprocess)
        return config

    @classmethod
    def from_config(cls, config: dict) -> ApplicationBackbone:
        # A model saved before the preprocessing was applied was trained on 0-255 inputs: it reloads so.
        return super().from_config({"preprocess": False, **config})
