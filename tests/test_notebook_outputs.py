"""What the committed notebooks hold: outputs a reader can trust, and where they come from.

Every notebook under notebooks/ (subfolders included) is read as committed, without running it.
A code cell tagged ``nbval-check-output`` is committed with its output, which is the same offline
and online, and nbval compares it when pytest runs the notebook (so a stale stored output fails
there). A cell tagged ``offline-output`` keeps the output of the offline quick run (chapter 3's
Trainer log, metrics, plots), so that the page reads without running; the markdown next to it
labels it as such. Every other code cell is committed without output: the markdown next to it
quotes what the real checkpoint prints. ``python -m course_authoring.refresh_notebooks`` writes
notebooks in this shape.
"""

import base64
import importlib.util
import io
import re
import tomllib
from pathlib import Path

import nbformat
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(p for p in NOTEBOOK_DIR.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
CHECK_TAG = "nbval-check-output"
OFFLINE_TAG = "offline-output"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
# The label next to an offline-output cell (the nearest markdown cell above or below it), and
# what it has to say: which model or data produced the output, and that an online run differs.
OFFLINE_LABELS = {
    "en": ("**Stored output: the offline quick run**", ("stand-in", "fixture"), "online"),
    "zh-CN": ("**保存的输出：离线快速运行**", ("替身", "样例数据"), "联网"),
}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# The first code cell of every notebook, as docs/setup.md ("In Google Colab") shows it; the
# repository it installs from is pyproject.toml's.
SETUP_DOC = ROOT / "docs" / "setup.md"
COLAB_CELL = re.search(
    r"```python\n(# Google Colab only:.*?)\n```", SETUP_DOC.read_text(encoding="utf-8"), re.S
).group(1)

# Calls whose result depends on the weights (or that train them). Tokenizer, config and
# processor loads are not weight loads.
WEIGHT_CALLS = re.compile(
    r"\bpipeline\("
    r"|\b(?!\w*(?:Tokenizer|Config|Processor)\b)\w+\.from_pretrained\("
    r"|\bTrainer\("
    r"|\.train\(\)"
)
TOKEN_SHAPED = re.compile(r"\b(?:hf_|api_org_)[A-Za-z0-9]{30,}")
TRUST_REMOTE_CODE = re.compile(r"trust_remote_code\s*=\s*True")
NBVAL_COMMENT = re.compile(r"^\s*#+\s*NBVAL_.*$", re.MULTILINE)


def notebook_id(path: Path) -> str:
    return str(path.relative_to(NOTEBOOK_DIR))


def read(path: Path):
    return nbformat.read(path, as_version=4)


def code_cells(nb):
    return [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]


def tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def without_comments(source: str) -> str:
    """The code of a cell without its comments (a comment may name an API it does not call)."""
    lines = []
    for line in source.splitlines():
        if line.lstrip().startswith("#"):
            continue
        lines.append(re.sub(r"\s#\s.*$", "", line))
    return "\n".join(lines)


def repository_url() -> str:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)["project"]["urls"]["Repository"]


per_notebook = pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)


def test_there_is_a_notebook_per_chapter():
    names = [p.name for p in NOTEBOOKS]
    for chapter in ("00_", "01_", "02_", "03_"):
        assert any(n.startswith(chapter) for n in names), f"no notebook for chapter {chapter}"


def is_stored(cell) -> bool:
    return CHECK_TAG in tags(cell) or OFFLINE_TAG in tags(cell)


