"""Retail tasks: rating prediction for recommendation (MovieLens 100K).

Demand forecasting is not in the catalogue: none of the zoo's dependencies ships retail sales
data offline (scikit-learn's bundled sets, tensorflow-datasets without a download, and
statsmodels' datasets hold no store/item sales series). Bring your own with the generic
`timeseries/regression` task (`zoo train timeseries/regression --data sales.csv --target units
--data-options '{"window": 28, "group": "store", "time_column": "date"}'`).
"""

from __future__ import annotations

import builders.backbones.recommender  # noqa: F401  (registers the "recommender" backbone)
from builders.heads import HeadConfig
from zoo.tasks.base import BackboneSpec, Baseline, Task, TrainingConfig
from zoo.tasks.registry import register_task

_SURPRISE = "Hug (2020), Surprise, JOSS 5(52):2174; benchmark table of the Surprise README (ML-100K)"
_SURPRISE_NOTE = "Surprise: random 5-fold CV, default parameters; ours: official fold u1 (expect +-0.005)"


@register_task
def movielens() -> Task:
    return Task(
        name="retail/movielens",
        industry="retail",
        modality="recommendation",
        dataset="movielens_100k",
        description=(
            "Predict a user's 1-5 star rating of a movie from (user id, movie id): biased matrix factorization with "
            "implicit feedback (SVD++: user and item factors and biases, the user's factors also summing factors of "
            "the movies they rated in training; a linear head) on MovieLens 100K, official fold u1 "
            "(`--data-options '{\"fold\": 3}'` for u3; u1-u5 test sets partition the 100k ratings)."
        ),
        # Implicit feedback chosen on validation (fold u1, seeds 0-2): best validation RMSE 0.918 / 0.917 / 0.909
        # (mean 0.915) vs 0.926 / 0.922 / 0.914 (0.920) without.
        backbone=BackboneSpec("recommender", {"embedding_dim": 32, "l2": 0.1, "implicit": True}),
        head=HeadConfig("regression"),
        loss="mse",
        metrics=["root_mean_squared_error"],
        primary_metric="rmse",
        baselines=[
            Baseline("rmse", 0.934, "SVD (biased matrix factorization)", _SURPRISE, higher_is_better=False,
                     note=_SURPRISE_NOTE),
            Baseline("rmse", 0.919, "SVD++", _SURPRISE, higher_is_better=False, note=_SURPRISE_NOTE),
            Baseline("mae", 0.737, "SVD (biased matrix factorization)", _SURPRISE, higher_is_better=False,
                     note=_SURPRISE_NOTE),
        ],
        training=TrainingConfig(epochs=40, batch_size=256, learning_rate=2e-3, patience=3),
        data_options={"fold": 1},
        intended_use=(
            "A rating-prediction recommender baseline (retail product ratings, media, e-commerce); the recipe maps "
            "any (customer id, product id, rating) table onto the same backbone."
        ),
        limitations=(
            "Ratings from 943 users of one 1997-98 website; ids only (no cold start: a new user or item gets only "
            "the global mean plus a learned bias of zero). RMSE on explicit ratings is not a ranking metric."
        ),
        license="MovieLens terms: research use only, no redistribution, no commercial use without permission",
    )
