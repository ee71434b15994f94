"""``course_utils.pipeline(task, model=None, **kwargs)``: one entry point for every course task.

It works like ``transformers.pipeline`` and returns a real transformers pipeline, with four
course-specific steps around it:

- ``model`` may be a catalog name (``"distilgpt2"``), a Hub id or a folder; it goes through
  :func:`course_utils.resolve_checkpoint`, so offline it becomes the cached model or a stand-in.
- With ``model=None`` the course's model for the task is used (``text-generation`` gets gpt2 as
  in the course, not transformers 5's 6 GB default), announced as transformers 4 did.
- :func:`course_utils.ensure_fits` runs first: a model that cannot fit raises
  ``ModelTooLargeError`` instead of getting the process killed.
- ``question-answering``, ``summarization``, ``translation`` (and ``translation_xx_to_yy``) and
  ``text2text-generation``, which transformers 5 removed, come from
  :mod:`course_utils.pipelines.qa` and :mod:`course_utils.pipelines.seq2seq`; every other task goes to ``transformers.pipeline``.
"""

from __future__ import annotations

import difflib
import os
import re
from contextlib import contextmanager

from course_utils.errors import CourseError
from course_utils.pipelines.errors import PipelineArgumentError

# The course's model for each task (the transformers 4 defaults the notes saw, gpt2 included).
DEFAULT_MODELS: dict[str, str | None] = {
    "sentiment-analysis": "distilbert/distilbert-base-uncased-finetuned-sst-2-english",
    "text-classification": "distilbert/distilbert-base-uncased-finetuned-sst-2-english",
    "zero-shot-classification": "facebook/bart-large-mnli",
    "text-generation": "openai-community/gpt2",
    "fill-mask": "distilbert/distilroberta-base",
    "ner": "dbmdz/bert-large-cased-finetuned-conll03-english",
    "token-classification": "dbmdz/bert-large-cased-finetuned-conll03-english",
    "question-answering": "distilbert/distilbert-base-cased-distilled-squad",
    "summarization": "sshleifer/distilbart-cnn-12-6",
    "translation": "Helsinki-NLP/opus-mt-fr-en",  # the course's only translation model (fr -> en)
    "translation_fr_to_en": "Helsinki-NLP/opus-mt-fr-en",
    "feature-extraction": "distilbert/distilbert-base-cased",
    "text2text-generation": None,
}
RESTORED_TASKS = ("question-answering", "summarization", "translation", "text2text-generation")
_TRANSLATION_PAIR = re.compile(r"^translation_([a-zA-Z_-]+?)_to_([a-zA-Z_-]+)$")


class UnknownTaskError(CourseError, ValueError):
    """A task name that neither the course nor transformers knows."""


class NoDefaultModelError(CourseError, ValueError):
    """A task the course has no model for: the message says which one to pass."""


def course_tasks() -> list[str]:
    """The task names the course uses (all accepted by :func:`pipeline`)."""
    return list(DEFAULT_MODELS) + ["translation_xx_to_yy"]


def _transformers_tasks() -> list[str]:
    from transformers.pipelines import SUPPORTED_TASKS, TASK_ALIASES

    return sorted({*SUPPORTED_TASKS, *TASK_ALIASES})


def _restored_kind(task: str) -> str | None:
    """Which restored pipeline handles ``task`` (None: transformers has it)."""
    if task in RESTORED_TASKS:
        return task
    if _TRANSLATION_PAIR.match(task):
        return "translation"
    return None


def check_task(task) -> str:
    """Return the task name if :func:`pipeline` knows it, else raise with the valid names."""
    if not isinstance(task, str) or not task.strip():
        raise UnknownTaskError(
            f"task must be a name such as 'sentiment-analysis', got {task!r}. "
            f"Course tasks: {', '.join(course_tasks())}"
        )
    name = task.strip()
    if name in DEFAULT_MODELS or _restored_kind(name) or name in _transformers_tasks():
        return name
    known = list(dict.fromkeys([*DEFAULT_MODELS, *_transformers_tasks()]))
    close = difflib.get_close_matches(name.lower().replace("_", "-"), known, n=2, cutoff=0.7)
    hint = f"Did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    raise UnknownTaskError(
        f"unknown task {task!r}. {hint}Course tasks: {', '.join(course_tasks())} "
        f"(xx, yy: language codes); transformers 5 also has: "
        f"{', '.join(t for t in _transformers_tasks() if t not in DEFAULT_MODELS)}."
    )


