"""What a task is: plain dataclasses that name data, backbone, head, loss, metrics and baseline.

A task holds no weights and no data; `zoo.harness` turns it into a trained model.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import json
import math
import numbers
from collections.abc import Iterable
from typing import Any

from builders import get_backbone_class, list_backbones
from builders.heads import HeadConfig
from zoo.errors import ConfigError, UnknownNameError

# The modalities each registered backbone takes (a backbone not listed here is not checked).
BACKBONE_MODALITIES = {
    "tabular": ("tabular",),
    "cnn": ("image",),
    "application": ("image",),
    "transformer": ("text", "timeseries"),
    "rnn": ("text", "timeseries"),
    "temporal_cnn": ("timeseries",),
    "bag_of_words": ("text",),
    "recommender": ("recommendation",),
}
_INPUTS = {"tabular": "tabular data", "image": "images", "text": "text", "timeseries": "time series",
           "recommendation": "user-item pairs"}
CLASSIFICATION_HEADS = ("binary", "multiclass")


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`" Did you mean 'x'?"` for the known names closest to `name`, or `""` when none is close.

    Example:
    >>> did_you_mean("medical/breast_cancer", ["medical/breast_cancer_diagnosis", "medical/breastmnist"])
    " Did you mean 'medical/breast_cancer_diagnosis' or 'medical/breastmnist'?"
    """
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    return f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def check_number(field: str, value: Any, *, minimum: float, integer: bool = False, above: bool = False,
                 optional: bool = False) -> None:
    """Raise `ConfigError` naming `field` unless `value` is a finite number (an integer if `integer`)
    `>= minimum` (`> minimum` if `above`), or None when `optional`; booleans and strings are refused.

    Example:
    >>> check_number("epochs", 0, minimum=1, integer=True)
    Traceback (most recent call last):
    builders.errors.ConfigError: epochs must be an integer >= 1, got 0.
    """
    if optional and value is None:
        return
    kind = numbers.Integral if integer else numbers.Real
    valid = isinstance(value, kind) and not isinstance(value, bool) and math.isfinite(value)
    if not valid or (value <= minimum if above else value < minimum):
        wanted = f"{'an integer' if integer else 'a finite number'} {'>' if above else '>='} {minimum:g}"
        number = isinstance(value, kind) and not isinstance(value, bool)
        got = f"{value!r}" + ("" if number or value is None else f" ({type(value).__name__})")
        raise ConfigError(f"{field} must be {wanted}{' or None' if optional else ''}, got {got}.")


@dataclasses.dataclass
class Baseline:
    """A published figure the task is held to.

    Example:
    >>> Baseline("rmse", 16.14, "LSTM", "Zheng et al. 2017", higher_is_better=False).beaten_by(12.0)
    True
    """

    metric: str
    value: float
    model: str
    citation: str
    higher_is_better: bool = True
    note: str = ""

    def beaten_by(self, ours: float) -> bool:
        """Whether `ours` meets or beats this baseline."""
        return ours >= self.value if self.higher_is_better else ours <= self.value


@dataclasses.dataclass
class BackboneSpec:
    """A backbone by registry name plus the constructor arguments not derived from the data.

    `preset`: a preset directory (from `zoo pretrain` / `zoo.transfer.save_preset`, or a
    keras-hub text preset saved locally): the backbone is that pretrained one, with its weights
    (and, for text, its tokenizer), instead of one built from `name` and `params`.
    """

    name: str
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    preset: str | None = None

    def describe(self) -> str:
        """One line for reports: the name and params, or the preset the backbone comes from.

        Example:
        >>> BackboneSpec("rnn", {"units": 8}).describe(), BackboneSpec("rnn", preset="/p/lstm").describe()
        ('rnn {"units": 8}', 'rnn from the preset /p/lstm')
        """
        return f"{self.name} from the preset {self.preset}" if self.preset else f"{self.name} {json.dumps(self.params)}"


