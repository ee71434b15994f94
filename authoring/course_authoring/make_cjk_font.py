"""Rebuild course_utils/data/fonts/CourseCJKSansSC-Regular.otf, the CJK font for Chinese plot labels.

    pip install mplfonts==0.0.11 fonttools     # in a throwaway environment: mplfonts is 85 MB
    python authoring/course_authoring/make_cjk_font.py

It subsets Noto Sans CJK SC Regular (SIL Open Font License 1.1, shipped inside mplfonts) to the
GB2312 characters (the 6,763 common hanzi, punctuation and symbols), ASCII, CJK and full-width
punctuation and every character of the course's corpora, and renames it, as the license asks of
modified versions: about 3.5 MB instead of 16 MB, and the course needs no 85 MB dependency.
"""

from __future__ import annotations

from pathlib import Path

from course_authoring.repo import ROOT

TARGET = ROOT / "course_utils" / "data" / "fonts" / "CourseCJKSansSC-Regular.otf"
FAMILY = "Course CJK Sans SC"
CORPORA = ("standin_corpus.txt", "tokenizer_corpus.txt")


def characters() -> set[str]:
    chars = set()
    for high in range(0xA1, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                chars.add(bytes([high, low]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    chars |= {chr(c) for c in range(0x20, 0x7F)}
    chars |= {chr(c) for c in range(0x3000, 0x3040)} | {chr(c) for c in range(0xFF00, 0xFFF0)}
    for name in CORPORA:
        chars |= set((ROOT / "course_utils" / "data" / name).read_text(encoding="utf-8"))
    return {c for c in chars if c.isprintable()}


def main() -> None:
    import mplfonts
    from fontTools import subset
    from fontTools.ttLib import TTFont

    source = Path(mplfonts.__file__).parent / "fonts" / "NotoSansCJKsc-Regular.otf"
    font = TTFont(source)
    options = subset.Options()
    options.name_IDs = ["*"]
    options.layout_features = ["*"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[ord(c) for c in characters()])
    subsetter.subset(font)
    names = {
        1: FAMILY,
        16: FAMILY,
        4: f"{FAMILY} Regular",
        6: "CourseCJKSansSC-Regular",
        3: f"{FAMILY} Regular; subset of Noto Sans CJK SC 1.004",
    }
    for record in font["name"].names:
        if record.nameID in names:
            record.string = names[record.nameID]
    font.save(TARGET)
    print(f"wrote {TARGET} ({TARGET.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
