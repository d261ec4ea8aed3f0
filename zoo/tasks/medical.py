"""Medical tasks: diagnosis from tabular measurements, and imaging."""

from builders.heads import HeadConfig
from zoo.tasks.base import BackboneSpec, Baseline, Task, TrainingConfig
from zoo.tasks.registry import register_task


@register_task
def breast_cancer_diagnosis() -> Task:
    return Task(
        name="medical/breast_cancer_diagnosis",
        industry="medical",
        modality="tabular",
        dataset="breast_cancer",
        description=(
            "Malignant vs benign breast mass from 30 features of digitized fine-needle aspirate images "
            "(Wisconsin Diagnostic Breast Cancer, 569 cases, bundled with scikit-learn: no download)."
        ),
        backbone=BackboneSpec("tabular", {"hidden_units": [64, 32], "dropout": 0.1}),
        head=HeadConfig("binary"),
        loss="binary_crossentropy",
        metrics=["accuracy", "auc"],
        primary_metric="accuracy",
        baselines=[
            Baseline("accuracy", 0.975, "MSM-Tree (linear programming), 10-fold CV",
                     "Street, Wolberg, Mangasarian (1993), SPIE 1905; as cited in the dataset's UCI description",
                     note="cross-validated accuracy on the same 569 cases; ours is one stratified 80/20 split"),
        ],
        training=TrainingConfig(epochs=60, batch_size=32, learning_rate=1e-3, patience=10),
        intended_use="Teaching and benchmarking tabular diagnosis models; not a clinical device.",
        limitations="569 cases from one hospital (University of Wisconsin, 1990s); no demographic data recorded.",
        license="CC BY 4.0 (UCI); shipped inside scikit-learn.",
    )


@register_task
def breastmnist() -> Task:
    return Task(
        name="medical/breastmnist",
        industry="medical",
        modality="image",
        dataset="breastmnist",
        description=(
            "Breast ultrasound classification (malignant vs normal/benign) on 28x28 grey images, MedMNIST v2's "
            "official train/val/test split (546/78/156)."
        ),
        backbone=BackboneSpec("cnn", {"filters": [32, 64, 128], "blocks_per_stage": 1, "dropout": 0.2}),
        head=HeadConfig("binary"),
        loss="binary_crossentropy",
        metrics=["accuracy", "auc"],
        primary_metric="roc_auc",
        baselines=[
            Baseline("roc_auc", 0.901, "ResNet-18 (28)", "Yang et al. (2023), MedMNIST v2, Scientific Data 10:41"),
            Baseline("accuracy", 0.863, "ResNet-18 (28)", "Yang et al. (2023), MedMNIST v2, Scientific Data 10:41"),
        ],
        training=TrainingConfig(epochs=40, batch_size=32, learning_rate=1e-3, patience=10, monitor="val_loss"),
        intended_use="Research on small-image medical classifiers; not a diagnostic device.",
        limitations=(
            "780 images from one source (Al-Dhabyani et al. 2020), downsampled to 28x28; test set of 156 images, so "
            "one image is 0.64 accuracy points. Class 1 merges normal and benign."
        ),
        license="CC BY 4.0",
    )
