"""The exercises at the end of every chapter notebook (course_utils.exercises).

For every exercise: the solution it prints passes, the notebook's untouched stub gets "not yet",
and every misconception it names, written here as a wrong answer, gets its own message, in both
editions. The wrong answers are written by hand below, as a learner would write them; nothing
is copied from the checker. The notebooks' exercise cells are read from the notebooks.
"""

from __future__ import annotations

import functools
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
import torch
import torch.nn.functional as F
from course_authoring import sync_zh_cn as sync

from course_utils import exercises
from course_utils.exercises import chapter1_1, loaders
from course_utils.exercises.core import is_stub
from course_utils.exercises.messages import Text

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = {
    "0": "00_setup",
    "1.1": "01_1_pipelines",
    "1.2": "01_2_how_transformers_work",
    "2": "02_using_transformers",
    "3": "03_fine_tuning",
}
EDITIONS = {"en": ROOT / "notebooks", "zh-CN": ROOT / "notebooks" / "zh-CN"}
NOT_YET = {"en": "not yet: ", "zh-CN": "还没通过："}
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
ALL = [
    (chapter, label, exercise)
    for chapter in NOTEBOOKS
    for label, exercise in zip(
        [f"q{n}" for n in range(1, 10)], exercises.definitions(chapter), strict=False
    )
]


def _id(case) -> str:
    return f"{case[0]}-{case[1]}-{case[2].name}"


def notebook(chapter: str, lang: str = "en"):
    return nbformat.read(EDITIONS[lang] / f"{NOTEBOOKS[chapter]}.ipynb", as_version=4)


def exercise_cells(nb, marker: str):
    return [
        c for c in nb.cells if c.get("metadata", {}).get("course", {}).get("exercise") == marker
    ]


def stub_cell(chapter: str, label: str, lang: str = "en"):
    (cell,) = [c for c in exercise_cells(notebook(chapter, lang), label) if c.cell_type == "code"]
    return cell


@functools.cache
def _setup(chapter: str, lang: str) -> dict:
    """What the notebook's exercise setup cell defines (``ex``, and ``tokenizer`` in chapter 3)."""
    (cell,) = exercise_cells(notebook(chapter, lang), "setup")
    namespace: dict = {}
    exec(cell.source, namespace)
    return namespace


def namespace(chapter: str, lang: str = "en") -> dict:
    fresh = dict(_setup(chapter, lang))
    fresh["ex"] = exercises.chapter(chapter, lang=lang)  # fresh hint counters
    return fresh


def verdict(chapter, label, answer, lang="en"):
    return getattr(exercises.chapter(chapter, lang=lang), label).evaluate(answer)


@pytest.fixture(autouse=True)
def _quiet_torch(one_torch_thread):
    yield


# --- the solution, the stub --------------------------------------------------------------


@pytest.mark.parametrize("case", ALL, ids=_id)
def test_the_solution_passes(case, capsys):
    chapter, label, exercise = case
    code = exercise.solution.replace("ex.{label}", f"ex.{label}")
    setup = namespace(chapter)
    capsys.readouterr()
    exec(code, setup)
    printed = capsys.readouterr().out.strip().splitlines()[-1]
    if exercise is chapter1_1.MONSTER_PREDICTION:  # a prediction about the real model
        assert printed.startswith("cannot check here: offline"), printed
    else:
        assert printed.startswith("correct: "), printed


@pytest.mark.parametrize("lang", EDITIONS)
@pytest.mark.parametrize("case", ALL, ids=_id)
def test_the_notebooks_stub_gets_not_yet_without_loading_anything(case, lang, capsys, monkeypatch):
    chapter, label, _ = case
    for loader in ("checkpoint", "tokenizer", "sequence_classifier", "task_pipeline"):
        monkeypatch.setattr(loaders, loader, _must_not_load)
    setup = namespace(chapter, lang)
    capsys.readouterr()  # what the setup cell printed (a stand-in's notice)
    exec(stub_cell(chapter, label, lang).source, setup)
    printed = capsys.readouterr().out
    assert printed.startswith(NOT_YET[lang]) and printed.count("\n") == 1, printed


def _must_not_load(*args):
    raise AssertionError(f"a stub's check loaded {args}")