@dataclasses.dataclass
class TrainingConfig:
    """How the harness trains a task by default; every field can be overridden per run.

    Args:
        epochs: maximum epochs (early stopping on the validation split may end sooner).
        batch_size: global batch size (split across replicas).
        learning_rate: Adam learning rate (the initial one under a schedule).
        learning_rate_schedule: `"constant"`; `"cosine"`: cosine decay from `learning_rate` to 0
            over `epochs` epochs; or `"step"`: x0.1 after half and again after three quarters of
            `epochs` (MedMNIST's recipe). Early stopping may end training before the decay ends.
        weight_decay: decoupled weight decay (AdamW) when > 0; 0 trains with Adam.
        freeze: keep the backbone frozen (transfer from a preset); from-scratch tasks use False.
        patience: early-stopping patience in epochs; 0 disables early stopping.
        monitor: the validation quantity early stopping and checkpointing watch.
        class_weight: None, "balanced" (weights inverse to class frequency), or explicit weights
            per class (a list indexed by class, or a dict).
        fine_tune_epochs: after head training, epochs of fine-tuning with the top of the
            backbone unfrozen (frozen runs only; 0 = none).
        fine_tune_layers: weighted backbone layers to unfreeze (None = all).
        fine_tune_learning_rate: learning rate for fine-tuning.
        scale_learning_rate: multiply `learning_rate` by the number of replicas (linear scaling
            rule, for large-batch setups where `batch_size` grows with the replicas).
        ensemble: train this many models on the same split, run seed `s` giving members seeds
            `s * ensemble` to `s * ensemble + ensemble - 1`, and average their outputs
            (`builders.average_ensemble`); 1 = one model, seeded `s`.
    """

    epochs: int = 20
    batch_size: int = 32
    learning_rate: float = 1e-3
    learning_rate_schedule: str = "constant"
    weight_decay: float = 0.0
    freeze: bool = False
    patience: int = 5
    monitor: str = "val_loss"
    class_weight: str | list[float] | dict[str, float] | None = None
    fine_tune_epochs: int = 0
    fine_tune_layers: int | None = None
    fine_tune_learning_rate: float = 1e-5
    scale_learning_rate: bool = False
    ensemble: int = 1

    def __post_init__(self) -> None:
        check_number("epochs", self.epochs, minimum=1, integer=True)
        check_number("batch_size", self.batch_size, minimum=1, integer=True)
        check_number("learning_rate", self.learning_rate, minimum=0, above=True)
        check_number("weight_decay", self.weight_decay, minimum=0)
        check_number("patience", self.patience, minimum=0, integer=True)
        check_number("fine_tune_epochs", self.fine_tune_epochs, minimum=0, integer=True)
        check_number("fine_tune_layers", self.fine_tune_layers, minimum=0, integer=True, optional=True)
        check_number("fine_tune_learning_rate", self.fine_tune_learning_rate, minimum=0, above=True)
        check_number("ensemble", self.ensemble, minimum=1, integer=True)
        for name in ("freeze", "scale_learning_rate"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be True or False, got {getattr(self, name)!r}.")
        if self.fine_tune_epochs and not self.freeze:
            raise ConfigError(f"fine_tune_epochs={self.fine_tune_epochs} follows a frozen-base phase, but freeze is "
                              "False (the whole model already trains); pass freeze=True (--freeze, or --preset DIR) "
                              "or leave fine_tune_epochs at 0.")


@dataclasses.dataclass
class Task:
    """An industry task: data, default model, loss, metrics and the published baseline.

    Args:
        name: `"industry/short_name"`, the registry key.
        industry: e.g. `"finance"`; `"generic"` for bring-your-own-data tasks.
        modality: `"tabular"`, `"image"`, `"text"`, `"timeseries"` or `"recommendation"`.
        dataset: a loader name in `zoo.data.DATASETS`.
        description: one paragraph for `zoo info`.
        backbone: default backbone.
        head: default head.
        loss: a Keras loss name.
        metrics: Keras metric names tracked during training.
        primary_metric: the report metric the benchmark compares (e.g. `"accuracy"`, `"rmse"`).
        baselines: published figures on the same data, split and metric.
        training: default training settings.
        data_options: keyword arguments for the loader (e.g. `{"subset": "allagree"}`).
        preprocessing: text: `{"vocab_size": ..., "sequence_length": ...}`.
        intended_use, limitations, license: the model card.

    Example:
    >>> t = Task("demo/x", "demo", "tabular", "breast_cancer", "Demo.", BackboneSpec("tabular"),
    ...          HeadConfig("binary"), "binary_crossentropy", ["auc"], "roc_auc")
    >>> Task.from_json(t.to_json()) == t
    True
    """

    name: str
    industry: str
    modality: str
    dataset: str
    description: str
    backbone: BackboneSpec
    head: HeadConfig
    loss: str
    metrics: list[str]
    primary_metric: str
    baselines: list[Baseline] = dataclasses.field(default_factory=list)
    training: TrainingConfig = dataclasses.field(default_factory=TrainingConfig)
    data_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    preprocessing: dict[str, Any] = dataclasses.field(default_factory=dict)
    intended_use: str = ""
    limitations: str = ""
    license: str = ""

    def __post_init__(self) -> None:
        takes = BACKBONE_MODALITIES.get(self.backbone.name)
        if takes is not None and self.modality not in takes:
            compatible = sorted(n for n, m in BACKBONE_MODALITIES.items() if self.modality in m)
            raise ConfigError(
                f"backbone {self.backbone.name} takes {' or '.join(_INPUTS.get(m, m) for m in takes)}; task "
                f"{self.name}'s data is {self.modality}; compatible backbones: {', '.join(compatible) or 'none'}.")
        if self.training.class_weight is not None and self.head.kind not in CLASSIFICATION_HEADS:
            raise ConfigError(f"class weights need a classification task: task {self.name} has a {self.head.kind} "
                              f"head; drop class_weight (--class-weight).")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, d: dict) -> Task:
        if not isinstance(d, dict):
            raise ConfigError(f"Not a valid task config: expected a JSON object (dict), got {type(d).__name__}.")
        d = dict(d)
        try:
            d["backbone"] = BackboneSpec(**d["backbone"])
            d["head"] = HeadConfig(**d["head"])
            d["baselines"] = [Baseline(**b) for b in d.get("baselines", [])]
            d["training"] = TrainingConfig(**d.get("training", {}))
            return cls(**d)
        except (TypeError, KeyError) as e:
            raise ConfigError(f"Not a valid task config: {e}") from None

    @classmethod
    def from_json(cls, text: str) -> Task:
        try:
            d = json.loads(text)
        except (TypeError, ValueError) as e:  # json.JSONDecodeError is a ValueError
            raise ConfigError(f"Not a valid task config: not JSON ({e}).") from None
        return cls.from_dict(d)

    def with_overrides(self, *, backbone: str | None = None, backbone_params: dict | None = None, **training) -> Task:
        """A copy with another backbone and/or training fields replaced (None values are ignored).

        Example:
        >>> t = Task("d/x", "d", "tabular", "breast_cancer", "", BackboneSpec("tabular"),
        ...          HeadConfig("binary"), "binary_crossentropy", [], "roc_auc")
        >>> t.with_overrides(epochs=3).training.epochs
        3
        """
        known = {f.name for f in dataclasses.fields(TrainingConfig)}
        unknown = set(training) - known
        if unknown:
            raise ConfigError(f"Unknown training field(s) {sorted(unknown)}; known: {sorted(known)}.")
        train = dataclasses.replace(self.training, **{k: v for k, v in training.items() if v is not None})
        spec = self.backbone
        if backbone and backbone != spec.name:
            if backbone not in list_backbones():
                raise UnknownNameError(f"Unknown backbone '{backbone}'.{did_you_mean(backbone, list_backbones())} "
                                       f"Known backbones: {', '.join(list_backbones())}.")
            spec = BackboneSpec(backbone, {})
        if backbone_params is not None:
            check_backbone_params(spec.name, backbone_params)
            spec = BackboneSpec(spec.name, {**spec.params, **backbone_params})
        return dataclasses.replace(self, backbone=spec, training=train)


