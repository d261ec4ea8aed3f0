"""Property-based tests: no input, however malformed, makes a loader or a config fail with anything
but the zoo's own errors (`builders.errors.ZooError` subclasses, which the CLI prints in one line).

The examples are the same on every run (derandomized), so CI does not flake. To explore further with
fresh random examples: `ZOO_HYPOTHESIS_EXAMPLES=500 pytest tests/test_properties.py`.
"""

import csv
import inspect
import io
import json
import os
import tempfile
from pathlib import Path

import numpy as np
from backbone_fixtures import TINY, registry_name
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from builders import HEAD_KINDS, HeadConfig, build_backbone, build_head, get_backbone_class
from builders.errors import ZooError
from zoo.data import generic
from zoo.data.types import Dataset
from zoo.tasks import Task, get_task

# Bounded so that the file runs in well under 20 s; deterministic unless more examples are asked for.
EXPLORE = os.environ.get("ZOO_HYPOTHESIS_EXAMPLES")
FAST = settings(max_examples=int(EXPLORE or 50), deadline=None, database=None, derandomize=not EXPLORE,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SLOW = settings(FAST, max_examples=int(EXPLORE or 20))  # each example builds a Keras model


def mostly(good, *bad):
    """`good` three times in four, else one of `bad` (st.one_of would pick each branch about equally)."""
    return st.integers(0, 3).flatmap(lambda i: good if i else st.one_of(*bad))


# === Loaders: random small CSV files ===

NAMES = st.sampled_from(["a", "b", "label", "text", "t", "id", " a ", "", "naïve", "x,y", 'q"uote', "1", "nan"])
CELLS = st.one_of(
    st.integers(-5, 5).map(str),
    st.floats(allow_nan=True, allow_infinity=True, width=32).map(repr),
    st.sampled_from(["", " ", "nan", "NaN", "NA", "null", "inf", "-inf", "1e400", "-0", "0x1F", "1,5", "abc",
                     "été", "12abc", "\t", "True", "2024-01-31", "  3 "]),
)


@st.composite
def csv_files(draw):
    """A CSV (bytes), its header, and whether loading it must fail.

    A clean table of small numbers (which the loaders accept), the same with a few cells replaced
    by NaN, text, blanks or huge numbers ("dirty"), a table of random cells, ragged rows, a header
    with one name too few for every row ("wide": pandas would silently drop the last cells of every
    row), a header alone, an empty file, or random bytes.
    """
    kind = draw(st.sampled_from(["clean"] * 3 + ["dirty"] * 3 + ["random", "ragged", "wide", "empty", "header_only",
                                                                 "bytes"]))
    if kind == "empty":
        return b"", ["a"], True
    if kind == "bytes":
        return draw(st.binary(max_size=60)), ["a"], False
    unique = kind in ("clean", "dirty", "wide")
    header = draw(st.lists(NAMES, min_size=2 if unique else 1, max_size=4, unique=unique))
    rows = 0 if kind == "header_only" else draw(st.integers(1 if kind == "random" else 12, 30))
    width = len(header) + (kind == "wide")
    cells = CELLS if kind == "random" else st.integers(0, 2).map(str)
    body = [[draw(cells) for _ in range(width if kind != "ragged" else draw(st.integers(0, width + 2)))]
            for _ in range(rows)]
    if kind == "dirty":
        for _ in range(draw(st.integers(1, 3))):
            body[draw(st.integers(0, rows - 1))][draw(st.integers(0, width - 1))] = draw(CELLS)
    out = io.StringIO()
    csv.writer(out).writerows([header, *body])
    return out.getvalue().encode("utf-8"), header, kind in ("wide", "header_only")


def write(content: bytes) -> Path:
    path = Path(tempfile.mkdtemp()) / "data.csv"
    path.write_bytes(content)
    return path


def check_dataset(ds: Dataset) -> None:
    """What a loader that returns promises: non-empty splits, finite numeric inputs, labels in range."""
    for split in (ds.train, ds.val, ds.test):
        assert len(split) > 0 and len(split.y) == len(split)
        x = split.x if isinstance(split.x, dict) else {"x": split.x}
        for values in x.values():
            values = np.asarray(values)
            if values.dtype.kind in "fiu":
                assert np.isfinite(values.astype("float64")).all()
        if "num_classes" in ds.meta:
            assert 0 <= int(np.min(split.y)) and int(np.max(split.y)) < ds.meta["num_classes"]
        else:
            assert np.isfinite(np.asarray(split.y, dtype="float64")).all()


FRACTIONS = mostly(st.floats(0.1, 0.4), st.floats(-0.5, 1.5), st.just(float("nan")), st.sampled_from(["0.2", None]))


def loads_or_zoo_error(must_fail: bool, loader, *args, record=event, **kwargs) -> None:
    try:
        ds = loader(*args, **kwargs)
    except ZooError:
        record("refused")
        return
    record("loaded")
    assert not must_fail, f"{loader.__name__} loaded a file it must refuse"
    check_dataset(ds)


@FAST
@given(csv_files(), st.data())
def test_tabular_csv_loader(file, data):
    content, header, must_fail = file
    target = data.draw(mostly(st.sampled_from(header), NAMES))
    loads_or_zoo_error(must_fail, generic.load_csv_tabular, write(content), target,
                       task=data.draw(st.sampled_from(generic.TASKS)),
                       categorical=data.draw(mostly(st.none(), st.lists(st.sampled_from(header), max_size=2))),
                       drop=data.draw(mostly(st.none(), st.lists(NAMES, max_size=2))),
                       test_fraction=data.draw(FRACTIONS), val_fraction=data.draw(FRACTIONS))


@FAST
@given(csv_files(), st.data())
def test_text_csv_loader(file, data):
    content, header, must_fail = file
    loads_or_zoo_error(must_fail, generic.load_text_csv, write(content), data.draw(st.sampled_from(header)),
                       data.draw(mostly(st.sampled_from(header), NAMES)),
                       task=data.draw(st.sampled_from(generic.TASKS)), test_fraction=data.draw(FRACTIONS))


@FAST
@given(csv_files(), st.data())
def test_timeseries_csv_loader(file, data):
    content, header, must_fail = file
    column = mostly(st.none(), st.sampled_from(header))
    loads_or_zoo_error(must_fail, generic.load_timeseries_csv, write(content), data.draw(st.sampled_from(header)),
                       window=data.draw(mostly(st.integers(1, 3), st.integers(-1, 40))), group=data.draw(column),
                       time_column=data.draw(column), stride=data.draw(mostly(st.just(1), st.integers(-1, 3))),
                       task=data.draw(st.sampled_from(generic.TASKS)), val_fraction=data.draw(FRACTIONS))


def test_a_header_with_a_name_missing_is_refused_not_silently_cut():
    """Every row has one cell more than the header names: pandas would drop the last cells (maybe the labels)."""
    rows = "\n".join(f"{i},{i % 2},{(i * 7) % 3}" for i in range(40))
    path = write(f"a,label\n{rows}\n".encode())
    for must_fail_loader, args in [(generic.load_csv_tabular, ("label",)), (generic.load_text_csv, ("a", "label")),
                                   (generic.load_timeseries_csv, ("label",))]:
        kwargs = {"window": 3} if must_fail_loader is generic.load_timeseries_csv else {}
        loads_or_zoo_error(True, must_fail_loader, path, *args, record=lambda _: None, **kwargs)


def test_the_strategies_reach_the_happy_path():
    """A valid file through the same helpers loads, so the properties above are not vacuous."""
    rows = "\n".join(f"{i},{i % 5},{'uv'[i % 2]},{i % 2}" for i in range(40))
    ds = generic.load_csv_tabular(write(f"id,a,b,label\n{rows}\n".encode()), "label", drop=["id"])
    check_dataset(ds)


# === Configs: random JSON values everywhere ===

JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-3, 300), st.floats(allow_nan=False, width=32),
              st.text(max_size=8)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=6,
)
TASK = get_task("medical/breast_cancer_diagnosis").to_dict()
PATHS = [(k,) for k in TASK] + [(k, f) for k in ("backbone", "head", "training") for f in TASK[k]] + [
    ("baselines", 0, f) for f in TASK["baselines"][0]]


