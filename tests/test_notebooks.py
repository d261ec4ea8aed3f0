"""The notebooks: stored without outputs, each with a Colab badge, a Colab-only install cell and
one parameters cell; and each runs top to bottom offline in a real `python3` kernel (nbclient),
showing its plots inline, both with the shared datasets and without them (bundled fallback)."""

import os
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = {path.stem: path for path in sorted((ROOT / "notebooks").glob("*.ipynb"))}
REQUIRED = {"quickstart", "finance", "medical", "manufacturing", "retail", "transfer", "scale_out"}
COLAB = "https://colab.research.google.com/github/vertical-zoo/vertical-zoo/blob/main/notebooks/{}.ipynb"
INSTALL = "git+https://github.com/vertical-zoo/vertical-zoo"
# Notebooks that read datasets other than the bundled breast-cancer one (and so have a fallback path).
USES_SHARED_DATA = ("finance", "manufacturing", "medical", "retail", "transfer")
# Plots each notebook shows inline when its datasets are present (training curves, confusion matrix,
# ROC/PR, prediction vs actual, importance, transfer gain...).
PLOTS = {"quickstart": 4, "medical": 4, "finance": 5, "manufacturing": 7, "retail": 2, "transfer": 2, "scale_out": 2}
# Measured on 2 shared CPU cores: these take longer than ~30 s even on small settings.
SLOW = {"finance", "manufacturing", "medical", "retail", "transfer", "scale_out"}


def _param(name: str, slow: bool) -> object:
    return pytest.param(name, marks=pytest.mark.slow) if slow else name


def execute(name: str, cwd: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[nbformat.NotebookNode, float]:
    """Run a notebook in a fresh `python3` kernel that imports this checkout; return it and its seconds."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    monkeypatch.delenv("ZOO_FULL", raising=False)
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    notebook = nbformat.read(NOTEBOOKS[name], as_version=4)
    client = NotebookClient(notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(cwd)}})
    started = time.perf_counter()
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on any error
    return notebook, time.perf_counter() - started


def outputs(notebook: nbformat.NotebookNode) -> list[dict]:
    return [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]


def test_every_notebook_of_the_guide_exists():
    assert REQUIRED <= set(NOTEBOOKS), f"missing: {sorted(REQUIRED - set(NOTEBOOKS))}"


@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_notebook_is_stored_without_outputs_and_has_badge_install_and_parameters(name):
    notebook = nbformat.read(NOTEBOOKS[name], as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code), "store notebooks without outputs"
    assert COLAB.format(name) in notebook.cells[0].source and notebook.cells[0].cell_type == "markdown"
    install = code[0].source
    assert 'if "google.colab" in sys.modules:' in install and INSTALL in install
    assert install.count("\n    ") == install.count("subprocess.run") == 1  # nothing runs outside the Colab branch
    parameters = [cell for cell in code if "parameters" in cell.metadata.get("tags", [])]
    assert len(parameters) == 1 and 'os.environ.get("ZOO_FULL") == "1"' in parameters[0].source
    assert notebook.metadata.kernelspec.name == "python3"


@pytest.mark.parametrize("name", [_param(n, n in SLOW) for n in sorted(REQUIRED)])
def test_notebook_runs_top_to_bottom_and_shows_plots(name, tmp_path, monkeypatch):
    notebook, seconds = execute(name, tmp_path, monkeypatch)
    produced = outputs(notebook)
    assert not [o for o in produced if o.output_type == "error"]
    images = [o for o in produced if "image/png" in o.get("data", {})]
    assert len(images) >= PLOTS[name], f"{name}: expected {PLOTS[name]} plots inline, got {len(images)}"
    assert list(tmp_path.glob("runs/*/report.json")), "the notebook should train with zoo.fit"
    print(f"{name}: executed in {seconds:.1f} s")


@pytest.mark.slow
@pytest.mark.parametrize("name", USES_SHARED_DATA)
def test_notebook_without_its_datasets_says_so_and_uses_the_bundled_task(name, tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_DATA_DIR", str(tmp_path / "no_data_here"))
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.keras/datasets either
    notebook, _ = execute(name, tmp_path, monkeypatch)
    text = "".join(o.get("text", "") for o in outputs(notebook) if o.output_type == "stream")
    assert "is not on this machine" in text
    assert [o for o in outputs(notebook) if "image/png" in o.get("data", {})]
