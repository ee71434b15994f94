"""An exercise, how its check decides, and how a chapter's exercises are shown to the learner.

A chapter module defines :class:`Exercise` objects; :func:`course_utils.exercises.chapter` binds
them to an edition (``"en"`` or ``"zh-CN"``) as :class:`BoundExercise` (``ex.q1``), whose
``check(answer)`` prints one verdict and never raises, ``hint()`` prints the next hint and
``solution()`` the solution.

A check function receives the learner's answer and returns an :class:`Outcome` made with
:func:`correct`, :func:`wrong` or :func:`unchecked`, or raises :class:`NotYet` from a helper. It
calls the learner's code only through :func:`call`, so whatever that code raises becomes a
"not yet" verdict (or, caught by the check, a named misconception) instead of a traceback.
"""

from __future__ import annotations

import dis
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from course_utils.catalog import EDITIONS
from course_utils.errors import CourseError, one_paragraph
from course_utils.exercises.messages import CORE, Text, render


class ExerciseError(CourseError, ValueError):
    """A chapter or an edition the exercises do not have."""


def normalize_lang(lang: str | None) -> str:
    """``"en"`` or ``"zh-CN"`` (any case, ``zh_CN`` too); a clear error for anything else."""
    text = "en" if lang is None else str(lang).strip().replace("_", "-").lower()
    for edition in EDITIONS:
        if text == edition.lower():
            return edition
    raise ExerciseError(
        f"lang={lang!r} is not an edition of the course: use lang='en' (the default) or "
        "lang='zh-CN' (the Chinese edition of the notebooks)"
    )


# --- what a check returns ----------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What a check decided: ``status`` and the key of the message that explains it."""

    status: str  # "correct", "not yet" or "unchecked"
    key: str
    fields: dict = field(default_factory=dict)


def correct(key: str = "correct", **fields) -> Outcome:
    return Outcome("correct", key, fields)


def wrong(key: str, **fields) -> Outcome:
    """A "not yet" verdict: a named misconception, or ``"general"``."""
    return Outcome("not yet", key, fields)


def unchecked(key: str, **fields) -> Outcome:
    """The answer cannot be judged here (e.g. a prediction about a real model, offline)."""
    return Outcome("unchecked", key, fields)


class NotYet(Exception):
    """Raised by check helpers to end a check with a "not yet" verdict."""

    def __init__(self, key: str, **fields):
        super().__init__(key)
        self.outcome = wrong(key, **fields)


class LearnerRaised(Exception):
    """The learner's code raised ``error`` (wrapped, so a check can tell it from its own bugs)."""

    def __init__(self, error: Exception):
        super().__init__(repr(error))
        self.error = error

    def mentions(self, *words: str) -> bool:
        """Whether the error's message holds any of ``words`` (case-insensitive)."""
        text = str(self.error).lower()
        return any(word.lower() in text for word in words)


# Words of the errors that tokenizers and torch raise for ids of unequal lengths (no padding).
NOT_STACKABLE = ("padding", "same length", "expected sequence of length", "unable to create tensor")


def call(function: Callable, *args, **kwargs) -> Any:
    """Run the learner's ``function``; its warnings are hidden, its exceptions wrapped."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = function(*args, **kwargs)
    except Exception as err:
        raise LearnerRaised(err) from None
    if result is None:
        raise NotYet("returned_none")
    return result


def is_stub(function: Callable) -> bool:
    """Whether ``function``'s body does nothing (``...``, ``pass``, a docstring): the stub."""
    code = getattr(function, "__code__", None)
    if code is None:
        return False
    ops = [
        (op.opname, op.argval)
        for op in dis.get_instructions(code)
        if op.opname not in ("RESUME", "NOP", "CACHE")
    ]
    return ops in ([("LOAD_CONST", None), ("RETURN_VALUE", None)], [("RETURN_CONST", None)])


# --- exercises -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Exercise:
    """One exercise.

    ``answer`` is what the learner hands to ``check``: ``"function"`` (the name in ``name``) or
    ``"value"``. ``check(answer)`` returns an :class:`Outcome` whose key is ``"correct"``,
    ``"general"``, a key of ``misconceptions`` (each a wrong answer the check recognises, with
    its own message) or of ``notes``. ``hints`` come one at a time; ``solution`` is code.
    """

    name: str
    title: Text
    answer: str
    check: Callable[[Any], Outcome]
    correct: Text
    general: Text
    hints: tuple[Text, ...]
    solution: str
    misconceptions: dict[str, Text] = field(default_factory=dict)
    notes: dict[str, Text] = field(default_factory=dict)
    solution_note: Text | None = None
    kind: str = "code"  # or "question": a prediction or concept question answered with a value

    def messages(self) -> dict[str, Text]:
        return {**CORE, **self.notes, **self.misconceptions, "correct": self.correct,
                "general": self.general}  # fmt: skip


@dataclass(frozen=True)
class Verdict:
    """The answer to one check: ``status``, the message ``key`` and the ``message`` shown."""

    status: str  # "correct", "not yet", "unchecked" or "error"
    key: str
    message: str

    @property
    def correct(self) -> bool:
        return self.status == "correct"

    def __str__(self) -> str:
        return self.message


