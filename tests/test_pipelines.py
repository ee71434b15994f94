"""course_utils.pipeline: every course task, offline, with the course's default models."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import transformers

import course_utils
from course_utils import ModelTooLargeError
from course_utils.errors import CourseError
from course_utils.pipelines.factory import UnknownTaskError, check_task, pipeline
from course_utils.pipelines.qa import QuestionAnsweringPipeline
from course_utils.pipelines.seq2seq import SummarizationPipeline, TranslationPipeline

# The study notes' chapter 1 inputs.
NOTES_QA = [
    ("Where do I work?", "My name is Sylvain and I work at Hugging Face in Brooklyn"),
    ("What should I do?", "My weight is too high"),
    ("What is my weight?", "My weight is too high, which is 85kg."),
    ("What is my weight?", "My weight is too high, which is 85kg and 187 pounds."),
]
ENGINEERING = """
    America has changed dramatically during recent years. Not only has the number of
    graduates in traditional engineering disciplines such as mechanical, civil,
    electrical, chemical, and aeronautical engineering declined, but in most of
    the premier American universities engineering curricula now concentrate on
    and encourage largely the study of engineering science. As a result, there
    are declining offerings in engineering subjects dealing with infrastructure,
    the environment, and related issues, and greater concentration on high
    technology subjects, largely supporting increasingly complex scientific
    developments. While the latter is important, it should not be at the expense
    of more traditional engineering.
"""


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def question_answerer():
    return pipeline("question-answering")


@pytest.fixture(scope="module")
def translator():
    return pipeline("translation_fr_to_en")


def test_is_exported():
    assert course_utils.pipeline is pipeline


def test_question_answering_default_on_the_notes_questions(question_answerer, capsys):
    assert isinstance(question_answerer, QuestionAnsweringPipeline)
    for question, context in NOTES_QA:
        answer = question_answerer(question=question, context=context)
        assert set(answer) == {"score", "start", "end", "answer"}
        assert 0.0 <= answer["score"] <= 1.0
        assert 0 <= answer["start"] < answer["end"] <= len(context)
        assert context[answer["start"] : answer["end"]] == answer["answer"]
    top = question_answerer(question=NOTES_QA[0][0], context=NOTES_QA[0][1], top_k=3)
    assert len(top) == 3 and top[0]["score"] >= top[1]["score"] >= top[2]["score"]


def test_default_model_is_announced_like_transformers_4(capsys):
    pipe = pipeline("question-answering", device="cpu")
    out = capsys.readouterr().out
    assert (
        "No model was supplied, defaulted to distilbert/distilbert-base-cased-distilled-squad"
        in out
    )
    assert pipe.device.type == "cpu"


def test_summarization_of_the_notes_text():
    summarizer = pipeline("summarization")
    assert isinstance(summarizer, SummarizationPipeline)
    result = summarizer(ENGINEERING, min_length=16, max_length=32)
    assert isinstance(result, list) and len(result) == 1
    assert set(result[0]) == {"summary_text"} and result[0]["summary_text"].strip()
    ids = summarizer(ENGINEERING, min_length=16, max_length=32, return_tensors=True)
    assert 16 <= len(ids[0]["summary_token_ids"]) <= 32


@pytest.mark.slow
def test_translation_fr_to_en_on_the_notes_sentence(translator):
    assert isinstance(translator, TranslationPipeline)
    result = translator("Ce cours est produit par Hugging Face.")
    assert isinstance(result, list) and len(result) == 1
    assert set(result[0]) == {"translation_text"} and result[0]["translation_text"].strip()
    # the notes' own call: task "translation" with the model named
    same = pipeline("translation", model="Helsinki-NLP/opus-mt-fr-en", device="cpu")
    assert same("Ce cours est produit par Hugging Face.") == result


def test_batch_size_gives_the_same_results(question_answerer, translator):
    inputs = [{"question": q, "context": c} for q, c in NOTES_QA]
    one_by_one = [question_answerer(item) for item in inputs]
    batched = question_answerer(inputs, batch_size=4)
    assert [(a["start"], a["end"], a["answer"]) for a in batched] == [
        (a["start"], a["end"], a["answer"]) for a in one_by_one
    ]
    assert [a["score"] for a in batched] == pytest.approx(
        [a["score"] for a in one_by_one], abs=1e-5
    )
    texts = ["Ce cours est produit par Hugging Face.", "Mon poids est trop élevé."]
    singles = [translator(t, max_new_tokens=8)[0] for t in texts]
    assert translator(texts, batch_size=2, max_new_tokens=8) == singles


def test_other_tasks_go_to_transformers_with_the_course_models(capsys):
    generator = pipeline("text-generation")
    assert "defaulted to openai-community/gpt2" in capsys.readouterr().out
    assert isinstance(generator, transformers.TextGenerationPipeline)
    assert generator.model.config.model_type == "gpt2"  # not transformers 5's SmolLM3-3B
    classifier = pipeline("sentiment-analysis")
    assert classifier("I've been waiting for a HuggingFace course my whole life.")[0]["label"] in {
        "NEGATIVE",
        "POSITIVE",
    }
    small = pipeline("text-generation", model="distilgpt2")  # a catalog alias
    assert small.model.config.model_type == "gpt2"
    assert small("In this course", max_new_tokens=3, do_sample=False)[0]["generated_text"]


def test_unknown_task_lists_the_valid_ones():
    with pytest.raises(UnknownTaskError) as err:
        pipeline("question-answer")
    message = str(err.value)
    assert "Did you mean 'question-answering'" in message
    for task in ("summarization", "translation_xx_to_yy", "sentiment-analysis", "ner"):
        assert task in message
    assert isinstance(err.value, ValueError)
    with pytest.raises(UnknownTaskError):
        pipeline("")


def test_task_names_accepted():
    for task in ("translation_en_to_de", "text2text-generation", "ner", "image-classification"):
        assert check_task(task) == task


def test_no_course_default_asks_for_a_model():
    with pytest.raises(ValueError, match="model='Helsinki-NLP/opus-mt-en-de'"):
        pipeline("translation_en_to_de")


def test_too_large_model_is_refused_before_loading():
    with pytest.raises(ModelTooLargeError, match="Nothing was downloaded"):
        pipeline("text-generation", model="alpindale/WizardLM-2-8x22B")


def test_device_comes_from_pick_device(monkeypatch):
    calls = []

    def fake_pick_device(preferred=None):
        calls.append(preferred)
        return torch.device("cpu")

    monkeypatch.setattr("course_utils.models.device.pick_device", fake_pick_device)
    pipe = pipeline("translation_fr_to_en")
    assert calls and pipe.device.type == "cpu"


def test_wrong_model_family_is_a_clear_error():
    with pytest.raises(CourseError, match="encoder-decoder model") as err:
        pipeline("summarization", model="distilgpt2", device="cpu")
    assert "distilgpt2 is not one" in str(err.value)  # the name given, not the stand-in's folder
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({"dtype": "fp16"}, torch.float16),
        ({"dtype": "bf16"}, torch.bfloat16),
        ({"torch_dtype": "half"}, torch.float16),
        ({"model_kwargs": {"dtype": "bf16"}}, torch.bfloat16),
        ({"dtype": "torch.float32"}, torch.float32),
    ],
    ids=["fp16", "bf16", "torch_dtype-half", "model_kwargs-bf16", "torch.float32"],
)
def test_dtype_aliases_reach_the_load_as_torch_dtypes(kwargs, expected):
    """Issue #23 item 6: the memory check accepts "fp16", and so does the load."""
    generator = pipeline("text-generation", model="distilgpt2", device="cpu", **kwargs)
    assert generator.model.dtype == expected
    assert kwargs.get("model_kwargs", {}).get("dtype") in (None, "bf16")  # the caller's dict


