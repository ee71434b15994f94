"""The restored pipelines return what transformers 4.x's pipelines returned.

``tests/fixtures/restored/expected_4x.json`` was recorded by running the real 4.x pipelines
(transformers 4.57.6, torch 2.13.0) on the three tiny seeded models next to it; see
``make_reference.py`` there. Spans and offsets must be equal, scores within 1e-4, and
generated text identical.
"""

from __future__ import annotations

import json
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoModelForQuestionAnswering, AutoModelForSeq2SeqLM, AutoTokenizer

from course_utils.pipelines.qa import QuestionAnsweringPipeline, decode_spans
from course_utils.pipelines.seq2seq import SummarizationPipeline, TranslationPipeline

FIXTURES = Path(__file__).parent / "fixtures" / "restored"
REFERENCE = json.loads((FIXTURES / "expected_4x.json").read_text(encoding="utf-8"))


def _case_id(case: dict) -> str:
    return case.get("task", "") + ":" + case["name"] if "task" in case else case["name"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def qa():
    folder = FIXTURES / "qa"
    return QuestionAnsweringPipeline(
        AutoModelForQuestionAnswering.from_pretrained(folder),
        AutoTokenizer.from_pretrained(folder),
        device="cpu",
    )


@pytest.fixture(scope="module")
def summarizer():
    folder = FIXTURES / "bart"
    return SummarizationPipeline(
        AutoModelForSeq2SeqLM.from_pretrained(folder),
        AutoTokenizer.from_pretrained(folder),
        device="cpu",
    )


@pytest.fixture(scope="module")
def marian():
    folder = FIXTURES / "marian"
    return AutoModelForSeq2SeqLM.from_pretrained(folder), AutoTokenizer.from_pretrained(folder)


def _plain(obj):
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, torch.Tensor):
        return obj.tolist()
    return obj


def assert_same(got, expected, where="result"):
    """Equal structure, keys, strings and ints; floats within 1e-4."""
    if isinstance(expected, dict):
        assert isinstance(got, dict) and set(got) == set(expected), (
            f"{where}: {got!r} != {expected!r}"
        )
        for key in expected:
            assert_same(got[key], expected[key], f"{where}[{key!r}]")
    elif isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected), (
            f"{where}: {got!r} != {expected!r}"
        )
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            assert_same(g, e, f"{where}[{i}]")
    elif isinstance(expected, float):
        assert got == pytest.approx(expected, abs=1e-4), where
    else:
        assert got == expected, f"{where}: {got!r} != {expected!r}"


def test_reference_was_recorded_with_transformers_4():
    assert REFERENCE["transformers_version"].startswith("4.")


@pytest.mark.parametrize("case", REFERENCE["question-answering"], ids=_case_id)
def test_question_answering_matches_4x(qa, case):
    got = _plain(qa(*case.get("args", []), **case.get("kwargs", {})))
    assert_same(got, case["expected"])
    # answers are exact character spans of their context
    contexts = _contexts(case)
    for answer in got if isinstance(got, list) else [got]:
        assert any(c[answer["start"] : answer["end"]] == answer["answer"] for c in contexts)


def _contexts(case: dict) -> list[str]:
    if "context" in case.get("kwargs", {}):
        return [case["kwargs"]["context"]]
    items = case["args"][0]
    return [item["context"] for item in (items if isinstance(items, list) else [items])]


@pytest.mark.parametrize("case", REFERENCE["summarization"], ids=_case_id)
def test_summarization_matches_4x(summarizer, case):
    got = _plain(summarizer(*case["args"], **case["kwargs"]))
    assert_same(got, case["expected"])


@pytest.mark.parametrize("case", REFERENCE["translation"], ids=_case_id)
def test_translation_matches_4x(marian, case):
    model, tokenizer = marian
    translator = TranslationPipeline(model, tokenizer, task=case["task"], device="cpu")
    got = _plain(translator(*case["args"], **case["kwargs"]))
    assert_same(got, case["expected"])


def test_decode_spans_hand_checked():
    start = np.array([0.0, 0.1, 0.6, 0.3])
    end = np.array([0.0, 0.2, 0.1, 0.7])
    allowed = np.array([0, 1, 1, 1])
    starts, ends, scores = decode_spans(start, end, 2, 15, allowed)
    # best pairs with start <= end: (2, 3) = 0.6 * 0.7, then (3, 3) = 0.3 * 0.7
    assert list(zip(starts.tolist(), ends.tolist(), strict=True)) == [(2, 3), (3, 3)]
    assert scores.tolist() == pytest.approx([0.42, 0.21])
    # max_answer_len=1: single tokens only
    starts, ends, _ = decode_spans(start, end, 1, 1, allowed)
    assert (starts.tolist(), ends.tolist()) == ([3], [3])
    # a span touching a disallowed token is dropped
    starts, _, _ = decode_spans(start, end, 1, 15, np.array([0, 1, 0, 1]))
    assert starts.tolist() == []


