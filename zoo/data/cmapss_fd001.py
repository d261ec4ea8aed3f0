"""NASA C-MAPSS FD001 (manufacturing / aerospace, multivariate time series): remaining useful life.

100 simulated turbofan engines run to failure (train) and 100 cut off before failure (test), one
operating condition, one fault mode (Saxena et al. 2008). The usual preprocessing of the RUL
literature (e.g. Li, Ding & Sun 2018): keep the 14 informative sensors, cap the training RUL
piecewise-linearly at 125 cycles, scale with statistics of the training engines only, cut
sliding windows of 30 cycles, and score the last window of each test engine against
`RUL_FD001.txt`.
"""

from __future__ import annotations

import numbers
import os
from pathlib import Path
from typing import Any

import numpy as np

from zoo.data import common, validate
from zoo.data.sources import Source
from zoo.data.types import Dataset, Split
from zoo.errors import DataValidationError

SOURCE = Source(
    name="cmapss_fd001",
    files={
        "train_FD001.txt": "963b5e22825b34d8b21c69e1aeb4af3e647050eb672ee8834ba4b5d91d2de0f8",
        "test_FD001.txt": "3cda7109ce17bafb5443f2ac926cfcf88154b941b8c4cf95eb55d1ddd6f52851",
        "RUL_FD001.txt": "a19c8ec94931949d0485bdc35118206e9c81c4547b422efb9cf86f4ceddbceca",
        "readme.txt": "4f5270554b775c67e73aff383c5436fd329d6e4cc3d3a116913276fae511269b",
    },
    url="https://phm-datasets.s3.amazonaws.com/NASA/6.+Turbofan+Engine+Degradation+Simulation+Data+Set.zip",
    license="US Government work released publicly by NASA (no license stated); cite Saxena et al. 2008",
    citation=(
        "Saxena, A., Goebel, K., Simon, D., Eklund, N. (2008). Damage Propagation Modeling for Aircraft "
        "Engine Run-to-Failure Simulation. Proceedings of the 1st International Conference on Prognostics "
        "and Health Management (PHM08), Denver, CO."
    ),
    redistributable=True,
)

TRAIN_FILE, TEST_FILE, RUL_FILE = "train_FD001.txt", "test_FD001.txt", "RUL_FD001.txt"
DATA_FILES = [TRAIN_FILE, TEST_FILE, RUL_FILE]
NUM_COLUMNS = 26  # unit, cycle, 3 operational settings, 21 sensors
SENSORS = [2, 3, 4, 7, 8, 9, 11, 12, 13, 14, 15, 17, 20, 21]  # the 14 that vary in FD001
FEATURE_NAMES = [f"sensor_{s}" for s in SENSORS]
# Saxena et al. (2008), Table 2: the quantity each sensor measures.
SENSOR_SYMBOLS = {
    1: "T2", 2: "T24", 3: "T30", 4: "T50", 5: "P2", 6: "P15", 7: "P30", 8: "Nf", 9: "Nc", 10: "epr",
    11: "Ps30", 12: "phi", 13: "NRf", 14: "NRc", 15: "BPR", 16: "farB", 17: "htBleed", 18: "Nf_dmd",
    19: "PCNfR_dmd", 20: "W31", 21: "W32",
}  # fmt: skip
SENSOR_COLUMNS = [4 + s for s in SENSORS]  # 0-based column of sensor s