@st.composite
def mutated_task_dicts(draw):
    """The breast-cancer task's dict with a few fields replaced by random JSON, deleted, or added."""
    d = json.loads(json.dumps(TASK))
    for path in draw(st.lists(st.sampled_from(PATHS), min_size=1, max_size=3)):
        parent = d
        for key in path[:-1]:
            if not isinstance(parent, dict | list) or (isinstance(parent, list) and key >= len(parent)):
                break
            if isinstance(parent, dict) and key not in parent:
                break
            parent = parent[key]
        else:
            if isinstance(parent, dict) and draw(st.booleans()):
                parent.pop(path[-1], None)
            elif isinstance(parent, dict):
                parent[path[-1]] = draw(JSON)
    if draw(st.booleans()):
        d[draw(st.text(max_size=5))] = draw(JSON)
    return d


@FAST
@given(mutated_task_dicts())
def test_task_from_dict(d):
    try:
        task = Task.from_dict(d)
    except ZooError:
        event("refused")
        return
    event("built")
    assert isinstance(task, Task) and Task.from_json(task.to_json()) == task


@FAST
@given(st.one_of(JSON.map(json.dumps), st.text(max_size=30), mutated_task_dicts().map(json.dumps)))
def test_task_from_json(text):
    try:
        Task.from_json(text)
    except ZooError:
        pass


