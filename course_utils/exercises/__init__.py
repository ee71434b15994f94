"""Exercises with instant checks, at the end of every chapter notebook.

    from course_utils import exercises

    ex = exercises.chapter(2)                 # the zh-CN notebooks: exercises.chapter(2, lang="zh-CN")
    ex.q1.check(sentiment_by_hand)            # correct, a named misconception, or a general hint
    ex.q1.hint()                              # the next hint
    ex.q1.solution()                          # a solution

A check runs the learner's function on inputs it builds and compares the result with a
reference computed on the same model (the real checkpoint online, the stand-in offline), so it
judges behaviour, not text. It never raises: an untouched stub prints "not yet: ...".
docs/exercises.md explains how an exercise is defined and how to add one.
"""

from __future__ import annotations

import importlib

from course_utils.exercises.core import (
    BoundExercise,
    ChapterExercises,
    Exercise,
    ExerciseError,
    Verdict,
    normalize_lang,
)

# Chapter (as the notebooks number them) -> the module that defines its exercises.
CHAPTER_MODULES = {
    "0": "chapter0",
    "1.1": "chapter1_1",
    "1.2": "chapter1_2",
    "2": "chapter2",
    "3": "chapter3",
}

__all__ = [
    "CHAPTER_MODULES",
    "BoundExercise",
    "ChapterExercises",
    "Exercise",
    "ExerciseError",
    "Verdict",
    "chapter",
    "definitions",
]


def _chapter_id(number: int | float | str) -> str:
    text = str(number).strip()
    if text in CHAPTER_MODULES:
        return text
    if text == "1":
        raise ExerciseError(
            "chapter 1 has two parts: exercises.chapter('1.1') (pipelines) or "
            "exercises.chapter('1.2') (how Transformers work)"
        )
    raise ExerciseError(
        f"no exercises for chapter {number!r}: use one of {', '.join(map(repr, CHAPTER_MODULES))}"
    )


def definitions(number: int | float | str) -> list[Exercise]:
    """A chapter's exercises as defined (no edition): what the tests and the docs walk."""
    module = importlib.import_module(f"{__name__}.{CHAPTER_MODULES[_chapter_id(number)]}")
    return list(module.EXERCISES)


def chapter(number: int | float | str, lang: str = "en") -> ChapterExercises:
    """The exercises of chapter ``number`` (``0``, ``"1.1"``, ``"1.2"``, ``2``, ``3``), with every
    message in the edition ``lang`` (``"en"`` or ``"zh-CN"``)."""
    lang = normalize_lang(lang)
    return ChapterExercises(_chapter_id(number), definitions(number), lang)