def test_the_prediction_is_checked_against_the_real_model_online(monkeypatch):
    said = {"You monster!": "NEGATIVE", "You clever monster!": "POSITIVE"}
    monkeypatch.setattr(chapter1_1, "_model_says", lambda: (said, False))
    assert verdict("1.1", "q4", dict(said)).correct
    swapped = {"You monster!": "POSITIVE", "You clever monster!": "NEGATIVE"}
    assert verdict("1.1", "q4", swapped).key == "general"


# --- misconceptions ------------------------------------------------------------------------


@dataclass
class Case:
    """A wrong answer, and what the world must look like for it (e.g. the Hub's answer)."""

    answer: object
    patch: object = None


@functools.cache
def bert_tokenizer():
    from transformers import AutoTokenizer

    from course_utils import resolve_checkpoint

    checkpoint = resolve_checkpoint("google-bert/bert-base-uncased", announce=False)
    return AutoTokenizer.from_pretrained(checkpoint)


def _hub_says(status):
    from course_utils.hub.access import AccessResult

    def patch(monkeypatch):
        from course_utils.hub import access

        result = AccessResult("meta-llama/Meta-Llama-3-8B", status, "(message)", "url", False)
        monkeypatch.setattr(access, "check_repo_access", lambda repo_id: result)

    return patch


def _model_flips(monkeypatch):
    said = {"You monster!": "NEGATIVE", "You clever monster!": "POSITIVE"}
    monkeypatch.setattr(chapter1_1, "_model_says", lambda: (said, False))


def _pipeline(task, name, **kwargs):
    from course_utils import pipeline, resolve_checkpoint

    return pipeline(task, model=resolve_checkpoint(name, announce=False), **kwargs)


# chapter 1.2


def attention_unscaled(Q, K, V, mask=None):
    return (Q @ K.transpose(-2, -1)).softmax(dim=-1) @ V


def attention_over_d(Q, K, V, mask=None):
    return (Q @ K.transpose(-2, -1) / Q.shape[-1]).softmax(dim=-1) @ V


def attention_softmax_over_queries(Q, K, V, mask=None):
    return (Q @ K.transpose(-2, -1) / Q.shape[-1] ** 0.5).softmax(dim=-2) @ V


def attention_with_dot_T(Q, K, V, mask=None):
    return (Q @ K.T / Q.shape[-1] ** 0.5).softmax(dim=-1) @ V


def attention_without_mask(Q, K, V, mask=None):
    return F.scaled_dot_product_attention(Q, K, V)


def attention_mask_inverted(Q, K, V, mask=None):
    scores = Q @ K.transpose(-2, -1) / Q.shape[-1] ** 0.5
    if mask is not None:
        scores = scores.masked_fill(mask, float("-inf"))
    return scores.softmax(dim=-1) @ V


def _encoding(n, d, exponent, even=torch.sin, odd=torch.cos):
    pos = torch.arange(n, dtype=torch.float64)[:, None]
    i = torch.arange(d)[None, :]
    angle = pos / 10000 ** (exponent(i) / d)
    return torch.where(i % 2 == 0, even(angle), odd(angle))


def layer_norm_unbiased(x, gamma, beta, eps=1e-5):
    return gamma * (x - x.mean(-1, keepdim=True)) / torch.sqrt(x.var(-1, keepdim=True) + eps) + beta


def layer_norm_eps_outside(x, gamma, beta, eps=1e-5):
    mu, std = x.mean(-1, keepdim=True), x.std(-1, keepdim=True, unbiased=False)
    return gamma * (x - mu) / (std + eps) + beta


def layer_norm_without_affine(x, gamma, beta, eps=1e-5):
    return F.layer_norm(x, x.shape[-1:], eps=eps)


def layer_norm_over_the_batch(x, gamma, beta, eps=1e-5):
    mu, var = x.mean(0, keepdim=True), x.var(0, keepdim=True, unbiased=False)
    return gamma * (x - mu) / torch.sqrt(var + eps) + beta


# chapter 2


def sentiment_unpadded(sentences, tokenizer, model):
    inputs = tokenizer(sentences, return_tensors="pt")
    return [{"label": "POSITIVE", "score": 1.0} for _ in model(**inputs).logits]


