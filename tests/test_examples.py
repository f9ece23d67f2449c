"""The example gallery runs, as scripts and as notebooks.

Every ``examples/plot_*.py`` is run twice: as a script in a fresh Python
process, and converted to a notebook (``examples/_build_notebooks.py``, no
jupytext needed) executed by nbclient in a fresh kernel. The committed
``.ipynb`` files must match their scripts.
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
TIMEOUT = 180  # seconds per example run; they take a few seconds each


def _load_builder():
    spec = importlib.util.spec_from_file_location("_build_notebooks",
                                                  EXAMPLES / "_build_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


nbformat = pytest.importorskip("nbformat")
build = _load_builder()
SCRIPTS = build.example_scripts(EXAMPLES)
IDS = [p.stem for p in SCRIPTS]


def _example_env():
    env = dict(os.environ)
    # this checkout's package first, a non-interactive matplotlib, and one BLAS
    # thread (the examples are small; spinning BLAS threads on a busy 2-core
    # machine made them several times slower)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["MPLBACKEND"] = "Agg"
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")
    return env


def test_gallery_is_not_empty():
    assert len(SCRIPTS) >= 4, SCRIPTS


@pytest.mark.parametrize("script", SCRIPTS, ids=IDS)
def test_example_has_title(script):
    cells = build.split_cells(script.read_text(encoding="utf-8"))
    kind, text = cells[0]
    lines = text.splitlines()
    assert kind == "markdown" and len(lines) >= 3, "the docstring must open with a title"
    assert set(lines[1]) == {"="} and len(lines[1]) >= len(lines[0]), (
        f"{script.name}: underline the title with '=' as long as the title")
    assert any(k == "code" for k, _ in cells)


def _execute_notebook(script, workdir):
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = build.script_to_notebook(script)
    client = nbclient.NotebookClient(nb, timeout=TIMEOUT, kernel_name="python3",
                                     resources={"metadata": {"path": str(workdir)}})
    client.execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.execution_count for c in code)
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]


@pytest.mark.parametrize("script", SCRIPTS, ids=IDS)
def test_example_runs_as_script_and_notebook(script, tmp_path, monkeypatch):
    env = _example_env()
    (tmp_path / "script").mkdir()
    (tmp_path / "notebook").mkdir()
    # the script runs in its own process while the notebook runs in a kernel:
    # both at once, on the two cores
    proc = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path / "script", env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for key, value in env.items():  # the kernel inherits the environment
            monkeypatch.setenv(key, value)
        _execute_notebook(script, tmp_path / "notebook")
        stdout, stderr = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, f"{script.name} failed as a script:\n{stdout}\n{stderr}"


@pytest.mark.parametrize("script", SCRIPTS, ids=IDS)
def test_committed_notebook_is_up_to_date(script):
    notebook = script.with_suffix(".ipynb")
    assert notebook.exists(), (
        f"{notebook.name} is missing: run python examples/_build_notebooks.py")
    assert notebook.read_text(encoding="utf-8") == build.notebook_text(script), (
        f"{notebook.name} is stale: run python examples/_build_notebooks.py")


def test_split_cells():
    source = '''"""
Title
=====

Intro.
"""

# %%
# Heading
# -------
# Text of a code cell's comment stays code.
x = 1

# %% [markdown]
# Some *markdown*.
#
# Second paragraph.

# %%
print(x)
'''
    cells = build.split_cells(source)
    assert cells == [
        ("markdown", "Title\n=====\n\nIntro."),
        ("code", "# Heading\n# -------\n# Text of a code cell's comment stays code.\nx = 1"),
        ("markdown", "Some *markdown*.\n\nSecond paragraph."),
        ("code", "print(x)"),
    ]
    nb = build.notebook_from_source(source)
    assert [c.cell_type for c in nb.cells] == ["markdown", "code", "markdown", "code"]
    nbformat.validate(nb)


def test_sphinx_roles_become_markdown_code():
    nb = build.notebook_from_source(
        '"""\nT\n=\n\nSee :func:`~sklearn_meta.model_selection.evaluate_few_shot`,\n'
        ':class:`sklearn.pipeline.Pipeline` and :mod:`sklearn_meta`.\n"""\nx = 1\n')
    assert nb.cells[0].source == (
        "T\n=\n\nSee `evaluate_few_shot`,\n`sklearn.pipeline.Pipeline` and `sklearn_meta`.")


def test_markdown_cell_must_be_comments():
    with pytest.raises(ValueError, match="must start with '#'"):
        build.split_cells("# %% [markdown]\nx = 1\n")


@pytest.mark.parametrize("script", SCRIPTS, ids=IDS)
def test_example_is_listed_in_the_docs(script):
    listing = (ROOT / "doc" / "examples.rst").read_text(encoding="utf-8")
    assert f"literalinclude:: ../examples/{script.name}" in listing, (
        f"add {script.name} to doc/examples.rst")