# Verdicts that end with "ex.q1.hint() gives a hint".
POINT_TO_HINTS = (
    "general",
    "raised",
    "returned_none",
    "stub_function",
    "stub_value",
    "stub_missing",
)


class BoundExercise:
    """An exercise as the learner uses it: ``check``, ``hint``, ``solution``, in one edition."""

    def __init__(self, exercise: Exercise, label: str, lang: str):
        self.exercise = exercise
        self.label = label
        self.lang = lang
        self._hints_shown = 0

    # the learner's three calls
    def check(self, answer: Any = ...) -> None:
        """Check ``answer`` and print the verdict (this never raises)."""
        print(self.evaluate(answer).message)

    def hint(self, step: int | None = None) -> None:
        """Print the next hint (or hint number ``step``)."""
        hints = self.exercise.hints
        if step is None:
            self._hints_shown = min(self._hints_shown + 1, len(hints))
            step = self._hints_shown
        step = max(1, min(int(step), len(hints)))
        text = self._text("hint", step=step, total=len(hints), hint=self._say(hints[step - 1]))
        if step == len(hints):
            text += "\n" + self._text("last_hint", label=self.label)
        print(text)

    def solution(self) -> None:
        """Print a solution."""
        code = self.exercise.solution.strip().replace("ex.{label}", f"ex.{self.label}")
        note = self.exercise.solution_note
        print(self._text("solution") + "\n\n" + code + (f"\n\n{self._say(note)}" if note else ""))

    # for tests and programs
    def evaluate(self, answer: Any = ...) -> Verdict:
        """The verdict on ``answer``, without printing."""
        try:
            outcome = self._stub_outcome(answer) or self.exercise.check(answer)
        except NotYet as stop:
            outcome = stop.outcome
        except LearnerRaised as raised:
            outcome = wrong("raised", error=_describe_error(raised.error))
        except Exception as err:  # the check itself failed (e.g. a model it needs is missing)
            outcome = Outcome("error", "check_failed", {"error": _describe_error(err)})
        try:
            return self._verdict(outcome)
        except Exception as err:  # a message that cannot be rendered must not stop Run all
            broken = Outcome("error", "check_failed", {"error": _describe_error(err)})
            return self._verdict(broken)

    def _verdict(self, outcome: Outcome) -> Verdict:
        body = self._text(outcome.key, **outcome.fields)
        if outcome.key in POINT_TO_HINTS:
            body += self._text("hint_pointer")
        message = self._text(f"prefix_{outcome.status.replace(' ', '_')}", body=body)
        return Verdict(outcome.status, outcome.key, message)

    def _stub_outcome(self, answer: Any) -> Outcome | None:
        if self.exercise.answer == "value":
            return wrong("stub_value") if answer is Ellipsis else None
        if answer is Ellipsis or answer is None:
            return wrong("stub_missing")
        if not callable(answer):
            return wrong("not_callable", got=type(answer).__name__)
        return wrong("stub_function") if is_stub(answer) else None

    def _text(self, key: str, **fields) -> str:
        fields = {"name": self.exercise.name, "label": self.label, **fields}
        fields = {k: self._say(v) if isinstance(v, Text) else v for k, v in fields.items()}
        return render(self.exercise.messages()[key], self.lang, **fields)

    def _say(self, text: Text) -> str:
        return render(text, self.lang, name=self.exercise.name, label=self.label)

    def __repr__(self) -> str:
        given = "..." if self.exercise.name == "answer" else self.exercise.name  # choice: a letter
        how = f"ex.{self.label}.check({given})"
        return f"{self.label}: {self._say(self.exercise.title)} — {how}, .hint(), .solution()"


def _describe_error(err: BaseException) -> str:
    text = one_paragraph(err)
    if len(text) > 300:
        text = text[:297] + "..."
    return f"{type(err).__name__}: {text}"


class ChapterExercises:
    """A chapter's exercises in one edition: ``ex.q1``, ``ex.q2``, ...; ``print(ex)`` lists them."""

    def __init__(self, chapter: str, exercises: list[Exercise], lang: str):
        self.chapter = chapter
        self.lang = normalize_lang(lang)
        self._bound = {
            f"q{number}": BoundExercise(exercise, f"q{number}", self.lang)
            for number, exercise in enumerate(exercises, start=1)
        }

    def __getattr__(self, label: str) -> BoundExercise:
        bound = self.__dict__.get("_bound", {})
        if label in bound:
            return bound[label]
        raise AttributeError(
            f"chapter {self.chapter} has exercises {', '.join(bound)}; there is no {label!r}"
        )

    def __iter__(self):
        return iter(self._bound.values())

    def __len__(self) -> int:
        return len(self._bound)

    def __dir__(self) -> list[str]:
        return [*super().__dir__(), *self._bound]

    def __repr__(self) -> str:
        head = render(CORE["chapter_header"], self.lang, chapter=self.chapter, count=len(self))
        return "\n".join([head, *(f"  {bound!r}" for bound in self)])
