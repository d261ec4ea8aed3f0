"""BreastMNIST (MedMNIST v2, medical imaging): 780 breast ultrasound images, 28x28 grey, 2 classes.

MedMNIST keeps "malignant" as class 0 and merges "normal" and "benign" into class 1, and ships
the official 7:1:2 train/val/test split inside `breastmnist.npz`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from zoo.data import common, validate
from zoo.data.sources import Source
from zoo.data.types import Dataset, Split
from zoo.errors import DataValidationError

SOURCE = Source(
    name="breastmnist",
    files={"breastmnist.npz": "3a22d2a4625e7dd8903f0f59030e81a3d0c222bece2e5e10927456cb50efdec1"},
    url="https://zenodo.org/records/10519652/files/breastmnist.npz",
    archive_sha256="3a22d2a4625e7dd8903f0f59030e81a3d0c222bece2e5e10927456cb50efdec1",
    license="CC BY 4.0",
    citation=(
        "Yang, J., Shi, R., Wei, D., Liu, Z., Zhao, L., Ke, B., Pfister, H., Ni, B. (2023). MedMNIST v2 - "
        "A large-scale lightweight benchmark for 2D and 3D biomedical image classification. Scientific "
        "Data 10, 41. Al-Dhabyani, W., Gomaa, M., Khaled, H., Fahmy, A. (2020). Dataset of breast "
        "ultrasound images. Data in Brief 28, 104863."
    ),
    redistributable=True,
)

DATA_FILE = "breastmnist.npz"
CLASS_NAMES = ["malignant", "normal or benign"]
INPUT_SHAPE = (28, 28, 1)


def load(data_dir: str | None = None, *, seed: int = 0) -> Dataset:
    """Load BreastMNIST (28x28) with its official train/val/test split.

    Split: the official one stored in the file (546 / 78 / 156); `seed` does not change it.

    Args:
        data_dir: optional str. A directory holding `breastmnist/` or its file.
        seed: int. Unused (the split is official); accepted for a uniform signature.

    Returns:
        A `Dataset` of float32 images `(n, 28, 28, 1)` in [0, 1] and int64 labels
        (0 malignant, 1 normal or benign).

    Example:
    >>> ds = load()  # doctest: +SKIP
    >>> ds.train.x.shape, ds.meta["input_shape"]  # doctest: +SKIP
    ((546, 28, 28, 1), [28, 28, 1])
    """
    del seed  # The split is official.
    directory = common.locate_files(SOURCE, data_dir, [DATA_FILE])
    parts: list[tuple[str, Split]] = []
    with np.load(directory / DATA_FILE, allow_pickle=False) as archive:
        for name in ("train", "val", "test"):
            for key in (f"{name}_images", f"{name}_labels"):
                if key not in archive.files:
                    raise DataValidationError(
                        f"{DATA_FILE}: key '{key}' is missing; expected keys train/val/test_images "
                        "and _labels "
                        f"(found {sorted(archive.files)})."
                    )
            images = archive[f"{name}_images"]
            labels = archive[f"{name}_labels"]
            where = f"{DATA_FILE} ({name})"
            if images.dtype != np.uint8:
                raise DataValidationError(f"{where}: images have dtype {images.dtype}; expected uint8 0-255.")
            if labels.shape != (len(images), 1) and labels.shape != (len(images),):
                raise DataValidationError(
                    f"{where}: labels have shape {labels.shape}; expected ({len(images)}, 1), one per image."
                )
            x = (images.astype(np.float32) / 255.0)[..., np.newaxis] if images.ndim == 3 else images
            validate.check_image_shape(x, INPUT_SHAPE, where)
            parts.append((name, Split(x, labels.reshape(-1).astype(np.int64))))
    common.check_classification(parts, 2, DATA_FILE, CLASS_NAMES)
    train, val, test = (split for _, split in parts)
    meta: dict[str, Any] = {
        "source": SOURCE.name,
        "modality": "image",
        "task_type": "classification",
        "split": "Official MedMNIST v2 train/val/test split stored in breastmnist.npz (546/78/156); "
        "the seed does not change it.",
        "sha256": common.checksums(directory, SOURCE, [DATA_FILE]),
        "num_classes": 2,
        "class_names": list(CLASS_NAMES),
        "input_shape": list(INPUT_SHAPE),
        "license": SOURCE.license,
        "citation": SOURCE.citation,
    }
    return Dataset(train, val, test, meta)
