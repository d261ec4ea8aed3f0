"""The shared fit/evaluate harness: strategy, pipelines, model building, training, reports."""

from zoo.harness.fit import Run, RunConfig, evaluate, fit
from zoo.harness.predict import predict
from zoo.harness.strategy import get_strategy

__all__ = ["Run", "RunConfig", "evaluate", "fit", "get_strategy", "predict"]
