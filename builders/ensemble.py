"""Deep ensembles: models trained apart (different seeds), served as one model that averages them."""

from __future__ import annotations

from collections.abc import Sequence

import keras

from builders.errors import ConfigError
from builders.transfer import input_like


def average_ensemble(members: Sequence[keras.Model], name: str = "ensemble") -> keras.Model:
    """One functional model whose output is the mean of its members' outputs.

    For classifiers the members' probabilities are averaged (a deep ensemble: lower variance
    and better ranking than any one member, at n times the inference cost); for regression,
    their predictions. The members keep their weights and are renamed `member_0`,
    `member_1`, ... (a functional model needs unique layer names); the ensemble saves and
    reloads as one `.keras` file (safe mode) and exports like any other model.

    Args:
        members: two or more models with the same inputs (names, shapes, dtypes) and the same
            output shape.
        name: the ensemble's name.

    Example:
    >>> import numpy as np
    >>> def member(bias):
    ...     x = keras.Input((2,), name="x")
    ...     return keras.Model(x, keras.layers.Dense(1, kernel_initializer="zeros", bias_initializer=
    ...                                             keras.initializers.Constant(bias))(x))
    >>> ensemble = average_ensemble([member(0.2), member(0.6)])
    >>> round(float(ensemble.predict(np.zeros((1, 2)), verbose=0)[0, 0]), 3)
    0.4
    """
    members = list(members)
    if len(members) < 2 or not all(isinstance(m, keras.Model) for m in members):
        raise ConfigError(f"average_ensemble: needs two or more Keras models, got {len(members)} member(s).")
    spec = lambda m: keras.tree.map_structure(lambda t: (t.name, tuple(t.shape[1:]), t.dtype), m.input)  # noqa: E731
    out = lambda m: tuple(m.output.shape[1:])  # noqa: E731
    for i, member in enumerate(members[1:], start=1):
        if spec(member) != spec(members[0]) or out(member) != out(members[0]):
            raise ConfigError(
                f"average_ensemble: member {i} takes {spec(member)} and returns {out(member)}, member 0 takes "
                f"{spec(members[0])} and returns {out(members[0])}; members must match."
            )
    for i, member in enumerate(members):
        member.name = f"member_{i}"
    inputs = input_like(members[0])
    outputs = [member(inputs) for member in members]
    return keras.Model(inputs, keras.layers.Average(name="average", dtype="float32")(outputs), name=name)