def default_model(task: str) -> str:
    """The course's model for ``task``; raises when the course has none (pass ``model=``)."""
    hub_id = DEFAULT_MODELS.get(task)
    if hub_id is not None:
        return hub_id
    pair = _TRANSLATION_PAIR.match(task)
    if pair or task == "text2text-generation":
        example = (
            f"Helsinki-NLP/opus-mt-{pair.group(1)}-{pair.group(2)}"
            if pair
            else "google-t5/t5-small"
        )
        raise NoDefaultModelError(
            f"the course has no default model for {task!r}: pass one, e.g. "
            f"pipeline({task!r}, model={example!r})"
        )
    from transformers.pipelines import SUPPORTED_TASKS, TASK_ALIASES

    info = SUPPORTED_TASKS.get(TASK_ALIASES.get(task, task), {})
    default = (info.get("default") or {}).get("model")
    if isinstance(default, dict):  # per framework: {"pt": (id, revision)}
        default = default.get("pt")
    kind = _INPUT_KINDS.get(info.get("type"))
    takes = f" (it covers text tasks; {task!r} takes {kind})" if kind else ""
    example = (
        f"e.g. pipeline({task!r}, model={default[0]!r}), transformers' model for it, or "
        if default
        else ""
    )
    raise NoDefaultModelError(
        f"the course has no model for {task!r}{takes}: pass a model made for this task, "
        f"{example}one from {_hub_models_url(task)}"
    )


_INPUT_KINDS = {
    "image": "images",
    "audio": "audio",
    "video": "videos",
    "multimodal": "images, audio or documents",
}


def _hub_models_url(task: str) -> str:
    from course_utils.hub.client import endpoint

    return f"{endpoint()}/models?pipeline_tag={task}"


def load_dtype(kwargs: dict) -> str:
    """The dtype the load will use, for the memory check: ``dtype=`` or ``model_kwargs``'s
    (``torch_dtype`` too); ``"auto"`` (the checkpoint's stored dtype) when none is given.

    A name that is no dtype (``"float13"``) is a clear error here, before anything loads.
    """
    from course_utils.models.memory import normalize_dtype

    model_kwargs = kwargs.get("model_kwargs") or {}
    for source in (kwargs, model_kwargs):
        for key in ("dtype", "torch_dtype"):
            value = source.get(key)
            if value is not None and not (isinstance(value, str) and value.strip() == "auto"):
                return normalize_dtype(value)
    return "auto"


def _torch_dtypes(kwargs: dict) -> None:
    """Give the load torch dtypes, not the course's names: ``dtype="fp16"`` (which the memory
    check accepts) is ``torch.float16`` to ``from_pretrained``. ``"auto"`` stays as it is."""
    import torch

    from course_utils.models.memory import DtypeError, normalize_dtype

    def as_torch(key: str, value):
        if value is None or (isinstance(value, str) and value.strip() == "auto"):
            return value
        name = normalize_dtype(value)
        if name in ("int8", "int4"):
            raise DtypeError(
                f"{key}={value!r}: weights load in {name} through a quantization config, not "
                "a dtype: pass model_kwargs={'quantization_config': BitsAndBytesConfig("
                f"load_in_{name[3:]}bit=True)}} (needs a GPU and bitsandbytes), or a float dtype"
            )
        return getattr(torch, name)

    if "dtype" in kwargs:
        kwargs["dtype"] = as_torch("dtype", kwargs["dtype"])
    model_kwargs = kwargs.get("model_kwargs")
    if model_kwargs:
        kwargs["model_kwargs"] = {
            key: as_torch(key, value) if key in ("dtype", "torch_dtype") else value
            for key, value in model_kwargs.items()
        }


def _check_model(model) -> None:
    from transformers import PreTrainedModel

    if model is None or isinstance(model, str | os.PathLike | PreTrainedModel):
        return
    raise PipelineArgumentError(
        f"model={model!r} is not a model: pass a Hub id such as "
        "'distilbert/distilbert-base-uncased-finetuned-sst-2-english', a catalog name such as "
        "'distilgpt2', a folder that save_pretrained() wrote, a model loaded with "
        "from_pretrained(), or leave it out for the course's model for the task"
    )


def _checked_device(device, kwargs: dict):
    """``(device for the pipeline, device for the memory check)``: the one :func:`pick_device`
    chooses when none is given; a given one checked by it, so ``device=0`` on a machine
    without a GPU is the same clear error as ``device="cuda"``. ``device_map=`` is left to
    accelerate."""
    from course_utils.models.device import pick_device

    if device is None:
        if "device_map" in kwargs:
            return None, None
        device = pick_device()
        return device, device
    checked = pick_device(device, source="device")
    if isinstance(device, int) and not isinstance(device, bool) and device == -1:
        return -1, checked  # transformers' own meaning: the CPU, or where the model already is
    return checked, checked


