"""The question-answering pipeline, restored for transformers 5 (extractive: spans, not text).

Chapter 1 calls ``pipeline("question-answering")``; transformers 5 removed that pipeline
(``transformers.pipelines.REMOVED_TASKS``) and refuses custom pipelines registered under its
name, although ``AutoModelForQuestionAnswering`` still works. So the 4.x pipeline is ported here
as a ``transformers.ChunkPipeline`` subclass, instantiated directly (``course_utils.pipeline``
does that for you); batching, ``batch_size`` and device placement come from the base class.

The call interface, the output format (``{'score', 'start', 'end', 'answer'}``) and the results
are those of transformers 4.57, the last 4.x release: ``tests/test_restored_pipelines.py``
compares them with outputs recorded from real 4.x pipelines (``tests/fixtures/restored``).
Fast tokenizers only.
"""

from __future__ import annotations

import inspect
import types
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch
from transformers.pipelines.base import ChunkPipeline

from course_utils.pipelines.errors import PipelineArgumentError

# --- the arithmetic: from start/end logits to the best spans ---------------------------


def decode_spans(
    start: np.ndarray, end: np.ndarray, topk: int, max_answer_len: int, undesired_tokens: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best ``topk`` (start, end) token pairs by ``start_prob * end_prob``.

    Spans that end before they start, are longer than ``max_answer_len`` tokens, or touch a
    token where ``undesired_tokens`` is 0 (question, special or padding tokens) are dropped.
    """
    if start.ndim == 1:
        start = start[None]
    if end.ndim == 1:
        end = end[None]
    outer = np.matmul(np.expand_dims(start, -1), np.expand_dims(end, 1))
    candidates = np.tril(np.triu(outer), max_answer_len - 1)
    scores_flat = candidates.flatten()
    if topk == 1:
        idx_sort = [np.argmax(scores_flat)]
    elif len(scores_flat) < topk:
        idx_sort = np.argsort(-scores_flat)
    else:
        idx = np.argpartition(-scores_flat, topk)[0:topk]
        idx_sort = idx[np.argsort(-scores_flat[idx])]
    starts, ends = np.unravel_index(idx_sort, candidates.shape)[1:]
    desired = np.isin(starts, undesired_tokens.nonzero()) & np.isin(
        ends, undesired_tokens.nonzero()
    )
    starts = starts[desired]
    ends = ends[desired]
    return starts, ends, candidates[0, starts, ends]


def select_starts_ends(
    start,
    end,
    p_mask,
    attention_mask,
    min_null_score=1000000,
    top_k=1,
    handle_impossible_answer=False,
    max_answer_len=15,
):
    """Softmax the start/end logits over the allowed tokens of one chunk, then :func:`decode_spans`.

    ``p_mask`` has 1 for tokens that cannot be part of an answer. The score of the empty answer
    (the CLS token) is tracked in ``min_null_score`` across chunks.
    """
    undesired_tokens = np.abs(np.array(p_mask) - 1)
    if attention_mask is not None:
        undesired_tokens = undesired_tokens & attention_mask
    undesired_tokens_mask = undesired_tokens == 0.0
    start = np.where(undesired_tokens_mask, -10000.0, start)
    end = np.where(undesired_tokens_mask, -10000.0, end)
    start = np.exp(start - start.max(axis=-1, keepdims=True))
    start = start / start.sum()
    end = np.exp(end - end.max(axis=-1, keepdims=True))
    end = end / end.sum()
    if handle_impossible_answer:
        min_null_score = min(min_null_score, (start[0, 0] * end[0, 0]).item())
    start[0, 0] = end[0, 0] = 0.0  # the CLS token is never a span
    starts, ends, scores = decode_spans(start, end, top_k, max_answer_len, undesired_tokens)
    return starts, ends, scores, min_null_score


# --- the pipeline -----------------------------------------------------------------------
__all__ = ["QuestionAnsweringPipeline"]


@dataclass(frozen=True)
class QAExample:
    """One question with its context (4.x used ``SquadExample``; only these two fields matter)."""

    question_text: str
    context_text: str


def _qa_example(item) -> QAExample:
    if isinstance(item, QAExample):
        return item
    if hasattr(item, "question_text") and hasattr(item, "context_text"):  # a 4.x SquadExample
        return QAExample(item.question_text, item.context_text)
    if isinstance(item, dict):
        for key in ("question", "context"):
            if key not in item:
                raise KeyError(
                    "question answering needs a dictionary with keys 'question' and 'context', "
                    f"got keys {sorted(item)}"
                )
            if item[key] is None:
                raise PipelineArgumentError(f"`{key}` cannot be None: pass it as text")
            if not isinstance(item[key], str):
                raise PipelineArgumentError(
                    f"`{key}` must be a string, got {type(item[key]).__name__}"
                )
            if not item[key]:
                raise PipelineArgumentError(f"`{key}` cannot be empty: pass it as text")
        return QAExample(item["question"], item["context"])
    raise PipelineArgumentError(
        f"{item!r} is not a question-answering input: pass question=..., context=... or a "
        "dict {'question': ..., 'context': ...} (or a list of them)"
    )


def _parse_qa_inputs(args, kwargs):
    """The 4.x ways of passing inputs: positional dict(s), or ``question=`` / ``context=``."""
    if args:
        if len(args) == 1:
            inputs = args[0]
        elif len(args) == 2 and all(isinstance(a, str) for a in args):
            inputs = [{"question": args[0], "context": args[1]}]
        else:
            inputs = list(args)
    elif "question" in kwargs and "context" in kwargs:
        question, context = kwargs.pop("question"), kwargs.pop("context")
        if isinstance(question, list) and isinstance(context, str):
            inputs = [{"question": q, "context": context} for q in question]
        elif isinstance(question, list) and isinstance(context, list):
            if len(question) != len(context):
                raise PipelineArgumentError(
                    f"got {len(question)} questions but {len(context)} contexts: pass one context, "
                    "or one per question"
                )
            inputs = [{"question": q, "context": c} for q, c in zip(question, context, strict=True)]
        elif isinstance(question, str) and isinstance(context, str):
            inputs = [{"question": question, "context": context}]
        else:
            raise PipelineArgumentError(
                "question= and context= must be strings, or lists of strings of the same length"
            )
    else:
        raise PipelineArgumentError(
            "question answering needs a question and a context: call it as "
            "qa(question='...', context='...')"
        )
    if isinstance(inputs, types.GeneratorType | torch.utils.data.Dataset):
        return inputs  # streamed: each item is checked when it is preprocessed
    if isinstance(inputs, dict):
        inputs = [inputs]
    elif isinstance(inputs, Iterable) and not isinstance(inputs, str):
        inputs = list(inputs)
    else:
        raise PipelineArgumentError(
            f"{inputs!r} is not a question-answering input: pass question=..., context=..., or a "
            "dict {'question': ..., 'context': ...} (or a list of them)"
        )
    return [_qa_example(item) for item in inputs]


class QuestionAnsweringPipeline(ChunkPipeline):
    """Extractive question answering: the span of ``context`` that answers ``question``.

    Returns ``{'score', 'start', 'end', 'answer'}`` (a list when ``top_k > 1`` or for several
    inputs). ``answer == context[start:end]``. Contexts longer than ``max_seq_len`` tokens are
    split into overlapping chunks (``doc_stride`` tokens of overlap) and the best span of any
    chunk wins; its score is ``start_prob * end_prob`` within its chunk.
    """

    _load_processor = False
    _load_image_processor = False
    _load_feature_extractor = False
    _load_tokenizer = True
    default_input_names = "question,context"

    def __init__(self, model, tokenizer, task: str = "question-answering", **kwargs):
        if tokenizer is None or not getattr(tokenizer, "is_fast", False):
            raise PipelineArgumentError(
                "the question-answering pipeline needs a fast tokenizer (for character offsets); "
                "load it with AutoTokenizer.from_pretrained(checkpoint) (the default is fast)"
            )
        super().__init__(model=model, tokenizer=tokenizer, task=task, **kwargs)

    def __call__(self, *args, **kwargs):
        """Answer ``question=`` from ``context=`` (strings or lists), or dict input(s).

        Options: ``top_k`` (1), ``max_answer_len`` (15 tokens), ``handle_impossible_answer``
        (False), ``doc_stride`` (min(max_seq_len // 2, 128)), ``max_seq_len`` (min(model max, 384)),
        ``max_question_len`` (64), ``align_to_words`` (True), ``batch_size``.
        """
        examples = _parse_qa_inputs(args, kwargs)
        if isinstance(examples, list) and len(examples) == 1:
            return super().__call__(examples[0], **kwargs)
        return super().__call__(examples, **kwargs)

    def _sanitize_parameters(
        self,
        padding=None,
        top_k=None,
        doc_stride=None,
        max_answer_len=None,
        max_seq_len=None,
        max_question_len=None,
        handle_impossible_answer=None,
        align_to_words=None,
        topk=None,
        **kwargs,
    ):
        if topk is not None and top_k is None:
            warnings.warn(
                "topk is deprecated (as in transformers 4.x): use top_k", UserWarning, stacklevel=2
            )
            top_k = topk
        if kwargs:
            raise PipelineArgumentError(
                f"unexpected argument(s) {sorted(kwargs)} for question answering; it takes question, "
                "context, top_k, max_answer_len, handle_impossible_answer, doc_stride, max_seq_len, "
                "max_question_len, align_to_words, padding, batch_size"
            )
        preprocess_params = {}
        if padding is not None:
            preprocess_params["padding"] = padding
        if doc_stride is not None:
            preprocess_params["doc_stride"] = doc_stride
        if max_question_len is not None:
            preprocess_params["max_question_len"] = max_question_len
        if max_seq_len is not None:
            preprocess_params["max_seq_len"] = max_seq_len
        postprocess_params = {}
        if top_k is not None:
            if top_k < 1:
                raise PipelineArgumentError(
                    f"top_k should be >= 1 (got {top_k}), e.g. top_k=3 for the three best answers"
                )
            postprocess_params["top_k"] = top_k
        if max_answer_len is not None:
            if max_answer_len < 1:
                raise PipelineArgumentError(
                    f"max_answer_len should be >= 1 token (got {max_answer_len}), e.g. max_answer_len=15"
                )
            postprocess_params["max_answer_len"] = max_answer_len
        if handle_impossible_answer is not None:
            postprocess_params["handle_impossible_answer"] = handle_impossible_answer
        if align_to_words is not None:
            postprocess_params["align_to_words"] = align_to_words
        return preprocess_params, {}, postprocess_params

    def preprocess(
        self, example, padding="do_not_pad", doc_stride=None, max_question_len=64, max_seq_len=None
    ):
        example = _qa_example(example)
        if max_seq_len is None:
            max_seq_len = min(self.tokenizer.model_max_length, 384)
        if doc_stride is None:
            doc_stride = min(max_seq_len // 2, 128)
        if doc_stride > max_seq_len:
            raise PipelineArgumentError(
                f"`doc_stride` ({doc_stride}) is larger than `max_seq_len` ({max_seq_len}): pass a "
                "smaller doc_stride (the overlap between chunks of a long context)"
            )

        question_first = self.tokenizer.padding_side == "right"
        # A long context comes back as several overlapping chunks ("spans").
        encodings = self._encode_chunks(
            example.question_text if question_first else example.context_text,
            example.context_text if question_first else example.question_text,
            truncation="only_second" if question_first else "only_first",
            max_length=max_seq_len,
            stride=doc_stride,
            padding=padding,
        )
        num_spans = len(encodings)
        # p_mask: 1 for tokens that cannot be in the answer (question, special tokens).
        p_mask = [
            [int(tok != 1) if question_first else 0 for tok in enc.sequence_ids]
            for enc in encodings
        ]
        model_input_names = [*self.tokenizer.model_input_names, "p_mask", "token_type_ids"]
        for span, enc in enumerate(encodings):
            input_ids = enc.ids
            if self.tokenizer.cls_token_id is not None:
                # keep the CLS token unmasked (some models use it for "no answer")
                for cls_index in np.nonzero(np.array(input_ids) == self.tokenizer.cls_token_id)[0]:
                    p_mask[span][cls_index] = 0
            feature = {
                "input_ids": input_ids,
                "attention_mask": enc.attention_mask,
                "token_type_ids": enc.type_ids,
                "p_mask": p_mask[span],
            }
            fw_args = {}
            for key, value in feature.items():
                if key in model_input_names and value is not None:
                    tensor = torch.tensor(value)
                    if tensor.dtype == torch.int32:
                        tensor = tensor.long()
                    fw_args[key] = tensor.unsqueeze(0)
            yield {
                "example": example,
                "is_last": span == num_spans - 1,
                "encoding": enc,
                **fw_args,
            }

    def _encode_chunks(self, text, text_pair, truncation, max_length, stride, padding):
        """The tokenizer's encodings of a (question, context) pair, one per overlapping chunk.

        As transformers 4.x's fast tokenizers did, this asks the Rust tokenizer for the pair
        truncated to ``max_length`` with ``stride`` tokens of overlap: the first encoding and its
        ``overflowing`` ones. It checks that the chunks reach the end of the context, because
        tokenizers 0.23.1 and 0.23.2 drop the rest of a long text (huggingface/tokenizers#2091).
        """
        backend = self.tokenizer.backend_tokenizer
        saved_truncation, saved_padding = backend.truncation, backend.padding
        context_index = 1 if truncation == "only_second" else 0
        try:
            backend.no_truncation()
            backend.no_padding()
            whole = backend.encode((text, text_pair)[context_index], add_special_tokens=False)
            backend.enable_truncation(
                max_length,
                stride=stride,
                strategy=truncation,
                direction=getattr(self.tokenizer, "truncation_side", "right"),
            )
            first = backend.encode(text, text_pair, add_special_tokens=True)
        finally:
            if saved_truncation is None:
                backend.no_truncation()
            else:
                backend.enable_truncation(**saved_truncation)
            if saved_padding is not None:
                backend.enable_padding(**saved_padding)
        encodings = [first, *first.overflowing]
        context_end = max((end for _, end in whole.offsets), default=0)
        covered = max(
            (
                end
                for enc in encodings
                for (_, end), seq in zip(enc.offsets, enc.sequence_ids, strict=True)
                if seq == context_index
            ),
            default=0,
        )
        if covered < context_end:
            import tokenizers

            raise RuntimeError(
                f"the tokenizer returned only part of this long context (up to character "
                f"{covered} of {context_end}): a bug of tokenizers {tokenizers.__version__} "
                "(huggingface/tokenizers#2091). Upgrade it with pip install -U 'tokenizers>=0.23.3', "
                "then restart the kernel."
            )
        if padding in (True, "longest", "max_length"):
            length = max_length if padding == "max_length" else max(len(e.ids) for e in encodings)
            for enc in encodings:
                enc.pad(
                    length,
                    direction=self.tokenizer.padding_side,
                    pad_id=self.tokenizer.pad_token_id,
                    pad_type_id=self.tokenizer.pad_token_type_id,
                    pad_token=self.tokenizer.pad_token,
                )
        return encodings

    def _forward(self, inputs):
        model_inputs = {k: inputs[k] for k in self.tokenizer.model_input_names if k in inputs}
        if "use_cache" in inspect.signature(self.model.forward).parameters:
            model_inputs["use_cache"] = False
        output = self.model(**model_inputs)
        if isinstance(output, dict):
            start, end = output["start_logits"], output["end_logits"]
        else:
            start, end = output[:2]
        return {"start": start, "end": end, **inputs}

    def postprocess(
        self,
        model_outputs,
        top_k=1,
        handle_impossible_answer=False,
        max_answer_len=15,
        align_to_words=True,
    ):
        min_null_score = 1000000  # large and positive
        answers = []
        for output in model_outputs:
            start_, end_ = output["start"], output["end"]
            if start_.dtype in (torch.bfloat16, torch.float16):
                start_, end_ = start_.float(), end_.float()
            start_, end_ = start_.numpy(), end_.numpy()
            example = output["example"]
            attention_mask = output.get("attention_mask")
            attention_mask = attention_mask.numpy() if attention_mask is not None else None
            # some candidates may be dropped when aligned to words, so ask for more
            pre_topk = top_k * 2 + 10 if align_to_words else top_k
            starts, ends, scores, min_null_score = select_starts_ends(
                start_,
                end_,
                output["p_mask"].numpy(),
                attention_mask,
                min_null_score,
                pre_topk,
                handle_impossible_answer,
                max_answer_len,
            )
            enc = output["encoding"]
            # The encoding was not padded, input_ids may be (left padding shifts every index).
            if self.tokenizer.padding_side == "left":
                offset = int((output["input_ids"] == self.tokenizer.pad_token_id).numpy().sum())
            else:
                offset = 0
            sequence_index = 1 if self.tokenizer.padding_side == "right" else 0
            for s, e, score in zip(starts, ends, scores, strict=True):
                start_index, end_index = self._char_span(
                    enc, s - offset, e - offset, sequence_index, align_to_words
                )
                target = example.context_text[start_index:end_index]
                same = next((a for a in answers if a["answer"].lower() == target.lower()), None)
                if same is not None:  # the same text from another chunk / token pair
                    same["score"] += score.item()
                else:
                    answers.append(
                        {
                            "score": score.item(),
                            "start": start_index,
                            "end": end_index,
                            "answer": target,
                        }
                    )
        if handle_impossible_answer:
            answers.append({"score": min_null_score, "start": 0, "end": 0, "answer": ""})
        answers = sorted(answers, key=lambda a: a["score"], reverse=True)[:top_k]
        if len(answers) == 1:
            return answers[0]
        return answers

    @staticmethod
    def _char_span(
        enc, s: int, e: int, sequence_index: int, align_to_words: bool
    ) -> tuple[int, int]:
        """Character offsets of tokens s..e in the context, widened to whole words if asked."""
        if align_to_words:
            try:
                start_word = enc.token_to_word(s)
                end_word = enc.token_to_word(e)
                return (
                    enc.word_to_chars(start_word, sequence_index=sequence_index)[0],
                    enc.word_to_chars(end_word, sequence_index=sequence_index)[1],
                )
            except Exception:  # noqa: BLE001 - some tokenizers have no words: keep token offsets
                pass
        return enc.offsets[s][0], enc.offsets[e][1]