def test_long_context_is_split_into_overlapping_chunks(qa):
    context = REFERENCE["question-answering"][8]["kwargs"]["context"]
    chunks = list(
        qa.preprocess({"question": "What?", "context": context}, max_seq_len=48, doc_stride=16)
    )
    assert len(chunks) > 5
    assert [c["is_last"] for c in chunks] == [False] * (len(chunks) - 1) + [True]
    assert all(c["input_ids"].shape[1] <= 48 for c in chunks)
    # consecutive chunks share doc_stride context tokens
    first, second = chunks[0]["encoding"], chunks[1]["encoding"]
    first_ctx = [o for o, s in zip(first.offsets, first.sequence_ids, strict=True) if s == 1]
    second_ctx = [o for o, s in zip(second.offsets, second.sequence_ids, strict=True) if s == 1]
    assert first_ctx[-16:] == second_ctx[:16]


def test_batch_size_gives_the_same_answers(qa, marian):
    pairs = [
        {"question": c["kwargs"]["question"], "context": c["kwargs"]["context"]}
        for c in REFERENCE["question-answering"][:4]
    ]
    one_by_one = [qa(p) for p in pairs]
    assert_same(qa(pairs, batch_size=3), one_by_one)
    translator = TranslationPipeline(*marian, task="translation_fr_to_en", device="cpu")
    texts = ["Ce cours est produit par Hugging Face.", "Mon poids est trop élevé."]
    singles = [translator(t, max_length=12)[0] for t in texts]
    assert translator(texts, batch_size=2, max_length=12) == singles


def test_max_length_is_honoured_without_a_model_max_length(summarizer):
    # 4.x quietly generated up to max_new_tokens=256 here; we keep the caller's max_length.
    config = summarizer.model.generation_config
    saved = config.max_length, config.min_length
    config.max_length, config.min_length = None, None
    try:
        out = summarizer("America has changed dramatically.", max_length=10, return_tensors=True)
    finally:
        config.max_length, config.min_length = saved
    assert len(out[0]["summary_token_ids"]) <= 10


def test_question_answering_errors_say_what_to_do(qa, summarizer):
    with pytest.raises(ValueError, match="question and a context"):
        qa(question="Where?")
    with pytest.raises(KeyError, match="'question' and 'context'"):
        qa({"question": "Where?"})
    with pytest.raises(ValueError, match="cannot be empty"):
        qa(question="Where?", context="")
    with pytest.raises(ValueError, match="top_k"):
        qa(question="Where?", context="Here.", top_k=0)
    with pytest.raises(ValueError, match="doc_stride"):
        qa(question="Where?", context="Here.", max_seq_len=16, doc_stride=32)
    with pytest.warns(UserWarning, match="use top_k"):  # the deprecated 4.x spelling still works
        assert len(qa(question="Where?", context="My name is Sylvain.", topk=2)) == 2
    with pytest.raises(TypeError, match="unexpected argument"):
        qa(question="Where?", context="Here.", max_answer_length=2)
    with pytest.raises(ValueError, match="same|one per question"):
        qa(question=["a?", "b?"], context=["only one"])
    with pytest.raises(ValueError, match="fast tokenizer"):
        QuestionAnsweringPipeline(qa.model, tokenizer=None, device="cpu")
    with pytest.raises(ValueError, match="AutoModelForSeq2SeqLM"):
        SummarizationPipeline(qa.model, summarizer.tokenizer, device="cpu")


class _DropsOverflow:
    """A backend tokenizer that loses all but one overflow chunk, like tokenizers 0.23.2."""

    def __init__(self, real):
        self._real = real

    def __getattr__(self, name):
        return getattr(self._real, name)

    def encode(self, *args, **kwargs):
        enc = self._real.encode(*args, **kwargs)
        if len(args) < 2 or not enc.overflowing:
            return enc
        return types.SimpleNamespace(
            ids=enc.ids,
            offsets=enc.offsets,
            sequence_ids=enc.sequence_ids,
            overflowing=enc.overflowing[:1],
        )


def test_a_tokenizer_that_drops_part_of_a_long_context_is_a_clear_error(qa, monkeypatch):
    real = qa.tokenizer.backend_tokenizer
    monkeypatch.setattr(
        type(qa.tokenizer), "backend_tokenizer", property(lambda self: _DropsOverflow(real))
    )
    case = next(c for c in REFERENCE["question-answering"] if c["name"] == "long_context_stride")
    with pytest.raises(RuntimeError, match="tokenizers>=0.23.3"):
        qa(**case["kwargs"])
    # short contexts are one chunk: unaffected
    question, context = case["kwargs"]["question"], "China and India graduate engineers."
    assert set(qa(question=question, context=context)) == {"score", "start", "end", "answer"}