HEAD_VALUES = {
    "num_outputs": mostly(st.integers(1, 4), st.integers(-2, 0), st.floats(-1, 4), st.none(), st.text(max_size=2)),
    "horizon": mostly(st.integers(1, 3), st.integers(-2, 0), st.none(), st.booleans()),
    "hidden_units": mostly(st.lists(st.integers(1, 6), max_size=2), st.lists(st.integers(-2, 6), min_size=1, max_size=2),
                           st.integers(0, 3), st.text(max_size=2)),
    "dropout": mostly(st.floats(0, 0.9), st.floats(-1, 2), st.just(float("nan")), st.none(), st.text(max_size=2)),
    "output_scale": mostly(st.floats(-100, 100), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=2)),
    "output_offset": mostly(st.floats(-100, 100), st.floats(allow_nan=True, allow_infinity=True), st.none()),
}
VALID_HEADS = {"binary": {}, "multiclass": {"num_outputs": 3}, "multilabel": {"num_outputs": 3},
               "regression": {"num_outputs": 2, "output_scale": 3.0}, "forecast": {"horizon": 4}}


@st.composite
def head_configs(draw):
    """A valid head config with one or two fields replaced; sometimes a kind that does not exist."""
    kind = draw(mostly(st.sampled_from(HEAD_KINDS), st.text(max_size=6), st.none(), st.integers()))
    kwargs = dict(VALID_HEADS.get(kind, {}) if isinstance(kind, str) else {})
    for field in draw(st.lists(st.sampled_from(sorted(HEAD_VALUES)), max_size=2, unique=True)):
        kwargs[field] = draw(HEAD_VALUES[field])
    return kind, kwargs


@FAST
@given(head_configs(), st.integers(1, 5))
def test_head_config_and_build_head(config, input_dim):
    kind, kwargs = config
    try:
        head = build_head(HeadConfig(kind, **kwargs), input_dim)
    except ZooError:
        event("refused")
        return
    event("built")
    out = np.asarray(head(np.zeros((2, input_dim), "float32")))
    assert out.shape[0] == 2 and np.isfinite(out).all()


# Random values for every backbone argument, small enough that any model builds in milliseconds; mostly
# small positive ints, so that many perturbed configs still build.
SMALL = mostly(st.integers(1, 6), st.integers(-2, 0), st.floats(-1.0, 2.0), st.just(float("nan")), st.none(),
               st.booleans(), st.sampled_from(["mean", "first", "lstm", "gru", "mlp", "transformer", "x", ""]),
               st.lists(st.integers(-1, 6), max_size=3), st.tuples(st.integers(-1, 9), st.integers(-1, 9),
                                                                  st.integers(-1, 3)))
SPECIAL = {"application": st.sampled_from(["MobileNetV2", "NoSuchNet", "imagenet_utils", "mobilenet_v2"]),
           "weights_path": st.sampled_from(["/nonexistent/weights.h5", "", None]),
           "image_size": st.integers(-1, 40), "dtype": st.sampled_from([None, "float32", "mixed_float16", "int8", "x"])}


@st.composite
def backbone_calls(draw):
    """A registered backbone with its tiny test config, one to three arguments replaced, added or dropped."""
    case = draw(st.sampled_from(sorted(TINY)))
    name = registry_name(case)
    params = [p for p in inspect.signature(get_backbone_class(name).__init__).parameters
              if p not in ("self", "kwargs", "args")]
    kwargs = dict(TINY[case])
    for param in draw(st.lists(st.sampled_from(params), min_size=1, max_size=2, unique=True)):
        if param in kwargs and draw(st.integers(0, 4)) == 0:
            del kwargs[param]
        else:
            kwargs[param] = draw(SPECIAL.get(param, SMALL))
    return name, kwargs


@SLOW
@given(backbone_calls())
def test_build_backbone(call):
    name, kwargs = call
    try:
        backbone = build_backbone(name, **kwargs)
    except ZooError:
        event("refused")
        return
    event("built")
    assert backbone.output_dim >= 1