def read_engines(path: str | os.PathLike) -> dict[int, np.ndarray]:
    """Parse a C-MAPSS file into `{unit id: float32 (cycles, 14) sensor readings}` in cycle order.

    Checks that every line has 26 numbers and each unit's cycles run 1, 2, 3, ... without gaps.

    Args:
        path: str or path. `train_FD001.txt` or `test_FD001.txt`.

    Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.txt"
    >>> row = " ".join(["0"] * 24)
    >>> _ = p.write_text(f"1 1 {row}  \\n1 2 {row}  \\n2 1 {row}  \\n")
    >>> {unit: x.shape for unit, x in read_engines(p).items()}
    {1: (2, 14), 2: (1, 14)}
    """
    name = Path(path).name
    try:  # Fast path in C; on any problem, re-read line by line to name the line.
        table = np.loadtxt(path, dtype=np.float64, ndmin=2)
        if table.shape[1] != NUM_COLUMNS:
            raise ValueError
    except ValueError:
        table = _read_lines(Path(path))
    if len(table) == 0:
        raise DataValidationError(f"{name}: no data lines; expected {NUM_COLUMNS} numbers per line.")
    validate.check_finite(
        table,
        name,
        ["unit", "cycle", "setting_1", "setting_2", "setting_3"] + [f"sensor_{s}" for s in range(1, 22)],
        row_numbers=np.arange(1, len(table) + 1),
        row_label="line",
    )
    engines: dict[int, np.ndarray] = {}
    units = table[:, 0].astype(int)
    for unit in np.unique(units):
        rows_of_unit = np.flatnonzero(units == unit)
        cycles = table[rows_of_unit, 1]
        if not np.array_equal(cycles, np.arange(1, len(cycles) + 1)):
            step = int(np.flatnonzero(cycles != np.arange(1, len(cycles) + 1))[0])
            raise DataValidationError(
                f"{name}: engine {unit}, line {rows_of_unit[step] + 1} has cycle {cycles[step]:g}; "
                f"expected {step + 1} (cycles must run 1, 2, 3, ... in file order)."
            )
        engines[int(unit)] = table[rows_of_unit][:, SENSOR_COLUMNS].astype(np.float32)
    return engines