def check_backbone_params(backbone: str, params: Any) -> None:
    """Raise `ConfigError` unless `params` is a dict whose values fit the backbone's arguments in kind:
    a string where the backbone takes a list (e.g. `hidden_units="64"`), or anything but a number where
    it takes a number (`dropout="high"`), is refused.

    Example:
    >>> check_backbone_params("tabular", {"hidden_units": "64"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    builders.errors.ConfigError: backbone_params['hidden_units'] of backbone tabular must be a list...
    >>> check_backbone_params("tabular", {"dropout": "high"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    builders.errors.ConfigError: backbone_params['dropout'] of backbone tabular must be a number (default 0.1), not 'high'.
    """
    if not isinstance(params, dict):
        raise ConfigError(f"backbone_params (--backbone-params) must be a JSON object such as "
                          f'{{"dropout": 0.2}}, got {params!r}.')
    arguments = inspect.signature(get_backbone_class(backbone).__init__).parameters
    for key, value in params.items():
        argument = arguments.get(key)
        takes_list = argument is not None and (isinstance(argument.default, (list, tuple)) or str(
            argument.annotation).startswith(("Sequence[", "list[", "tuple[")))
        if takes_list and isinstance(value, str):
            raise ConfigError(f"backbone_params[{key!r}] of backbone {backbone} must be a list (e.g. [64, 32]), "
                              f"not the string {value!r}.")
        default = None if argument is None else argument.default
        number = isinstance(default, int | float) and not isinstance(default, bool)
        if number and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ConfigError(f"backbone_params[{key!r}] of backbone {backbone} must be a number (default "
                              f"{default!r}), not {value!r}.")