def pipeline(task: str, model=None, **kwargs):
    """A transformers pipeline for ``task``, with the course's defaults and offline stand-ins.

    ``model``: a catalog name, Hub id, local folder or an already loaded model (None: the
    course's model for the task). ``device`` defaults to :func:`course_utils.pick_device`.
    ``allow_too_large=True`` skips the memory refusal. Other keyword arguments go to the
    pipeline (``top_k=``, ``batch_size=``, ``aggregation_strategy=`` ...), or to
    ``from_pretrained`` for ``dtype=``, ``revision=``, ``token=``, ``model_kwargs=``.
    """
    from course_utils.hub import client as hub
    from course_utils.models import load_errors

    hub.check_endpoint()  # a malformed HF_ENDPOINT breaks the libraries' own import
    task = check_task(task)
    _check_model(model)
    allow_too_large = kwargs.pop("allow_too_large", False)
    if "torch_dtype" in kwargs and "dtype" not in kwargs:
        kwargs["dtype"] = kwargs.pop("torch_dtype")
    dtype = load_dtype(kwargs)
    _torch_dtypes(kwargs)
    device, fit_device = _checked_device(kwargs.pop("device", None), kwargs)
    if model is None:
        from course_utils.hub.client import repo_url

        hub_id = default_model(task)
        print(f"No model was supplied, defaulted to {hub_id} ({repo_url(hub_id)}).")
        model = hub_id
    named = os.fspath(model) if isinstance(model, str | os.PathLike) else type(model).__name__
    if isinstance(model, str | os.PathLike):
        model = _checked_source(model, dtype, fit_device, allow_too_large)
    kind = _restored_kind(task)
    source = model if isinstance(model, str) else None
    # Every Hub request of the load has a deadline, a download a minimum rate (hub.deadlines).
    translated = load_errors.translated(source, kwargs.get("revision"))
    with _wrong_model(task, kind, named), translated, hub.deadlines():
        if kind is None:
            import transformers

            return transformers.pipeline(task, model=model, device=device, **kwargs)
        return _restored_pipeline(kind, task, model, device, kwargs)


@contextmanager
def _wrong_model(task: str, kind: str | None, name: str):
    """A model without the head the task needs: say which models do the task."""
    try:
        yield
    except ValueError as err:
        if "Unrecognized configuration class" not in str(err) or isinstance(err, CourseError):
            raise
        if kind == "question-answering":
            need = "an extractive question-answering model (e.g. a *ForQuestionAnswering BERT)"
        elif kind is not None:
            need = "an encoder-decoder model (BART, T5, Marian, ...)"
        else:
            need = "a model trained for it"
        chat = (
            " A decoder-only chat model can do this task through pipeline('text-generation') "
            "with a prompt."
            if kind is not None
            else ""
        )
        raise PipelineArgumentError(
            f"{task} needs {need}; {name} is not one: pick one from "
            f"{_hub_models_url(kind or task)}.{chat}"
        ) from None


def _checked_source(model, dtype: str, device, allow_too_large: bool) -> str:
    """Where the weights come from, once the *real* model is known to fit.

    The memory check comes first, before anything is downloaded or built: it uses the real
    checkpoint's numbers (a catalog model's stored config, also for its stand-in's folder; any
    other Hub model's config.json). Then ``locate`` decides where the weights come from.
    """
    from course_utils.models.fit import ensure_fits
    from course_utils.models.resolve import identify, locate

    name = identify(model)
    ensure_fits(name, dtype=dtype, device=device, allow_too_large=allow_too_large)
    checkpoint = locate(name)
    if checkpoint.notice:
        print(checkpoint.notice)
    return checkpoint.source


_LOAD_KWARGS = ("revision", "token", "dtype", "device_map", "trust_remote_code")


def _restored_pipeline(kind: str, task: str, model, device, kwargs: dict):
    """Load the model and tokenizer with the right Auto class and build the restored pipeline."""
    from transformers import AutoModelForQuestionAnswering, AutoModelForSeq2SeqLM, AutoTokenizer

    from course_utils.pipelines import qa as restored_qa
    from course_utils.pipelines import seq2seq as restored_seq2seq

    classes = {
        "question-answering": (
            AutoModelForQuestionAnswering,
            restored_qa.QuestionAnsweringPipeline,
        ),
        "summarization": (AutoModelForSeq2SeqLM, restored_seq2seq.SummarizationPipeline),
        "translation": (AutoModelForSeq2SeqLM, restored_seq2seq.TranslationPipeline),
        "text2text-generation": (
            AutoModelForSeq2SeqLM,
            restored_seq2seq.Text2TextGenerationPipeline,
        ),
    }
    auto_class, pipeline_class = classes[kind]
    load_kwargs = {k: kwargs.pop(k) for k in _LOAD_KWARGS if k in kwargs}
    load_kwargs.update(kwargs.pop("model_kwargs", None) or {})
    hub_kwargs = {k: load_kwargs[k] for k in ("revision", "token") if k in load_kwargs}
    tokenizer = kwargs.pop("tokenizer", None)
    use_fast = kwargs.pop("use_fast", True)

    if isinstance(model, str):
        model = auto_class.from_pretrained(model, **load_kwargs)
    if tokenizer is None or isinstance(tokenizer, str | os.PathLike):
        source = tokenizer if tokenizer is not None else model.name_or_path
        if not source:
            raise PipelineArgumentError(
                f"pass tokenizer= along with an already loaded model for {task}, e.g. "
                "tokenizer=AutoTokenizer.from_pretrained(checkpoint)"
            )
        tokenizer = AutoTokenizer.from_pretrained(
            os.fspath(source), use_fast=use_fast, **hub_kwargs
        )
    if "device_map" in load_kwargs:
        device = None  # accelerate placed the weights already
    return pipeline_class(model=model, tokenizer=tokenizer, task=task, device=device, **kwargs)
