"""Chinese text in matplotlib plots, with the CJK font shipped with the course.

matplotlib's default font has no Chinese characters: labels in Chinese come out as empty boxes
and a "Glyph ... missing from font(s)" warning. :func:`use_chinese_font` registers the course's
font (a subset of Noto Sans CJK SC under the SIL Open Font License: GB2312's common characters,
punctuation and ASCII; see ``course_utils/data/fonts/OFL.txt``) and makes it the first choice.
"""

from __future__ import annotations

from importlib import resources

FONT_FILE = "CourseCJKSansSC-Regular.otf"
FAMILY = "Course CJK Sans SC"


def font_path() -> str:
    return str(resources.files("course_utils").joinpath("data", "fonts", FONT_FILE))


def use_chinese_font() -> str:
    """Let matplotlib draw Chinese labels; returns the font family now used for text."""
    from matplotlib import font_manager, rcParams

    font_manager.fontManager.addfont(font_path())
    rcParams["font.family"] = "sans-serif"
    rcParams["font.sans-serif"] = [FAMILY, *(f for f in rcParams["font.sans-serif"] if f != FAMILY)]
    return FAMILY