def test_dtype_aliases_reach_the_restored_pipelines_too():
    summarizer = pipeline("summarization", device="cpu", model_kwargs={"torch_dtype": "bf16"})
    assert summarizer.model.dtype == torch.bfloat16


def test_a_quantized_dtype_asks_for_a_quantization_config(monkeypatch):
    from course_utils.models.memory import DtypeError

    monkeypatch.setattr("course_utils.models.resolve.locate", pytest.fail)
    with pytest.raises(DtypeError, match="quantization_config.*BitsAndBytesConfig"):
        pipeline("text-generation", model="distilgpt2", dtype="int8")


@pytest.mark.parametrize("device", [-1, "cpu", torch.device("cpu")])
def test_the_cpu_as_transformers_names_it(device):
    classifier = pipeline("sentiment-analysis", device=device)
    assert classifier.device == torch.device("cpu")


def test_an_already_loaded_model_is_accepted(question_answerer):
    pipe = pipeline(
        "question-answering",
        model=question_answerer.model,
        tokenizer=question_answerer.tokenizer,
        device=question_answerer.device,  # the model object is shared: keep it where it is
    )
    question, context = NOTES_QA[0]
    assert pipe(question=question, context=context) == question_answerer(
        question=question, context=context
    )


def test_memory_check_runs_before_the_checkpoint_is_located(monkeypatch):
    # The same wiring online: the catalog name is checked, then located, then loaded.
    from course_utils.models import resolve as checkpoints

    events = []
    folder = str(Path(__file__).parent / "fixtures" / "restored" / "bart")
    monkeypatch.setattr(
        "course_utils.models.fit.ensure_fits",
        lambda model, **kw: events.append(("ensure_fits", model.real_name, kw["dtype"])),
    )
    monkeypatch.setattr(
        "course_utils.models.resolve.locate",
        lambda name: (
            events.append(("locate", name.real_name)) or checkpoints.Checkpoint(name, folder, "hub")
        ),
    )
    summarizer = pipeline("summarization", dtype=torch.bfloat16, device="cpu")
    assert events == [
        ("ensure_fits", "sshleifer/distilbart-cnn-12-6", "bfloat16"),
        ("locate", "sshleifer/distilbart-cnn-12-6"),
    ]
    assert summarizer.model.name_or_path == folder
    assert summarizer.model.dtype == torch.bfloat16


def test_offline_memory_check_is_about_the_real_model_not_its_stand_in(monkeypatch):
    """Offline, the verdict uses the catalog's numbers of the real checkpoint, whether the
    pipeline is given the catalog name or the stand-in's folder."""
    from course_utils import catalog
    from course_utils.models import memory

    real = catalog.find("sshleifer/distilbart-cnn-12-6")
    checked = []
    original = memory.check_fits
    monkeypatch.setattr(
        memory,
        "check_fits",
        lambda estimate, **kw: checked.append(estimate) or original(estimate, **kw),
    )
    summarizer = pipeline("summarization", device="cpu")
    stand_in_folder = summarizer.model.name_or_path
    pipeline("summarization", model=stand_in_folder, device="cpu")
    assert [e.num_parameters for e in checked] == [real.approx_parameters] * 2
    assert [e.model for e in checked] == [real.hub_id] * 2
    assert summarizer.model.num_parameters() < real.approx_parameters / 100  # the tiny stand-in
