"""Where datasets come from: a local directory first, then the canonical download.

The zoo looks for a dataset's files in this order:

1. the directory given explicitly (`--data-dir` / `data_dir=`), as `<dir>/<name>/` or `<dir>/`;
2. `$ZOO_DATA_DIR/<name>/`;
3. `../shared/data/<name>/` beside the current directory, then (unless `$ZOO_DATA_DIR` is set) beside
   the zoo's own checkout, so a notebook opened in `notebooks/` of an editable install finds it too;
4. the Keras cache (`~/.keras/datasets/<name>/`), filled by `download()` when the user is online.

Nothing is downloaded unless the user asks for it (`allow_download=True`), so an offline run
fails in milliseconds with a message that names every place it looked.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import tarfile
import zipfile
from pathlib import Path

from zoo.errors import ChecksumError, DataNotFoundError, DataValidationError


@dataclasses.dataclass(frozen=True)
class Source:
    """A dataset's canonical files: download URL, sha256 of each file, license and citation."""

    name: str
    files: dict[str, str]  # file name -> sha256 ("" when not pinned)
    url: str = ""
    archive_sha256: str = ""
    license: str = ""
    citation: str = ""
    redistributable: bool = False


def sha256(path: str | os.PathLike) -> str:
    """The hex sha256 of a file.

    Example:
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "f"; _ = p.write_bytes(b"abc")
    >>> sha256(p)[:8]
    'ba7816bf'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: str | os.PathLike, expected: str) -> None:
    """Raise `ChecksumError` unless `path` has sha256 `expected` (empty `expected` skips).

    Example:
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "f"; _ = p.write_bytes(b"abc")
    >>> verify(p, sha256(p))
    """
    if expected and sha256(path) != expected:
        raise ChecksumError(
            f"{path}: sha256 {sha256(path)} does not match the expected {expected}. "
            "The file is damaged or not the official release; delete it and supply the original."
        )


# `../shared/data` beside the checkout this module was imported from (zoo/data/sources.py -> its root).
CHECKOUT_SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def candidate_dirs(name: str, data_dir: str | os.PathLike | None = None) -> list[Path]:
    """Directories searched for dataset `name`, in order.

    Example:
    >>> candidate_dirs("x", "/data")[:2]
    [PosixPath('/data/x'), PosixPath('/data')]
    """
    dirs: list[Path] = []
    if data_dir:
        dirs += [Path(data_dir) / name, Path(data_dir)]
    env = os.environ.get("ZOO_DATA_DIR")
    if env:
        dirs.append(Path(env) / name)
    dirs.append(Path.cwd().parent / "shared" / "data" / name)
    if not env and CHECKOUT_SHARED / name not in dirs:  # ZOO_DATA_DIR set: the user said where the data is
        dirs.append(CHECKOUT_SHARED / name)
    dirs.append(Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets" / name)
    return dirs


def locate(
    source: Source,
    data_dir: str | os.PathLike | None = None,
    *,
    check: bool = True,
    allow_download: bool = False,
) -> Path:
    """The directory holding all of `source.files`, checksums verified.

    Raises `DataNotFoundError` naming every directory tried and how to supply the data.

    Example:
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp()); _ = (d / "a.csv").write_text("x")
    >>> locate(Source("demo", {"a.csv": ""}), d) == d
    True
    """
    tried = candidate_dirs(source.name, data_dir)
    for directory in tried:
        if all((directory / f).is_file() for f in source.files):
            if check:
                for f, digest in source.files.items():
                    verify(directory / f, digest)
            return directory
    if allow_download and source.url:
        return download(source)
    looked = "\n  ".join(str(d) for d in tried)
    raise DataNotFoundError(
        f"Dataset '{source.name}' not found (needs {', '.join(source.files)}). Looked in:\n  {looked}\n"
        f"Point the zoo at it with --data-dir DIR or ZOO_DATA_DIR=DIR (files in DIR/{source.name}/)"
        + (f", or download it from {source.url} with --download (in Python or a notebook: "
           f"zoo.data.fetch({source.name!r}))." if source.url else ".")
    )


def safe_extract(archive: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Extract a zip or tar archive into `target`, refusing members that would land outside it.

    Example:
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp()); z = d / "a.zip"
    >>> with zipfile.ZipFile(z, "w") as f: f.writestr("x/y.txt", "hi")
    >>> (safe_extract(z, d / "out") / "x" / "y.txt").read_text()
    'hi'
    """
    target = Path(target).resolve()
    target.mkdir(parents=True, exist_ok=True)

    def check(member: str) -> None:
        dest = (target / member).resolve()
        if dest != target and target not in dest.parents:
            raise DataValidationError(f"{archive}: member '{member}' would extract outside {target}; refused.")

    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            for member in z.namelist():
                check(member)
            z.extractall(target)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as t:
            for member in t.getmembers():
                check(member.name)
                if member.issym() or member.islnk():
                    check(os.path.join(os.path.dirname(member.name), member.linkname))
            t.extractall(target, filter="data")
    else:
        raise DataValidationError(f"{archive}: not a zip or tar archive.")
    return target


def download(source: Source, cache_dir: str | os.PathLike | None = None) -> Path:
    """Fetch `source.url` into the Keras cache (once), verify it, extract it if it is an archive.

    Needs network access; everything else in the zoo works without it.

    Example:
    >>> download(Source("demo", {"a": ""}))  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    DataNotFoundError: ...
    """
    if not source.url:
        raise DataNotFoundError(f"Dataset '{source.name}' has no download URL; supply the files locally.")
    import keras

    cache = Path(cache_dir or Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets")
    cache.mkdir(parents=True, exist_ok=True)  # else get_file falls back to /tmp/.keras, shared by every user
    fname = source.url.rstrip("/").split("/")[-1]
    path = keras.utils.get_file(
        fname=fname, origin=source.url, file_hash=source.archive_sha256 or None,
        cache_dir=str(cache.parent), cache_subdir=cache.name,
    )
    verify(path, source.archive_sha256)
    directory = cache / source.name
    if _is_archive(path):
        safe_extract(path, directory)
        found = _find_files(directory, source.files)
        for f in source.files:  # where `locate` looks next time (the cache's <name>/), offline
            if found != directory and (found / f).is_file():
                os.replace(found / f, directory / f)
    else:
        directory.mkdir(parents=True, exist_ok=True)
        os.replace(path, directory / fname)
    for f, digest in source.files.items():
        if not (directory / f).is_file():
            raise DataNotFoundError(f"{source.url} did not contain {f}.")
        verify(directory / f, digest)
    return directory


def _is_archive(path: str | os.PathLike) -> bool:
    return zipfile.is_zipfile(path) or tarfile.is_tarfile(path)


def _find_files(directory: Path, files: dict[str, str], depth: int = 2) -> Path:
    """The folder under `directory` that holds all `files`, extracting archives inside it as needed.

    Downloads often hold one top folder, or an archive inside the archive (NASA's C-MAPSS zip holds
    CMAPSSData.zip); each inner archive is extracted beside itself, at most `depth` levels down.
    """
    for _ in range(depth + 1):
        for found in [directory, *sorted(directory.rglob("*"))]:
            if found.is_dir() and all((found / f).is_file() for f in files):
                return found
        inner = [a for a in sorted(directory.rglob("*")) if a.is_file() and a.suffix in (".zip", ".tar", ".gz", ".tgz")
                 and _is_archive(a) and not a.with_suffix("").is_dir()]
        if not inner:
            break
        for archive in inner:
            safe_extract(archive, archive.with_suffix(""))
    return directory
