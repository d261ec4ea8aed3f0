"""Manufacturing tasks: remaining useful life of turbofan engines, predictive maintenance."""

from builders.heads import HeadConfig
from zoo.tasks.base import BackboneSpec, Baseline, Task, TrainingConfig
from zoo.tasks.registry import register_task

_CMAPSS_BASELINES = [
    Baseline("rmse", 18.45, "CNN", "Babu, Zhao, Li (2016), DASFAA, LNCS 9642", higher_is_better=False),
    Baseline("rmse", 16.14, "LSTM", "Zheng et al. (2017), IEEE ICPHM", higher_is_better=False),
    Baseline("rmse", 12.61, "DCNN (window 30, cap 125)", "Li, Ding, Sun (2018), RESS 172", higher_is_better=False),
]


@register_task
def rul_fd001() -> Task:
    return Task(
        name="manufacturing/rul_fd001",
        industry="manufacturing",
        modality="timeseries",
        dataset="cmapss_fd001",
        description=(
            "Remaining useful life of turbofan engines (NASA C-MAPSS FD001) from 30-cycle windows of 14 sensors; "
            "official test protocol: the last window of each of the 100 test engines against RUL_FD001.txt."
        ),
        backbone=BackboneSpec("rnn", {"cell": "lstm", "units": 64, "num_layers": 2, "dropout": 0.1}),
        head=HeadConfig("regression", hidden_units=[32]),
        loss="mse",
        metrics=["root_mean_squared_error"],
        primary_metric="rmse",
        baselines=list(_CMAPSS_BASELINES),
        training=TrainingConfig(epochs=30, batch_size=256, learning_rate=1e-3, patience=6),
        data_options={"window": 30, "rul_cap": 125},
        intended_use="Benchmarking prognostics models; a starting point for condition monitoring on real fleets.",
        limitations=(
            "Simulated data (C-MAPSS), one operating condition and one fault mode; training RUL capped at 125 "
            "cycles. Validation engines are held out from the training engines; the test set is never used for "
            "model selection."
        ),
        license="US Government work (NASA); cite Saxena et al. 2008.",
    )