@per_notebook
def test_only_tagged_cells_have_outputs(path):
    nb = read(path)
    for index, cell in code_cells(nb):
        if is_stored(cell):
            assert cell.outputs, (
                f"cell {index} is tagged to keep its output but has none: run "
                f"python -m course_authoring.refresh_notebooks {path.relative_to(ROOT)}"
            )
            assert cell.execution_count is not None, (
                f"cell {index}: stored outputs need an execution_count (nbval refuses them)"
            )
        else:
            assert not cell.outputs, (
                f"cell {index} has stored outputs but is not tagged {CHECK_TAG} (the same offline "
                f"and online) or {OFFLINE_TAG} (the offline run, labelled): tag it or clear it "
                "(python -m course_authoring.refresh_notebooks)"
            )
            assert cell.execution_count is None, f"cell {index}: a cleared cell keeps no count"


def edition(path: Path) -> str:
    return "zh-CN" if path.parent.name == "zh-CN" else "en"


def nearest_markdown(nb, index: int, step: int):
    """The first markdown cell from ``index`` in direction ``step``, skipping code cells."""
    at = index + step
    while 0 <= at < len(nb.cells) and nb.cells[at].cell_type == "code":
        at += step
    return nb.cells[at] if 0 <= at < len(nb.cells) else None


@per_notebook
def test_offline_outputs_are_labelled_and_show_something(path):
    """A stored offline output sits next to its label, which names the stand-in model or the
    fixture behind it and says that an online run differs; it holds no widget and no stderr."""
    nb = read(path)
    marker, sources, online = OFFLINE_LABELS[edition(path)]
    for index, cell in code_cells(nb):
        if OFFLINE_TAG not in tags(cell):
            continue
        labels = [
            paragraph
            for neighbour in (nearest_markdown(nb, index, -1), nearest_markdown(nb, index, 1))
            if neighbour is not None
            for paragraph in neighbour.source.split("\n\n")
            if marker in paragraph
        ]
        assert labels, f"cell {index}: its stored offline output has no label ({marker}) next to it"
        assert any(online in p.lower() and any(s in p for s in sources) for p in labels), (
            f"cell {index}: the label must name the stand-in or fixture and say the online run "
            f"differs: {labels[0]!r}"
        )
        for output in cell.outputs:
            assert WIDGET_MIME not in output.get("data", {}), f"cell {index} stores a widget"
            assert output.get("name") != "stderr", f"cell {index} stores stderr (a warning?)"


@per_notebook
def test_no_nbval_comment_markers(path):
    nb = read(path)
    for index, cell in enumerate(nb.cells):
        found = NBVAL_COMMENT.search(cell.source)
        assert not found, (
            f"cell {index} holds the comment {found.group(0).strip()!r}: use the cell tag "
            f"{CHECK_TAG} instead, so no test scaffolding shows on GitHub or slides (an intended "
            "error: catch it and print it)"
        )


@per_notebook
def test_stored_images_are_valid_pngs(path):
    nb = read(path)
    for index, cell in code_cells(nb):
        for output in cell.outputs:
            encoded = output.get("data", {}).get("image/png")
            if encoded is None:
                continue
            raw = base64.b64decode(encoded)
            assert raw.startswith(PNG_SIGNATURE), f"cell {index}: image/png is not a PNG"
            with Image.open(io.BytesIO(raw)) as image:
                image.verify()
            with Image.open(io.BytesIO(raw)) as image:
                width, height = image.size
                extrema = image.convert("L").getextrema()
            assert width > 0 and height > 0, f"cell {index}: an empty image"
            assert extrema[0] != extrema[1], f"cell {index}: the image is one flat colour"


@per_notebook
def test_tagged_plot_cells_store_their_plot(path):
    nb = read(path)
    for index, cell in code_cells(nb):
        if CHECK_TAG in tags(cell) and "plt.show()" in without_comments(cell.source):
            assert any("image/png" in out.get("data", {}) for out in cell.outputs), (
                f"cell {index} draws a plot but stores no image/png"
            )


@per_notebook
def test_no_widget_state(path):
    nb = read(path)
    assert "widgets" not in nb.metadata, "notebook-level widget state: run the refresh tool"
    for index, cell in code_cells(nb):
        for output in cell.outputs:
            assert "application/vnd.jupyter.widget-view+json" not in output.get("data", {}), (
                f"cell {index} stores a widget (a progress bar?) in a checked output"
            )


