"""Summarization, translation and text2text-generation pipelines, restored for transformers 5.

Chapter 1 calls ``pipeline("summarization")`` and ``pipeline("translation", ...)``;
transformers 5 removed those pipelines and refuses custom pipelines registered under their
names, although ``AutoModelForSeq2SeqLM`` and ``generate()`` still work. So the 4.x pipelines
are ported here as ``transformers.Pipeline`` subclasses, instantiated directly
(``course_utils.pipeline`` does that for you).

The call interface, the outputs (``[{'summary_text': ...}]``, ``[{'translation_text': ...}]``)
and the generated text are those of transformers 4.57, checked against outputs recorded from
real 4.x pipelines (``tests/fixtures/restored``). One deliberate difference: a ``max_length``
passed by the caller is honoured even when the model's generation config sets none (4.x then
silently used its default ``max_new_tokens=256``).
"""

from __future__ import annotations

import enum

from transformers import GenerationConfig
from transformers.pipelines.base import Pipeline

from course_utils.pipelines.errors import PipelineArgumentError

__all__ = ["SummarizationPipeline", "Text2TextGenerationPipeline", "TranslationPipeline"]


class ReturnType(enum.Enum):
    TENSORS = 0
    TEXT = 1


class Text2TextGenerationPipeline(Pipeline):
    """Generate text from text with an encoder-decoder model (``model.generate``).

    Returns ``[{'generated_text': ...}]`` per input. Generation settings come, in this order of
    priority, from the call, from the pipeline's construction, from the model config's
    ``task_specific_params`` for this task, from the model's generation config, and finally the
    4.x pipeline defaults (``max_new_tokens=256``, ``num_beams=4``).
    """

    _pipeline_calls_generate = True
    _load_processor = False
    _load_image_processor = False
    _load_feature_extractor = False
    _load_tokenizer = True
    _default_generation_config = GenerationConfig(max_new_tokens=256, num_beams=4)
    return_name = "generated"

    def __init__(self, model, tokenizer, task: str = "text2text-generation", **kwargs):
        if not getattr(model, "can_generate", lambda: False)():
            raise PipelineArgumentError(
                f"{type(model).__name__} cannot generate text; {task} needs a sequence-to-sequence "
                "model loaded with AutoModelForSeq2SeqLM.from_pretrained(checkpoint)"
            )
        # Generation settings given at construction apply to every call. They are kept here
        # rather than in the base class, whose handling of them differs between 5.x releases.
        keys = {k for k in vars(GenerationConfig()) if not k.startswith("_")} | {
            "generation_config"
        }
        self._init_generate_kwargs = {k: kwargs.pop(k) for k in keys & kwargs.keys()}
        super().__init__(model=model, tokenizer=tokenizer, task=task, **kwargs)
        # 4.x: a model config's task_specific_params[task] (e.g. T5's "summarize: " prefix)
        # tunes generation for this task; the caller's settings still win.
        task_params = dict(
            (getattr(model.config, "task_specific_params", None) or {}).get(task) or {}
        )
        self.prefix = task_params.pop("prefix", getattr(model.config, "prefix", None))
        self._task_generate_kwargs = task_params

    def _generation_settings(self, call_kwargs: dict) -> dict:
        """``generate()`` kwargs: the call's settings over the construction's, over the model
        config's ``task_specific_params``, over the model's generation config; then the 4.x
        pipeline defaults for what none of them sets."""
        kwargs = {**self._task_generate_kwargs, **self._init_generate_kwargs, **call_kwargs}
        if "generation_config" in kwargs:
            return kwargs  # the caller's own GenerationConfig decides everything else
        set_params = {**self.model.generation_config.to_diff_dict(), **kwargs}
        if "max_length" not in set_params and "max_new_tokens" not in set_params:
            kwargs["max_new_tokens"] = self._default_generation_config.max_new_tokens
        if "num_beams" not in set_params:
            kwargs["num_beams"] = self._default_generation_config.num_beams
        if "pad_token_id" not in set_params and self.tokenizer.pad_token_id is not None:
            kwargs["pad_token_id"] = self.tokenizer.pad_token_id
        return kwargs

    def _sanitize_parameters(
        self,
        return_tensors=None,
        return_text=None,
        return_type=None,
        clean_up_tokenization_spaces=None,
        truncation=None,
        stop_sequence=None,
        **generate_kwargs,
    ):
        preprocess_params = {}
        if truncation is not None:
            preprocess_params["truncation"] = truncation
        postprocess_params = {}
        if return_tensors is not None and return_type is None:
            return_type = ReturnType.TENSORS if return_tensors else ReturnType.TEXT
        if return_type is None and return_text is not None:
            return_type = ReturnType.TEXT if return_text else ReturnType.TENSORS
        if return_type is not None:
            postprocess_params["return_type"] = return_type
        if clean_up_tokenization_spaces is not None:
            postprocess_params["clean_up_tokenization_spaces"] = clean_up_tokenization_spaces
        if stop_sequence is not None:
            stop_ids = self.tokenizer.encode(stop_sequence, add_special_tokens=False)
            generate_kwargs["eos_token_id"] = stop_ids[0]
        return preprocess_params, generate_kwargs, postprocess_params

    def _parse_and_tokenize(self, inputs, truncation):
        prefix = self.prefix if self.prefix is not None else ""
        if isinstance(inputs, list):
            if self.tokenizer.pad_token_id is None:
                raise PipelineArgumentError(
                    "the tokenizer needs a pad token to handle a batch of inputs: set one "
                    "(tokenizer.pad_token = tokenizer.eos_token) or pass the texts one by one"
                )
            text, padding = [prefix + item for item in inputs], True
        elif isinstance(inputs, str):
            text, padding = prefix + inputs, False
        else:
            raise PipelineArgumentError(
                f"expected a string or a list of strings, got {type(inputs).__name__}"
            )
        encoded = self.tokenizer(text, padding=padding, truncation=truncation, return_tensors="pt")
        encoded.pop("token_type_ids", None)  # produced by some tokenizers, refused by generate()
        return encoded

    def __call__(self, inputs, *args, **kwargs):
        """Generate for a string or a list of strings (a list gives one result per string)."""
        result = super().__call__(inputs, *args, **kwargs)
        if (
            isinstance(inputs, list)
            and all(isinstance(item, str) for item in inputs)
            and all(len(res) == 1 for res in result)
        ):
            return [res[0] for res in result]
        return result

    def preprocess(self, inputs, truncation=False):
        return self._parse_and_tokenize(inputs, truncation=truncation)

    def _forward(self, model_inputs, **generate_kwargs):
        in_b = model_inputs["input_ids"].shape[0]
        generate_kwargs = self._generation_settings(generate_kwargs)
        output_ids = self.model.generate(**model_inputs, **generate_kwargs)
        out_b = output_ids.shape[0]
        return {"output_ids": output_ids.reshape(in_b, out_b // in_b, *output_ids.shape[1:])}

    def postprocess(
        self, model_outputs, return_type=ReturnType.TEXT, clean_up_tokenization_spaces=False
    ):
        records = []
        for output_ids in model_outputs["output_ids"][0]:
            if return_type == ReturnType.TENSORS:
                records.append({f"{self.return_name}_token_ids": output_ids})
            else:
                text = self.tokenizer.decode(
                    output_ids,
                    skip_special_tokens=True,
                    clean_up_tokenization_spaces=clean_up_tokenization_spaces,
                )
                records.append({f"{self.return_name}_text": text})
        return records


class SummarizationPipeline(Text2TextGenerationPipeline):
    """Summarize text: ``[{'summary_text': ...}]``; ``min_length`` / ``max_length`` in tokens.

    ``max_new_tokens`` caps only the generated tokens; ``return_tensors=True`` gives token ids
    (``summary_token_ids``) instead of text.
    """

    return_name = "summary"

    def __init__(self, model, tokenizer, task: str = "summarization", **kwargs):
        super().__init__(model, tokenizer, task=task, **kwargs)


class TranslationPipeline(Text2TextGenerationPipeline):
    """Translate text: ``[{'translation_text': ...}]``.

    ``task="translation_fr_to_en"`` (or ``src_lang=`` / ``tgt_lang=``) names the languages, which
    only multilingual models need; a pair model such as opus-mt-fr-en ignores them.
    """

    return_name = "translation"

    def __init__(self, model, tokenizer, task: str = "translation", **kwargs):
        super().__init__(model, tokenizer, task=task, **kwargs)

    def _sanitize_parameters(self, src_lang=None, tgt_lang=None, **kwargs):
        preprocess_params, forward_params, postprocess_params = super()._sanitize_parameters(
            **kwargs
        )
        if src_lang is not None:
            preprocess_params["src_lang"] = src_lang
        if tgt_lang is not None:
            preprocess_params["tgt_lang"] = tgt_lang
        if src_lang is None and tgt_lang is None:
            parts = (self.task or "").split("_")
            if len(parts) == 4:  # translation, xx, to, yy
                preprocess_params["src_lang"] = parts[1]
                preprocess_params["tgt_lang"] = parts[3]
        return preprocess_params, forward_params, postprocess_params

    def preprocess(self, inputs, truncation=False, src_lang=None, tgt_lang=None):
        build = getattr(self.tokenizer, "_build_translation_inputs", None)
        if build is not None:  # multilingual tokenizers (M2M100, NLLB, mBART) set language codes
            return build(
                inputs,
                return_tensors="pt",
                truncation=truncation,
                src_lang=src_lang,
                tgt_lang=tgt_lang,
            )
        return self._parse_and_tokenize(inputs, truncation=truncation)
