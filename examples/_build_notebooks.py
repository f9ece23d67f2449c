"""Regenerate the notebooks of the example gallery from the scripts.

Every ``examples/plot_*.py`` is a plain Python script in jupytext's
"percent" format: a module docstring (the title and introduction), then
cells that start with a ``# %%`` line; a ``# %% [markdown]`` cell holds
text as ``#``-comment lines. This script writes the matching ``.ipynb``
next to each script (outputs empty), without depending on jupytext::

    python examples/_build_notebooks.py          # rewrite the notebooks
    python examples/_build_notebooks.py --check  # exit 1 if one is stale

``tests/test_examples.py`` runs every example as a script and as a notebook
and checks that the committed notebooks are up to date.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import nbformat

EXAMPLES_DIR = Path(__file__).resolve().parent
_CELL = re.compile(r"^# %%(?P<rest>.*)$")
_ROLE = re.compile(r":[\w:]+:`(?P<tilde>~?)(?P<target>[^`<]+?)(?:\s*<[^`]*>)?`")


def _roles_to_markdown(text):
    """Sphinx cross-references (``:func:`~a.b.f```) as markdown code (`` `f` ``).

    The text of the examples is written for both Sphinx and notebooks: the
    setext headings and double-backtick literals are valid markdown already.
    """

    def code(match):
        target = match.group("target").strip()
        if match.group("tilde"):
            target = target.rsplit(".", 1)[-1]
        return f"`{target}`"

    return _ROLE.sub(code, text)


def example_scripts(directory=EXAMPLES_DIR):
    """The example scripts (``plot_*.py``) of ``directory``, sorted."""
    return sorted(Path(directory).glob("plot_*.py"))


def _strip_blank(lines):
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return lines


def _uncomment(lines):
    out = []
    for line in lines:
        if line.startswith("# "):
            out.append(line[2:])
        elif line.rstrip() == "#":
            out.append("")
        else:
            raise ValueError(
                f"markdown cell line {line!r} is not a comment; every line of a "
                "'# %% [markdown]' cell must start with '#'."
            )
    return out


def split_cells(source):
    """Split a percent-format script into ``[(cell_type, text), ...]``.

    The module docstring becomes the first markdown cell; ``# %%`` starts a
    code cell and ``# %% [markdown]`` a markdown cell (its ``# `` prefixes
    removed). Text after ``# %%`` on the marker line (a cell title) is
    dropped.
    """
    module = ast.parse(source)
    lines = source.splitlines()
    cells = []
    docstring = ast.get_docstring(module, clean=True)
    body_start = 0
    if docstring is not None:
        cells.append(("markdown", docstring.strip()))
        body_start = module.body[0].end_lineno
    kind, block = "code", []

    def flush():
        text = _strip_blank(block)
        if text:
            text = _uncomment(text) if kind == "markdown" else text
            cells.append((kind, "\n".join(text)))

    for line in lines[body_start:]:
        match = _CELL.match(line)
        if match is None:
            block.append(line)
            continue
        flush()
        kind = "markdown" if "[markdown]" in match.group("rest") else "code"
        block = []
    flush()
    return cells


def notebook_from_source(source):
    """An nbformat v4 notebook of a percent-format script's text (no outputs)."""
    cells = []
    for kind, text in split_cells(source):
        if kind == "markdown":
            cells.append(nbformat.v4.new_markdown_cell(_roles_to_markdown(text)))
        else:
            cells.append(nbformat.v4.new_code_cell(text))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    # deterministic cell ids, so regenerating an unchanged script is a no-op
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i}"
    return nb


def script_to_notebook(path):
    """An nbformat v4 notebook of the script at ``path`` (no outputs)."""
    return notebook_from_source(Path(path).read_text(encoding="utf-8"))


def notebook_text(path):
    """The ``.ipynb`` file content for the script at ``path``."""
    return nbformat.writes(script_to_notebook(path)) + "\n"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    check = "--check" in argv
    stale = []
    for script in example_scripts():
        target = script.with_suffix(".ipynb")
        text = notebook_text(script)
        if target.exists() and target.read_text(encoding="utf-8") == text:
            continue
        stale.append(target.name)
        if not check:
            target.write_text(text, encoding="utf-8")
    if check and stale:
        print("stale notebooks (run python examples/_build_notebooks.py):", *stale)
        return 1
    if not check:
        print(f"rewrote {len(stale)} notebook(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