@per_notebook
def test_no_token_or_trust_remote_code(path):
    text = path.read_text(encoding="utf-8")
    assert not TRUST_REMOTE_CODE.search(text), "trust_remote_code=True in a notebook"
    assert not TOKEN_SHAPED.search(text), "a token-shaped string is in the notebook"


@per_notebook
def test_first_code_cell_is_the_colab_cell(path):
    nb = read(path)
    expected = COLAB_CELL
    assert f'"course-utils @ git+{repository_url()}"' in expected, (
        "docs/setup.md's Colab cell installs from another repository than pyproject's"
    )
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# "), (
        "a notebook starts with its title cell"
    )
    first = nb.cells[1]
    assert first.cell_type == "code" and first.source == expected, (
        "the cell after the title must be the Colab cell that docs/setup.md shows, "
        f"installing from pyproject's Repository URL:\n{expected}"
    )
    assert first.metadata.get("slideshow", {}).get("slide_type") == "skip"
    assert not first.outputs and CHECK_TAG not in tags(first)


# A cell that shows an intended error: the call fails before any weights matter (a removed
# pipeline, a wrong argument), and the cell prints the library's message.
SHOWN_ERROR = re.compile(
    r"except [\w.(), ]+ as err:\s*(#.*)?\n\s+print\(f\"\{type\(err\).__name__\}: \{err\}\"\)"
)


@per_notebook
def test_weight_dependent_cells_are_committed_without_output(path):
    """Outputs that depend on the weights are not checked: the offline run may store them,
    labelled (offline-output), or the markdown quotes the real checkpoint's."""
    nb = read(path)
    for index, cell in code_cells(nb):
        code = without_comments(cell.source)
        loads = WEIGHT_CALLS.search(code)
        if loads and not SHOWN_ERROR.search(cell.source):
            assert CHECK_TAG not in tags(cell), (
                f"cell {index} calls {loads.group(0)!r}: its output depends on the weights, so "
                "nbval must not compare it: store it as the labelled offline run "
                f"({OFFLINE_TAG}) or not at all, and quote the real checkpoint's output in markdown"
            )
            assert OFFLINE_TAG in tags(cell) or not cell.outputs, (
                f"cell {index} calls {loads.group(0)!r} and stores an unlabelled output"
            )


def test_the_weight_call_pattern():
    """The rule above must see the calls it is about, and not the look-alikes."""
    for source in (
        'classifier = pipeline("sentiment-analysis")',
        "model = AutoModelForSequenceClassification.from_pretrained(checkpoint)",
        "trainer = Trainer(model, args)",
        "trainer.train()",
        'qa = course_utils.pipeline("question-answering")',
    ):
        assert WEIGHT_CALLS.search(without_comments(source)), source
    for source in (
        "tokenizer = AutoTokenizer.from_pretrained(checkpoint)",
        "config = AutoConfig.from_pretrained(hub_id)",
        "trainer = trainers.BpeTrainer(vocab_size=400)",
        "tok.train_new_from_iterator(corpus, vocab_size=400)",
        "# online: model = AutoModel.from_pretrained(hub_id)",
        "x = 1  # AutoModel.from_pretrained(hub_id) online",
    ):
        assert not WEIGHT_CALLS.search(without_comments(source)), source


def load_refresh_tool():
    module = importlib.import_module("course_authoring.refresh_notebooks")
    module.offline_env = lambda: None  # the test session already runs offline (conftest.py)
    return module


def small_notebook():
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    checked = new_code_cell("print(1)\nprint(2)", metadata={"tags": [CHECK_TAG]})
    checked.execution_count = 7
    checked.outputs = [
        new_output("stream", name="stdout", text="1\n"),
        new_output("stream", name="stdout", text="2\n"),
    ]
    plain = new_code_cell("model_output()")
    plain.execution_count = 8
    plain.outputs = [new_output("execute_result", data={"text/plain": "0.93"}, execution_count=8)]
    nb = new_notebook(cells=[checked, plain])
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    return nb


