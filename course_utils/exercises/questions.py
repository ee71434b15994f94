"""Prediction and concept questions: the learner answers with a letter or a value.

Every wrong choice is a named misconception with its own explanation, so a learner who picks
it learns why it is wrong, not only that it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from course_utils.exercises.core import Exercise, correct, wrong
from course_utils.exercises.messages import Text


@dataclass(frozen=True)
class Choice:
    """One answer: ``letter`` or ``value`` picks it; ``en`` / ``zh`` say why it is (not) right."""

    letter: str
    value: str
    en: str
    zh: str

    @property
    def explanation(self) -> Text:
        return Text(self.en, self.zh)


def _normal(answer: object) -> str:
    text = str(answer).strip().lower().strip("\"'")
    text = re.sub(r"^\(?([a-z])[).]?$", r"\1", text)  # "(c)", "c)", "c." -> "c"
    return re.sub(r"[\s_-]+", "-", text)


def choice_question(
    *, title: Text, choices: list[Choice], answer: str, hints: tuple[Text, ...]
) -> Exercise:
    """An exercise whose answer is one of ``choices`` (``answer`` is the right letter)."""
    by_answer = {}
    for choice in choices:
        by_answer[_normal(choice.letter)] = choice
        by_answer[_normal(choice.value)] = choice
    right = next(c for c in choices if c.letter == answer)
    listed = ", ".join(f"{c.letter}) {c.value}" for c in choices)

    def check(given: object):
        picked = by_answer.get(_normal(given))
        if picked is None:
            return wrong("not_a_choice", answer=given, choices=listed)
        return correct() if picked is right else wrong(picked.value)

    return Exercise(
        name="answer",
        title=title,
        answer="value",
        check=check,
        correct=right.explanation,
        general=Text(f"the choices are {listed}.", f"选项是 {listed}。"),
        hints=hints,
        solution=f'ex.{{label}}.check("{right.letter}")  # {right.value}',
        misconceptions={c.value: c.explanation for c in choices if c is not right},
        solution_note=right.explanation,
        kind="question",
    )
