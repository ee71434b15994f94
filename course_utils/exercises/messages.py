"""Every message of the exercises in both editions, and the checker's own catalog (``CORE``).

A :class:`Text` holds one message in English and in Chinese side by side, so a new message
cannot be added in one language only (``tests/test_exercises.py`` renders them all). Fields are
``str.format`` fields: write ``{name}``, and ``{{`` / ``}}`` for a literal brace.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Text:
    """One message: ``en`` for the English edition, ``zh`` for the zh-CN edition."""

    en: str
    zh: str

    def __post_init__(self):
        if not self.en.strip() or not self.zh.strip():
            raise ValueError(f"a message needs both editions: {self!r}")


def render(text: Text, lang: str, **fields) -> str:
    template = text.zh if lang == "zh-CN" else text.en
    return template.format(**fields)


CORE = {
    "prefix_correct": Text("correct: {body}", "正确：{body}"),
    "prefix_not_yet": Text("not yet: {body}", "还没通过：{body}"),
    "prefix_unchecked": Text("cannot check here: {body}", "这里无法检查：{body}"),
    "prefix_error": Text("could not check: {body}", "无法检查：{body}"),
    "stub_function": Text(
        "`{name}` is still the stub (its body does nothing yet): write it, then run this cell "
        "again.",
        "`{name}` 还是空的（函数体什么也没做）：把它写完，再运行这个单元格。",
    ),
    "stub_value": Text(
        "replace the `...` with your answer, then run this cell again.",
        "把 `...` 换成你的答案，再运行这个单元格。",
    ),
    "stub_missing": Text(
        "give the check your function: ex.{label}.check({name}).",
        "把你的函数交给检查：ex.{label}.check({name})。",
    ),
    "not_callable": Text(
        "expected a function (def {name}(...): ...), got a {got}.",
        "这里需要一个函数（def {name}(...): ...），收到的是 {got}。",
    ),
    "raised": Text("your function raised {error}.", "你的函数抛出了异常 {error}。"),
    "returned_none": Text(
        "your function returned None: did you forget `return`?",
        "你的函数返回了 None：是不是忘了写 `return`？",
    ),
    # appended to a message: English needs the space, Chinese none
    "hint_pointer": Text(" ex.{label}.hint() gives a hint.", "运行 ex.{label}.hint() 可以看提示。"),
    "check_failed": Text("{error}", "{error}"),
    "hint": Text("hint {step} of {total}: {hint}", "提示 {step}/{total}：{hint}"),
    "last_hint": Text(
        "(that was the last hint: ex.{label}.solution() shows a solution)",
        "（这是最后一条提示：ex.{label}.solution() 显示参考答案）",
    ),
    "solution": Text(
        "a solution (put it in the cell above and run it):",
        "参考答案（放进上面的单元格里运行）：",
    ),
    "not_a_choice": Text(
        "{answer!r} is not one of the choices: {choices}.",
        "{answer!r} 不是选项之一：{choices}。",
    ),
    "wrong_type": Text(
        "expected {expected}, got a {got}.", "这里需要 {expected}，收到的是 {got}。"
    ),
    "wrong_shape": Text(
        "expected a tensor of shape {expected}, got shape {got}.",
        "张量的形状应该是 {expected}，你的是 {got}。",
    ),
    "chapter_header": Text(
        "Chapter {chapter}: {count} exercises (check your answer with ex.q1.check(...))",
        "第 {chapter} 章：{count} 道练习（用 ex.q1.check(...) 检查你的答案）",
    ),
}
