"""Chinese plot labels render with the course's CJK font: no missing-glyph boxes."""

import warnings

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from course_utils.fonts import FAMILY, use_chinese_font  # noqa: E402

LABELS = ["你", "喜欢", "这门课程", "分词器", "。"]


def _missing_glyph_warnings() -> list[str]:
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.set_xticks(range(len(LABELS)), LABELS)
    ax.set_title("注意力权重")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.canvas.draw()
    plt.close(fig)
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


@pytest.fixture
def restore_rc():
    saved = matplotlib.rcParams.copy()
    yield
    matplotlib.rcParams.update(saved)


def test_default_font_lacks_chinese(restore_rc):
    matplotlib.rcParams["font.sans-serif"] = ["DejaVu Sans"]
    assert _missing_glyph_warnings()  # what learners see without the course's font


def test_course_font_draws_every_chinese_label(restore_rc):
    assert use_chinese_font() == FAMILY
    assert _missing_glyph_warnings() == []