def _rows(probabilities, model):
    return [
        {"label": model.config.id2label[int(row.argmax())], "score": row.max().item()}
        for row in probabilities
    ]


def sentiment_without_mask(sentences, tokenizer, model):
    inputs = tokenizer(sentences, padding=True, return_tensors="pt")
    with torch.no_grad():
        return _rows(model(input_ids=inputs["input_ids"]).logits.softmax(-1), model)


def sentiment_softmax_over_batch(sentences, tokenizer, model):
    with torch.no_grad():
        logits = model(**tokenizer(sentences, padding=True, return_tensors="pt")).logits
    return _rows(logits.softmax(dim=0), model)


def sentiment_logits(sentences, tokenizer, model):
    with torch.no_grad():
        return _rows(model(**tokenizer(sentences, padding=True, return_tensors="pt")).logits, model)


def sentiment_label_ids(sentences, tokenizer, model):
    with torch.no_grad():
        logits = model(**tokenizer(sentences, padding=True, return_tensors="pt")).logits
    return [{"label": int(row.argmax()), "score": row.max().item()} for row in logits.softmax(-1)]


def sentiment_probabilities(sentences, tokenizer, model):
    with torch.no_grad():
        return model(**tokenizer(sentences, padding=True, return_tensors="pt")).logits.softmax(-1)


def _pad(ids_list, pad_id, left=False):
    longest = max(map(len, ids_list))
    rows = [
        [pad_id] * (longest - len(ids)) + ids if left else ids + [pad_id] * (longest - len(ids))
        for ids in ids_list
    ]
    masks = [
        [int(i >= longest - len(ids)) if left else int(i < len(ids)) for i in range(longest)]
        for ids in ids_list
    ]
    return rows, masks


def pad_batch_stacked(ids_list, pad_id):
    return {"input_ids": torch.tensor(ids_list), "attention_mask": torch.ones(len(ids_list))}


def pad_batch_left(ids_list, pad_id):
    rows, masks = _pad(ids_list, pad_id, left=True)
    return {"input_ids": torch.tensor(rows), "attention_mask": torch.tensor(masks)}


def pad_batch_with_zero(ids_list, pad_id):
    rows, masks = _pad(ids_list, 0)
    return {"input_ids": torch.tensor(rows), "attention_mask": torch.tensor(masks)}


def pad_batch_mask_inverted(ids_list, pad_id):
    rows, masks = _pad(ids_list, pad_id)
    return {"input_ids": torch.tensor(rows), "attention_mask": 1 - torch.tensor(masks)}


def pad_batch_mask_of_ones(ids_list, pad_id):
    rows, _ = _pad(ids_list, pad_id)
    return {"input_ids": torch.tensor(rows), "attention_mask": torch.ones(len(rows), len(rows[0]))}


def pad_batch_lists(ids_list, pad_id):
    rows, masks = _pad(ids_list, pad_id)
    return {"input_ids": rows, "attention_mask": masks}


# chapter 3


def tokenize_first_only(example):
    return bert_tokenizer()(example["sentence1"], truncation=True)


def tokenize_joined(example):
    joined = [f"{a} {b}" for a, b in zip(example["sentence1"], example["sentence2"], strict=True)]
    return bert_tokenizer()(joined, truncation=True)


def tokenize_padded(example):
    return bert_tokenizer()(
        example["sentence1"], example["sentence2"], truncation=True, padding=True
    )


def tokenize_untruncated(example):
    return bert_tokenizer()(example["sentence1"], example["sentence2"])


def tokenize_tensors(example):
    return bert_tokenizer()(
        example["sentence1"], example["sentence2"], truncation=True, return_tensors="pt"
    )


def collate_stacked(features):
    return {key: torch.tensor([f[key] for f in features]) for key in features[0]}


def collate_fixed_length(features):
    from transformers import DataCollatorWithPadding

    return DataCollatorWithPadding(bert_tokenizer(), padding="max_length", max_length=128)(features)


def collate_keeping_label(features):
    return bert_tokenizer().pad(features, return_tensors="pt")


def collate_without_labels(features):
    return bert_tokenizer().pad(
        [{k: v for k, v in f.items() if k != "label"} for f in features], return_tensors="pt"
    )


