"""The comparison that stands in for nbval's when chapter 3 runs in JupyterLab instead
(tests/notebook_runs.py): what nbval compares fails it, what nbval ignores does not."""

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output
from notebook_runs import checked_outputs_that_differ, nbval_view


def _notebook(*outputs, tags=("nbval-check-output",)):
    cell = new_code_cell("print('x')", outputs=list(outputs), metadata={"tags": list(tags)})
    return new_notebook(cells=[cell])


def _stream(text, name="stdout"):
    return new_output("stream", name=name, text=text)


def test_the_same_text_split_differently_is_the_same():
    stored = _notebook(_stream("a\nb\n"))
    run = _notebook(_stream("a\n"), _stream("b\n"))
    assert checked_outputs_that_differ(run, stored) == []


def test_other_text_is_a_difference():
    stored = _notebook(_stream("accuracy 0.95\n"))
    run = _notebook(_stream("accuracy 0.96\n"))
    [problem] = checked_outputs_that_differ(run, stored)
    assert "cell 0" in problem and "0.96" in problem


def test_stderr_and_html_count_images_and_widgets_do_not():
    html = new_output("display_data", data={"text/plain": "t", "text/html": "<b>1</b>"})
    stored = _notebook(html)
    other_html = new_output("display_data", data={"text/plain": "t", "text/html": "<b>2</b>"})
    assert checked_outputs_that_differ(_notebook(other_html), stored)
    assert checked_outputs_that_differ(_notebook(html, _stream("warn", "stderr")), stored)
    image = new_output("display_data", data={"text/plain": "t", "text/html": "<b>1</b>"})
    image.data["image/png"] = "iVBORw0KGgo="
    widget = new_output("display_data", data={"application/vnd.jupyter.widget-view+json": {}})
    assert not checked_outputs_that_differ(_notebook(image), stored)
    assert nbval_view([widget]) == {}


def test_only_checked_cells_are_compared():
    stored = _notebook(_stream("one\n"), tags=())
    assert checked_outputs_that_differ(_notebook(_stream("two\n"), tags=()), stored) == []


def test_an_error_output_is_compared_by_name_and_value():
    error = new_output("error", ename="KeyError", evalue="'x'", traceback=["..."])
    other = new_output("error", ename="KeyError", evalue="'y'", traceback=["..."])
    assert checked_outputs_that_differ(_notebook(other), _notebook(error))
    same = nbformat.from_dict(dict(error, traceback=["another traceback"]))
    assert not checked_outputs_that_differ(_notebook(same), _notebook(error))
