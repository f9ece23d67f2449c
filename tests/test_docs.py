"""The documentation as a new user meets it: README blocks run on their own, install
instructions agree, the docs theme, figures that match the data (issue 11)."""

import re
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _md_blocks(path, lang):
    return re.findall(rf"```{lang}\n(.*?)```", path.read_text(), flags=re.S)


@pytest.mark.parametrize("index", range(len(_md_blocks(ROOT / "README.md", "python"))))
def test_readme_python_blocks_run_on_their_own(index, monkeypatch, tmp_path):
    import sklearn

    monkeypatch.chdir(tmp_path)
    code = _md_blocks(ROOT / "README.md", "python")[index]
    with sklearn.config_context():  # a block that enables routing does not leak it
        exec(compile(code, f"README.md python block {index}", "exec"), {"__name__": "x"})


def test_install_instructions_agree():
    readme = (ROOT / "README.md").read_text()
    install = (ROOT / "doc" / "install.rst").read_text()
    main_job = next(b for b in _md_blocks(ROOT / "README.md", "bash")
                    if "sklearn-meta benchmark" in b)
    # the main job installs matplotlib (the plot extra), so the PNG is written
    assert re.search(r"pip install -e \"?\.\[[^\]]*plot", main_job), main_job
    torch_lines = {line.strip() for text in (readme, install)
                   for line in text.splitlines() if re.search(r"pip install .*torch", line)}
    torch_cmds = {re.search(r"pip install (torch\S*(?: --index-url \S+)?)", t).group(1)
                  for t in torch_lines}
    assert len(torch_cmds) == 1, torch_cmds  # one torch instruction, the same everywhere
    assert "pip install sklearn-meta" not in install  # not on PyPI: from the repository
    assert "pip install -e" in install


def test_docs_theme_is_pydata():
    conf = (ROOT / "doc" / "conf.py").read_text()
    assert re.search(r'html_theme\s*=\s*"pydata_sphinx_theme"', conf)
    toml = (ROOT / "pyproject.toml").read_text()
    docs = re.search(r"^docs = \[(.*)\]", toml, flags=re.M).group(1)
    assert "pydata-sphinx-theme" in docs


def test_churn_row_counts_in_the_docs_match_the_data():
    from sklearn_meta.datasets import load_churn

    data = load_churn()
    sizes = np.bincount(np.unique(np.asarray(data.groups), return_inverse=True)[1])
    stated = f"{sizes.min()} to {sizes.max()} rows"
    for page in ("datasets.rst", "benchmark.rst"):
        text = (ROOT / "doc" / page).read_text()
        counts = re.findall(r"(\d+) to (\d+)\s+rows", text.replace("\n", " "))
        assert counts, page
        for lo, hi in counts:
            assert f"{lo} to {hi} rows" == stated, (page, lo, hi)