def _read_lines(path: Path) -> np.ndarray:
    """Slow, precise parse of a C-MAPSS file: raises naming the first bad line and column."""
    rows: list[list[float]] = []
    with open(path, encoding="ascii", errors="replace") as f:
        for line_number, line in enumerate(f, start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != NUM_COLUMNS:
                raise DataValidationError(
                    f"{path.name}: line {line_number} has {len(fields)} values; expected {NUM_COLUMNS} "
                    "(unit, cycle, 3 settings, 21 sensors)."
                )
            bad = [k for k, v in enumerate(fields) if not _is_number(v)]
            if bad:
                raise DataValidationError(
                    f"{path.name}: line {line_number}, column {bad[0] + 1} is '{fields[bad[0]]}'; "
                    "expected a number."
                )
            rows.append([float(v) for v in fields])
    return np.asarray(rows, dtype=np.float64).reshape(-1, NUM_COLUMNS)


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def read_rul(path: str | os.PathLike, num_units: int) -> np.ndarray:
    """The true RUL at the last cycle of each test engine, one line per engine (float32).

    Args:
        path: str or path. `RUL_FD001.txt`.
        num_units: int. The number of test engines (one value each).

    Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "RUL.txt"; _ = p.write_text("112 \\n98 \\n")
    >>> read_rul(p, 2).tolist()
    [112.0, 98.0]
    """
    name = Path(path).name
    values = []
    with open(path, encoding="ascii", errors="replace") as f:
        for line_number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                values.append(float(line))
            except ValueError:
                raise DataValidationError(
                    f"{name}: line {line_number} is '{line.strip()}'; expected one number (the RUL)."
                ) from None
    if len(values) != num_units:
        raise DataValidationError(f"{name}: {len(values)} values; expected {num_units}, one per test engine.")
    rul = np.asarray(values, dtype=np.float32)
    validate.check_finite(
        rul.reshape(-1, 1), name, ["RUL"], row_numbers=np.arange(1, len(rul) + 1), row_label="line"
    )
    return rul


def windows(series: np.ndarray, window: int, stride: int = 1) -> np.ndarray:
    """All windows `(num_windows, window, features)` of one engine's `(cycles, features)` series.

    Window `i` covers cycles `i * stride` to `i * stride + window - 1`.

    Args:
        series: array `(cycles, features)`. One engine.
        window: int. Cycles per window.
        stride: int. Step between window starts.

    Example:
    >>> windows(np.arange(10.0).reshape(5, 2), 3).shape
    (3, 3, 2)
    """
    view = np.lib.stride_tricks.sliding_window_view(series, window, axis=0)  # (n, features, window)
    return np.ascontiguousarray(np.swapaxes(view, 1, 2)[::stride])


def left_pad(series: np.ndarray, window: int) -> np.ndarray:
    """`series` left-padded to `window` rows by repeating its first row (unchanged if long enough).

    Args:
        series: array `(cycles, features)`. One engine.
        window: int. The length to reach.

    Example:
    >>> left_pad(np.array([[1.0], [2.0]]), 4).ravel().tolist()
    [1.0, 1.0, 1.0, 2.0]
    """
    missing = window - len(series)
    if missing <= 0:
        return series
    return np.concatenate([np.repeat(series[:1], missing, axis=0), series], axis=0)


def exponential_smoothing(series: np.ndarray, alpha: float) -> np.ndarray:
    """Causal exponentially weighted moving average of one engine's `(cycles, features)` series.

    Row t is `alpha * x[t] + (1 - alpha) * row t-1`, starting from the first cycle: each row uses
    only that cycle and the ones before it, so a live engine can be smoothed as its cycles arrive
    (keep the last row as the state).

    Args:
        series: array `(cycles, features)`. One engine, from its first cycle.
        alpha: float in (0, 1]. The weight of the newest cycle (1: no smoothing).

    Example:
    >>> exponential_smoothing(np.array([[0.0], [4.0], [4.0]]), 0.5).ravel().tolist()
    [0.0, 2.0, 3.0]
    """
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0.0 < alpha <= 1.0:
        raise DataValidationError(f"smoothing is {alpha!r}; expected a number in (0, 1] (the newest cycle's weight).")
    x = np.asarray(series, dtype=np.float64)
    if x.ndim != 2 or len(x) == 0:
        raise DataValidationError(f"exponential_smoothing: expected one engine's (cycles, features) series with at "
                                  f"least one cycle; got shape {x.shape}.")
    out = np.empty_like(x)
    state = x[0]
    for t, row in enumerate(x):
        state = alpha * row + (1.0 - alpha) * state
        out[t] = state
    return out


def _engine_series(
    engines: dict[int, np.ndarray], window: int, pad: bool, where: str
) -> dict[int, np.ndarray]:
    out = {}
    for unit, series in engines.items():
        if pad:
            series = left_pad(series, window)
        validate.check_sequence_length(len(series), window, f"{where}, engine {unit}")
        out[unit] = series
    return out


def split_engines(units: list[int], val_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Seeded choice of whole training engines for validation: `(train_units, val_units)`.

    Args:
        units: list of int. The training engines' ids.
        val_fraction: float. Share of engines for validation (at least one).
        seed: int. The seed of the choice.

    Example:
    >>> train, val = split_engines(list(range(1, 101)), 0.15, seed=0)
    >>> len(train), len(val), set(train) & set(val)
    (85, 15, set())
    """
    if not 0.0 < val_fraction < 1.0:
        raise DataValidationError(f"val_fraction is {val_fraction}; expected a number in (0, 1).")
    n_val = max(1, int(np.floor(len(units) * val_fraction + 0.5)))
    chosen = set(np.random.default_rng(seed).permutation(sorted(units))[:n_val].tolist())
    return [u for u in sorted(units) if u not in chosen], sorted(chosen)


def _prepare(
    data_dir: str | None, seed: int, val_fraction: float, scaler: str, smoothing: float | None
) -> tuple[Path, dict[int, np.ndarray], dict[int, np.ndarray], list[int], list[int], dict[str, Any]]:
    directory = common.locate_files(SOURCE, data_dir, DATA_FILES)
    train_engines = read_engines(directory / TRAIN_FILE)
    test_engines = read_engines(directory / TEST_FILE)
    if smoothing is not None:
        train_engines = {u: exponential_smoothing(v, smoothing) for u, v in train_engines.items()}
        test_engines = {u: exponential_smoothing(v, smoothing) for u, v in test_engines.items()}
    train_units, val_units = split_engines(list(train_engines), val_fraction, seed)
    stats = common.fit_scaler(np.concatenate([train_engines[u] for u in train_units]), scaler)
    return directory, train_engines, test_engines, train_units, val_units, stats


def load(
    data_dir: str | None = None,
    *,
    seed: int = 0,
    window: int = 30,
    rul_cap: float | None = 125,
    val_fraction: float = 0.15,
    scaler: str = "minmax",
    pad: bool = False,
    stride: int = 1,
    smoothing: float | None = None,
) -> Dataset:
    """Load C-MAPSS FD001 as windowed RUL regression.

    Split: the official train/test files. Validation is a seeded `val_fraction` of the 100
    training engines, whole engines (15 by default), never windows of a training engine.
    Train and val targets are `min(last cycle - cycle, rul_cap)` at each window's last cycle.
    The test split is the last window of each of the 100 test engines with the true, UNCAPPED
    RUL from `RUL_FD001.txt` (max 145), as the literature scores it. Sensors are scaled with
    statistics of the training engines only (not val, not test); `meta["scaler"]` has them.

    Args:
        data_dir: optional str. A directory holding `cmapss_fd001/` or its files.
        seed: int. Chooses the validation engines.
        window: int. Cycles per window.
        rul_cap: float or None. The piecewise-linear cap of training targets (None: no cap).
        val_fraction: float. Share of training engines held out for validation.
        scaler: str. `"minmax"` (to [0, 1]) or `"standard"` (zero mean, unit variance).
        pad: bool. Left-pad engines shorter than `window` by repeating their first row, instead
            of raising `DataValidationError` naming the engine.
        stride: int. Step between training/validation windows.
        smoothing: optional float in (0, 1]. Smooth each engine's sensors with
            `exponential_smoothing` (causal, over the engine's whole history, before scaling and
            windowing; train, val and test alike). None: raw readings.

    Returns:
        A `Dataset` of float32 windows `(n, window, 14)` and float32 RUL targets.

    Example:
    >>> ds = load(seed=0)  # doctest: +SKIP
    >>> ds.test.x.shape, ds.meta["feature_names"][:2]  # doctest: +SKIP
    ((100, 30, 14), ['sensor_2', 'sensor_3'])
    """
    if window < 1 or stride < 1:
        raise DataValidationError(f"window is {window} and stride {stride}; expected positive integers.")
    directory, train_engines, test_engines, train_units, val_units, stats = _prepare(
        data_dir, seed, val_fraction, scaler, smoothing
    )
    rul = read_rul(directory / RUL_FILE, len(test_engines))
    cap = np.inf if rul_cap is None else float(rul_cap)

    def labelled(units: list[int]) -> tuple[Split, np.ndarray]:
        series = _engine_series({u: train_engines[u] for u in units}, window, pad, TRAIN_FILE)
        xs, ys, owners = [], [], []
        for unit in units:
            steps = common.apply_scaler(series[unit], stats)
            original = len(train_engines[unit])
            # RUL at each row of the (possibly left-padded) series; padding rows repeat the first cycle.
            original_row = np.maximum(np.arange(len(steps)) - (len(steps) - original), 0)
            remaining = (original - 1 - original_row).astype(np.float64)
            w = windows(steps, window, stride)
            last = np.arange(len(w)) * stride + window - 1
            xs.append(w)
            ys.append(np.minimum(remaining[last], cap))
            owners.append(np.full(len(w), unit))
        return Split(np.concatenate(xs), np.concatenate(ys).astype(np.float32)), np.concatenate(owners)

    train, train_owner = labelled(train_units)
    val, val_owner = labelled(val_units)
    test_series = _engine_series(test_engines, window, pad, TEST_FILE)
    test_units = sorted(test_series)
    test_x = np.stack([common.apply_scaler(test_series[u][-window:], stats) for u in test_units])
    test = Split(test_x, rul[np.asarray(test_units) - 1])
    parts = [("train", train), ("val", val), ("test", test)]
    common.check_regression(parts, TRAIN_FILE, "RUL")
    for name, split in parts:
        validate.check_finite(
            split.x, f"{TRAIN_FILE if name != 'test' else TEST_FILE} ({name})", FEATURE_NAMES
        )
    smoothed = "" if smoothing is None else f"smoothed (causal EWMA, newest cycle's weight {smoothing}), then "
    meta: dict[str, Any] = {
        "source": SOURCE.name,
        "modality": "timeseries",
        "task_type": "regression",
        "split": (
            f"Official train/test files. Validation: {len(val_units)} of the 100 training engines "
            "chosen with "
            f"seed {seed} (whole engines). Train/val targets: RUL capped at {rul_cap}; test: the last "
            f"{window}-cycle window of each of the 100 test engines with the uncapped true RUL of "
            f"{RUL_FILE}. "
            f"Sensors {smoothed}scaled ({scaler}) with statistics of the {len(train_units)} training engines only."
        ),
        "sha256": common.checksums(directory, SOURCE, DATA_FILES),
        "target_name": "RUL",
        "window": int(window),
        "stride": int(stride),
        "feature_names": list(FEATURE_NAMES),
        "feature_symbols": [SENSOR_SYMBOLS[s] for s in SENSORS],
        "group_column": "unit",
        "time_column": "cycle",
        "rul_cap": None if rul_cap is None else float(rul_cap),
        "test_target": "uncapped true RUL (RUL_FD001.txt)",
        "train_units": train_units,
        "val_units": val_units,
        "test_units": test_units,
        "scaler": stats,
        "smoothing": None if smoothing is None else float(smoothing),
        "padded": bool(pad),
        "note": "Simulated by the C-MAPSS model (Saxena et al. 2008), not recorded from real engines.",
        "license": SOURCE.license,
        "citation": SOURCE.citation,
    }
    extra = {"train_windows_unit": train_owner, "val_windows_unit": val_owner}
    return Dataset(train, val, test, meta, extra)


def load_unlabelled_trajectories(
    data_dir: str | None = None,
    *,
    seed: int = 0,
    window: int = 30,
    stride: int = 1,
    val_fraction: float = 0.15,
    scaler: str = "minmax",
    pad: bool = False,
    smoothing: float | None = None,
) -> np.ndarray:
    """Unlabelled windows of every train AND test engine, for self-supervised pretraining.

    Uses the same scaler as `load` with the same `seed` (fitted on the training engines only),
    so pretrained features line up with the supervised splits. No RUL is read or returned. Test
    engines' inputs are included on purpose (a transductive corpus): their labels are not.

    Args:
        data_dir: optional str. A directory holding `cmapss_fd001/` or its files.
        seed: int. The seed `load` uses (it decides which engines fit the scaler).
        window: int. Cycles per window.
        stride: int. Step between windows.
        val_fraction: float. As in `load`, for the same scaler.
        scaler: str. `"minmax"` or `"standard"`, as in `load`.
        pad: bool. Left-pad engines shorter than `window` instead of raising.
        smoothing: optional float. As in `load`.

    Returns:
        Float32 array `(n, window, 14)`.

    Example:
    >>> x = load_unlabelled_trajectories()  # doctest: +SKIP
    >>> x.shape[1:]  # doctest: +SKIP
    (30, 14)
    """
    if window < 1 or stride < 1:
        raise DataValidationError(f"window is {window} and stride {stride}; expected positive integers.")
    _, train_engines, test_engines, _, _, stats = _prepare(data_dir, seed, val_fraction, scaler, smoothing)
    out = []
    for where, engines in ((TRAIN_FILE, train_engines), (TEST_FILE, test_engines)):
        for series in _engine_series(engines, window, pad, where).values():
            out.append(windows(common.apply_scaler(series, stats), window, stride))
    x = np.concatenate(out)
    validate.check_finite(x, "C-MAPSS FD001 trajectories", FEATURE_NAMES)
    return x


def trajectory_ages(
    data_dir: str | None = None,
    *,
    window: int = 30,
    stride: int = 1,
    pad: bool = False,
) -> np.ndarray:
    """Cycles each engine had run at the last cycle of each window of `load_unlabelled_trajectories`.

    Same windows, same order (train engines, then test engines) for the same `window`, `stride` and
    `pad`. A self-supervised target: an engine's age is known while it runs, so it needs neither the
    failure time nor the RUL (a padding row counts as the engine's first cycle).

    Args:
        data_dir: optional str. A directory holding `cmapss_fd001/` or its files.
        window: int. Cycles per window.
        stride: int. Step between windows.
        pad: bool. As in `load_unlabelled_trajectories`.

    Returns:
        Float32 array `(n,)`: 30, 31, ... for each engine's windows (window 30, stride 1).

    Example:
    >>> ages = trajectory_ages()  # doctest: +SKIP
    >>> ages[:3].tolist(), float(ages.max())  # doctest: +SKIP
    ([30.0, 31.0, 32.0], 362.0)
    """
    if window < 1 or stride < 1:
        raise DataValidationError(f"window is {window} and stride {stride}; expected positive integers.")
    directory = common.locate_files(SOURCE, data_dir, DATA_FILES)
    out = []
    for where in (TRAIN_FILE, TEST_FILE):
        engines = read_engines(directory / where)
        for unit, series in _engine_series(engines, window, pad, where).items():
            last = np.arange(0, len(series) - window + 1, stride) + window - 1
            out.append(np.maximum(last - (len(series) - len(engines[unit])), 0) + 1)
    return np.concatenate(out).astype(np.float32)
