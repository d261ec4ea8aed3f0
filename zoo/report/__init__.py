"""Reports: metrics computed from predictions (and, in time, plots and HTML)."""

from zoo.report.metrics import classification_metrics, phm08_score, regression_metrics

__all__ = ["classification_metrics", "phm08_score", "regression_metrics"]