def test_refresh_tool_keeps_only_checked_outputs(tmp_path):
    path = tmp_path / "small.ipynb"
    nbformat.write(small_notebook(), path)
    assert load_refresh_tool().main(["--clear-only", str(path)]) == 0
    nb = read(path)
    checked, plain = nb.cells
    assert [(o.name, o.text) for o in checked.outputs] == [("stdout", "1\n2\n")]
    assert checked.execution_count == 1
    assert plain.outputs == [] and plain.execution_count is None
    assert "widgets" not in nb.metadata


def test_refresh_tool_refuses_comment_markers(tmp_path, capsys):
    nb = small_notebook()
    nb.cells[1].source = "# NBVAL_CHECK_OUTPUT\nmodel_output()"
    path = tmp_path / "marked.ipynb"
    nbformat.write(nb, path)
    before = path.read_text()
    assert load_refresh_tool().main(["--clear-only", str(path)]) == 1
    assert path.read_text() == before, "a refused notebook is left as it was"
    assert "tag the cell instead" in capsys.readouterr().err


def test_the_shown_error_pattern():
    shown = 'try:\n    pipeline("summarization")\nexcept KeyError as err:  # expected\n    print(f"{type(err).__name__}: {err}")'
    assert SHOWN_ERROR.search(shown)
    assert SHOWN_ERROR.search(shown.replace("KeyError", "(IndexError, RuntimeError)"))
    assert not SHOWN_ERROR.search('pipeline("summarization")')
    assert not SHOWN_ERROR.search(shown.replace('print(f"{type(err).__name__}: {err}")', "pass"))


def test_refresh_tool_keeps_the_offline_run_without_widgets_or_stderr(tmp_path):
    from nbformat.v4 import new_code_cell, new_output

    nb = small_notebook()
    trained = new_code_cell("trainer.train()", metadata={"tags": [OFFLINE_TAG]})
    trained.execution_count = 9
    trained.outputs = [
        new_output("display_data", data={WIDGET_MIME: {"model_id": "x"}, "text/plain": "0%"}),
        new_output("stream", name="stderr", text="a warning\n"),
        new_output(
            "stream", name="stdout", text="\repoch 1:  50%|#  | 1/2\repoch 1: 100%|##| 2/2\n"
        ),
        new_output("display_data", data={"text/html": "", "text/plain": "<HTML object>"}),
        new_output("display_data", data={"text/html": "<table>log</table>", "text/plain": "x"}),
    ]
    nb.cells.append(trained)
    path = tmp_path / "offline.ipynb"
    nbformat.write(nb, path)
    assert load_refresh_tool().main(["--clear-only", str(path)]) == 0
    kept = read(path).cells[2]
    assert kept.execution_count == 2  # numbered with the checked cells
    assert [o.output_type for o in kept.outputs] == ["stream", "display_data"]
    assert kept.outputs[0].text == "epoch 1: 100%|##| 2/2\n"  # a progress bar's last state
    assert kept.outputs[1].data["text/html"] == "<table>log</table>"


def test_refresh_tool_refuses_an_offline_cell_left_empty(tmp_path, capsys):
    from nbformat.v4 import new_code_cell, new_output

    tool = load_refresh_tool()
    nb = small_notebook()
    bare = new_code_cell("bar()", metadata={"tags": [OFFLINE_TAG]})
    bare.outputs = [new_output("stream", name="stderr", text="only a warning\n")]
    nb.cells.append(bare)
    tool.clean(nb)
    assert tool.check_outputs(Path("x.ipynb"), nb) == [
        "x.ipynb: offline-output cell 2 shows nothing to store"
    ]