def collate_lists(features):
    batch = dict(bert_tokenizer().pad(features))
    batch["labels"] = batch.pop("label")
    return batch


def step_without_backward(model, batch, optimizer, lr_scheduler):
    loss = model(**batch).loss
    optimizer.step()
    lr_scheduler.step()
    optimizer.zero_grad()
    return loss


def step_without_optimizer(model, batch, optimizer, lr_scheduler):
    loss = model(**batch).loss
    loss.backward()
    lr_scheduler.step()
    optimizer.zero_grad()
    return loss


def step_without_scheduler(model, batch, optimizer, lr_scheduler):
    loss = model(**batch).loss
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return loss


def step_without_zero_grad(model, batch, optimizer, lr_scheduler):
    loss = model(**batch).loss
    loss.backward()
    optimizer.step()
    lr_scheduler.step()
    return loss.item()


def _subwords_with_special_tokens(word, tokenizer):
    return len(tokenizer(word)["input_ids"])


WRONG = {
    ("0", "hub_cache"): {
        "hf_home": [Case(lambda: __import__("huggingface_hub").constants.HF_HOME)],
        "default_folder": [Case("~/.cache/huggingface/hub")],
        "course_cache": [Case(lambda: str(__import__("course_utils").settings.cache_root()))],
    },
    ("0", "llama_downloadable"): {
        "whole_result": [Case(lambda: __import__("course_utils").check_repo_access("meta-llama/Meta-Llama-3-8B"))],
        "status_not_bool": [Case("offline")],
        "offline_true": [Case(True)],
        "exists_is_not_access": [Case(True, _hub_says("not logged in")), Case(True, _hub_says("no access"))],
    },
    ("1.1", "ner_grouped"): {
        "wrong_task": [Case(lambda: _pipeline("fill-mask", "google-bert/bert-base-cased"))],
        "wrong_model": [Case(lambda: _pipeline("ner", "google-bert/bert-base-cased", aggregation_strategy="simple"))],
        "not_grouped": [Case(lambda: _pipeline("ner", chapter1_1.NER_MODEL))],
    },
    ("1.1", "fill_blank"): {
        "hardcoded_mask": [
            Case(lambda: lambda unmasker, text: unmasker(text.replace("___", "<mask>"))[0]["token_str"]),
            Case(lambda: lambda unmasker, text: unmasker(text.replace("___", "[MASK]"))[0]["token_str"]),
        ],
        "whole_prediction": [Case(lambda: lambda u, text: u(text.replace("___", u.tokenizer.mask_token)))],
        "returned_sequence": [
            Case(lambda: lambda u, text: u(text.replace("___", u.tokenizer.mask_token))[0]["sequence"])
        ],
    },
    ("1.1", "weights_gib"): {
        "gigabytes": [Case(lambda: lambda n, dtype: n * {"float32": 4, "bfloat16": 2, "float16": 2, "int8": 1, "int4": 0.5}[dtype] / 1e9)],
        "bits": [Case(lambda: lambda n, dtype: n * {"float32": 32, "bfloat16": 16, "float16": 16, "int8": 8, "int4": 4}[dtype] / 2**30)],
        "same_for_every_dtype": [Case(lambda: lambda n, dtype: n * 4 / 2**30)],
        "missing_dtype": [Case(lambda: lambda n, dtype: n * {"float32": 4, "bfloat16": 2, "float16": 2, "int8": 1}[dtype] / 2**30)],
    },
    ("1.1", "prediction"): {
        "unknown_label": [Case({"You monster!": "negative", "You clever monster!": "positive"}),
                          Case({"You monster!": 0, "You clever monster!": 1})],
        "one_word_flips": [Case({"You monster!": "NEGATIVE", "You clever monster!": "NEGATIVE"}, _model_flips)],
    },
    ("1.2", "attention"): {
        "no_scaling": [Case(attention_unscaled)],
        "scaled_by_d": [Case(attention_over_d)],
        "softmax_over_queries": [Case(attention_softmax_over_queries)],
        "transpose_all_dims": [Case(attention_with_dot_T)],
        "mask_ignored": [Case(attention_without_mask)],
        "mask_inverted": [Case(attention_mask_inverted)],
    },
    ("1.2", "positional_encoding"): {
        "notes_variant": [Case(lambda: lambda n, d: _encoding(n, d, lambda i: i))],
        "sin_cos_swapped": [Case(lambda: lambda n, d: _encoding(n, d, lambda i: i // 2 * 2, torch.cos, torch.sin))],
        "transposed": [Case(lambda: lambda n, d: _encoding(n, d, lambda i: i // 2 * 2).T)],
    },
    ("1.2", "layer_norm"): {
        "unbiased_variance": [Case(layer_norm_unbiased)],
        "eps_outside_sqrt": [Case(layer_norm_eps_outside)],
        "no_gamma_beta": [Case(layer_norm_without_affine)],
        "wrong_axis": [Case(layer_norm_over_the_batch)],
    },
    ("2", "sentiment_by_hand"): {
        "no_padding": [Case(sentiment_unpadded)],
        "no_attention_mask": [Case(sentiment_without_mask)],
        "softmax_over_batch": [Case(sentiment_softmax_over_batch)],
        "logits_not_probabilities": [Case(sentiment_logits)],
        "label_ids": [Case(sentiment_label_ids)],
        "probabilities_only": [Case(sentiment_probabilities)],
    },
    ("2", "pad_batch"): {
        "no_padding": [Case(pad_batch_stacked)],
        "padded_on_the_left": [Case(pad_batch_left)],
        "ignored_pad_id": [Case(pad_batch_with_zero)],
        "mask_inverted": [Case(pad_batch_mask_inverted)],
        "mask_marks_nothing": [Case(pad_batch_mask_of_ones)],
        "not_tensors": [Case(pad_batch_lists)],
    },
    ("2", "count_subwords"): {
        "counted_special_tokens": [Case(_subwords_with_special_tokens)],
        "counted_characters": [Case(lambda: lambda word, tokenizer: len(word))],
        "counted_words": [Case(lambda: lambda word, tokenizer: len(word.split()))],
        "returned_tokens": [Case(lambda: lambda word, tokenizer: tokenizer.tokenize(word))],
    },
    ("3", "tokenize_function"): {
        "only_first_sentence": [Case(tokenize_first_only)],
        "joined_into_one": [Case(tokenize_joined)],
        "padded_in_map": [Case(tokenize_padded)],
        "no_truncation": [Case(tokenize_untruncated)],
        "tensors_in_map": [Case(tokenize_tensors)],
    },
    ("3", "data_collator"): {
        "no_padding": [Case(collate_stacked)],
        "padded_to_fixed_length": [Case(collate_fixed_length)],
        "label_not_renamed": [Case(collate_keeping_label)],
        "labels_missing": [Case(collate_without_labels)],
        "not_tensors": [Case(collate_lists)],
    },
    ("3", "training_step"): {
        "no_backward": [Case(step_without_backward)],
        "no_optimizer_step": [Case(step_without_optimizer)],
        "no_scheduler_step": [Case(step_without_scheduler)],
        "no_zero_grad": [Case(step_without_zero_grad)],
    },
    ("3", "num_training_steps"): {
        "partial_last_batch": [Case(1375.5), Case(1374)],
        "one_epoch": [Case(459)],
        "examples_not_batches": [Case(3 * 3668)],
    },
}  # fmt: skip


def _answer(case: Case):
    """The wrong answer; one written ``lambda: ...`` is made when the test runs."""
    answer = case.answer
    if callable(answer) and answer.__code__.co_argcount == 0 and answer.__name__ == "<lambda>":
        return answer()
    return answer


def _misconception_cases():
    for chapter, label, exercise in ALL:
        if exercise.name == "answer":  # a choice question: every wrong choice, by letter and value
            for letter, value in _choices(chapter, label):
                if value in exercise.misconceptions:
                    yield pytest.param(
                        chapter, label, value, Case(letter), id=f"{chapter}-{label}-{letter}"
                    )
                    yield pytest.param(
                        chapter, label, value, Case(value.upper()), id=f"{chapter}-{label}-{value}"
                    )
            continue
        for key, cases in WRONG.get((chapter, exercise.name), {}).items():
            for number, case in enumerate(cases):
                yield pytest.param(
                    chapter, label, key, case, id=f"{chapter}-{exercise.name}-{key}-{number}"
                )


def _choices(chapter: str, label: str) -> list[tuple[str, str]]:
    """The choices as the learner reads them in the notebook: "- a) `encoder`"."""
    (statement,) = [
        c for c in exercise_cells(notebook(chapter), label) if c.cell_type == "markdown"
    ]
    return re.findall(r"^- ([a-d])\) [^`]*`([^`]+)`", statement.source, re.MULTILINE)


@pytest.mark.parametrize(("chapter", "label", "key", "case"), list(_misconception_cases()))
def test_each_named_misconception_gets_its_own_message(chapter, label, key, case, monkeypatch):
    if case.patch:
        case.patch(monkeypatch)
    answer = _answer(case)
    english, chinese = verdict(chapter, label, answer), verdict(chapter, label, answer, "zh-CN")
    assert (english.status, english.key) == ("not yet", key), english.message
    assert (chinese.status, chinese.key) == ("not yet", key), chinese.message
    assert english.message.startswith(NOT_YET["en"]) and chinese.message.startswith(
        NOT_YET["zh-CN"]
    )
    assert CJK.search(chinese.message.removeprefix(NOT_YET["zh-CN"]))


@pytest.mark.parametrize("case", ALL, ids=_id)
def test_every_misconception_has_a_wrong_answer_and_a_message_of_its_own(case):
    chapter, label, exercise = case
    if exercise.name == "answer":
        covered = {value for _, value in _choices(chapter, label)} - {
            value
            for letter, value in _choices(chapter, label)
            if exercise.check(letter).key == "correct"
        }
    else:
        covered = set(WRONG.get((chapter, exercise.name), {}))
    assert covered == set(exercise.misconceptions)
    for lang in ("en", "zh"):
        texts = [getattr(text, lang) for text in exercise.misconceptions.values()]
        assert len(set(texts)) == len(texts), f"two misconceptions share a message ({lang})"


def test_the_offline_prediction_is_not_judged():
    prediction = {"You monster!": "NEGATIVE", "You clever monster!": "NEGATIVE"}
    found = verdict("1.1", "q4", prediction)
    assert (found.status, found.key) == ("unchecked", "offline")
    assert "stand-in" in found.message and "online" in found.message


# --- the checker never raises, and keeps the solution to itself ----------------------------


def test_a_function_that_raises_gets_not_yet_with_its_error():
    def attention(Q, K, V, mask=None):
        return 1 / 0

    found = verdict("1.2", "q1", attention)
    assert found.status == "not yet" and found.key == "raised"
    assert "ZeroDivisionError: division by zero" in found.message
    assert "ex.q1.hint()" in found.message


def test_returning_nothing_or_not_a_function_gets_not_yet():
    def positional_encoding(n_positions, d):
        torch.zeros(n_positions, d)

    assert verdict("1.2", "q2", positional_encoding).key == "returned_none"
    assert verdict("1.2", "q2", 42).key == "not_callable"
    assert verdict("1.2", "q2", None).key == "stub_missing"
    assert verdict("1.2", "q2", lambda n, d: "a table").key == "wrong_type"
    assert verdict("1.2", "q2", lambda n, d: torch.zeros(3)).key == "wrong_shape"


def test_a_check_that_cannot_run_says_so_instead_of_raising(monkeypatch):
    from course_utils.models.resolve import CheckpointError

    def missing(name):
        raise CheckpointError(f"{name} is not in the HF cache: go online once")

    monkeypatch.setattr(loaders, "tokenizer", missing)
    found = verdict("2", "q3", lambda word, tokenizer: 1)
    assert found.status == "error" and found.message.startswith("could not check: CheckpointError")
    assert "go online once" in found.message


def test_a_message_that_cannot_be_rendered_is_reported_not_raised(monkeypatch):
    from course_utils.exercises import chapter3

    monkeypatch.setitem(chapter3.TRAINING_STEPS.misconceptions, "one_epoch", Text("{x}", "{x}"))
    found = verdict("3", "q5", 459)
    assert found.status == "error" and "KeyError" in found.message


def test_hints_come_in_steps_and_the_solution_only_when_asked(capsys):
    ex = exercises.chapter("1.2")
    ex.q1.check(attention_unscaled)
    checked = capsys.readouterr().out
    assert "masked_fill" not in checked and "def attention" not in checked
    for step in (1, 2, 3, 3):
        ex.q1.hint()
        shown = capsys.readouterr().out
        assert shown.startswith(f"hint {step} of 3: ")
    assert "ex.q1.solution()" in shown  # the last hint points to the solution
    ex.q1.solution()
    assert "def attention(Q, K, V, mask=None):" in capsys.readouterr().out
    zh = exercises.chapter("1.2", lang="zh-CN")
    zh.q1.hint(2)
    assert capsys.readouterr().out.startswith("提示 2/3：")


def test_is_stub_sees_empty_bodies_only():
    def dots(x): ...

    def documented(x):
        """What it should do."""
        ...

    def passing(x, y=2):
        pass

    def answers(x):
        return x

    assert is_stub(dots) and is_stub(documented) and is_stub(passing)
    assert not is_stub(answers) and not is_stub(len)


# --- chapters, editions, messages ----------------------------------------------------------


def test_chapters_and_editions_are_named_clearly():
    assert len(exercises.chapter(1.2)) == len(exercises.chapter("1.2")) == 5
    assert exercises.chapter(2, lang="zh_cn").lang == "zh-CN"
    with pytest.raises(exercises.ExerciseError, match="two parts"):
        exercises.chapter(1)
    with pytest.raises(exercises.ExerciseError, match="no exercises for chapter 7"):
        exercises.chapter(7)
    with pytest.raises(exercises.ExerciseError, match="lang='zh-CN'"):
        exercises.chapter(2, lang="fr")
    with pytest.raises(AttributeError, match="q1, q2, q3, q4, q5"):
        exercises.chapter(2).q9  # noqa: B018


@pytest.mark.parametrize("chapter", NOTEBOOKS)
def test_every_chapter_has_four_to_six_exercises_mostly_code(chapter):
    defined = exercises.definitions(chapter)
    if chapter == "0":
        assert 2 <= len(defined) <= 3
        return
    questions = [e for e in defined if e.kind == "question"]
    assert 4 <= len(defined) <= 6 and 1 <= len(questions) <= 2, [e.name for e in defined]


def _texts(exercise) -> list[Text]:
    texts = [exercise.title, exercise.correct, exercise.general, *exercise.hints]
    return texts + list(exercise.misconceptions.values()) + list(exercise.notes.values())


@pytest.mark.parametrize("case", ALL, ids=_id)
def test_every_message_has_a_chinese_edition(case):
    for text in _texts(case[2]):
        assert CJK.search(text.zh), text


def test_importing_the_exercises_imports_no_torch():
    code = "import sys, course_utils.exercises; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


# --- the notebooks -------------------------------------------------------------------------


@pytest.mark.parametrize("lang", EDITIONS)
@pytest.mark.parametrize("chapter", NOTEBOOKS)
def test_every_notebook_ends_with_its_exercises(chapter, lang):
    nb = notebook(chapter, lang)
    marked = [i for i, c in enumerate(nb.cells) if sync.is_exercise(c)]
    assert marked and marked == list(range(len(nb.cells) - len(marked), len(nb.cells)))
    (setup,) = exercise_cells(nb, "setup")
    call = f"exercises.chapter({chapter if chapter in '023' else repr(chapter)})"
    expected = call if lang == "en" else sync.for_edition(call)
    assert expected.replace("'", '"') in setup.source
    for number, exercise in enumerate(exercises.definitions(chapter), start=1):
        label = f"q{number}"
        cell = stub_cell(chapter, label, lang)
        assert f"ex.{label}.check(" in cell.source
        assert exercise.answer == "value" or f"def {exercise.name}(" in cell.source
        assert "nbval-check-output" in cell.metadata.get("tags", [])
        printed = "".join(out.get("text", "") for out in cell.outputs)
        assert printed.startswith(NOT_YET[lang]), printed
        (statement,) = [c for c in exercise_cells(nb, label) if c.cell_type == "markdown"]
        for value in exercise.misconceptions if exercise.name == "answer" else ():
            assert f"`{value}`" in statement.source, (label, value)


# The zh-CN exercise cells run (and match their stored Chinese outputs) in
# tests/test_zh_cn_edition.py, in the one kernel that runs that edition's own cells.
