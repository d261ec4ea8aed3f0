"""The download path (`zoo.data.fetch`, `sources.download`) on local `file://` URLs: nothing leaves the machine."""

import dataclasses
import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from zoo.data import fetch, sources
from zoo.errors import ChecksumError, DataNotFoundError


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def keras_home(no_local_data, monkeypatch):
    """An empty Keras cache, and no data anywhere else the zoo looks."""
    home = no_local_data / "keras_home"
    monkeypatch.setenv("KERAS_HOME", str(home))
    return home


def test_download_extracts_an_archive_inside_the_archive_and_verifies_checksums(tmp_path, keras_home):
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as z:
        z.writestr("train.txt", b"1 2 3\n")
    outer = _zip(tmp_path / "release.zip", {"Top Folder/Data.zip": inner.getvalue(), "Top Folder/notes.txt": b"x"})
    source = sources.Source("demo", {"train.txt": _sha(b"1 2 3\n")}, url=outer.as_uri(),
                            archive_sha256=sources.sha256(outer))
    directory = sources.download(source)
    assert directory == keras_home / "datasets" / "demo"
    assert (directory / "train.txt").read_bytes() == b"1 2 3\n"
    # Where `locate` looks offline next time: no second download needed.
    assert sources.locate(dataclasses.replace(source, url="")) == directory


def test_download_refuses_a_file_whose_checksum_differs(tmp_path, keras_home):
    outer = _zip(tmp_path / "release.zip", {"train.txt": b"tampered"})
    source = sources.Source("demo", {"train.txt": _sha(b"original")}, url=outer.as_uri())
    with pytest.raises(ChecksumError, match="does not match"):
        sources.download(source)


def test_download_names_a_missing_file(tmp_path, keras_home):
    outer = _zip(tmp_path / "release.zip", {"other.txt": b"x"})
    with pytest.raises(DataNotFoundError, match="did not contain train.txt"):
        sources.download(sources.Source("demo", {"train.txt": ""}, url=outer.as_uri()))


def test_fetch_prefers_the_local_copy_and_names_where_it_looked(tmp_path, keras_home, monkeypatch):
    from zoo.data import german_credit

    local = tmp_path / "mine"
    local.mkdir()
    monkeypatch.setattr(german_credit, "SOURCE", dataclasses.replace(german_credit.SOURCE, url=""))
    with pytest.raises(DataNotFoundError, match=str(local)):  # no local files and nothing to download from
        fetch("german_credit", local)
    release = _zip(tmp_path / "statlog.zip", {"german.data": b"a", "german.data-numeric": b"b", "german.doc": b"c"})
    files = {"german.data": _sha(b"a"), "german.data-numeric": _sha(b"b"),
             "german.doc": _sha(b"c")}
    monkeypatch.setattr(german_credit, "SOURCE", sources.Source("german_credit", files, url=release.as_uri()))
    downloaded = fetch("german_credit", local)
    assert downloaded == keras_home / "datasets" / "german_credit"
    for name, data in (("german.data", b"a"), ("german.data-numeric", b"b"), ("german.doc", b"c")):
        (local / name).write_bytes(data)
    assert fetch("german_credit", local) == local  # a local copy wins over the cache


def test_cli_download_fetches_a_missing_dataset_then_trains_on_it(tmp_path, keras_home, monkeypatch):
    """`zoo train --download` on a German-credit release served from a file:// URL (the real files, re-zipped)."""
    from zoo.cli import main
    from zoo.data import german_credit

    real = Path(__file__).resolve().parents[2] / "shared" / "data" / "german_credit"
    if not (real / "german.data").is_file():
        pytest.skip("needs ../shared/data/german_credit")
    release = _zip(tmp_path / "statlog.zip", {f"statlog/{f}": (real / f).read_bytes() for f in german_credit.SOURCE.files})
    monkeypatch.setattr(german_credit, "SOURCE", dataclasses.replace(german_credit.SOURCE, url=release.as_uri()))
    args = ["train", "finance/credit_risk", "--epochs", "1", "--quiet", "--out", str(tmp_path / "runs")]
    assert main(args) == 2  # offline and no local copy: refused at once, naming --download
    assert main([*args, "--download"]) == 0
    assert all((keras_home / "datasets" / "german_credit" / f).is_file() for f in german_credit.SOURCE.files)
    assert main(args) == 0  # later runs find the cached copy without --download
