"""The zh-CN edition's Chinese checkpoints: catalog numbers and offline stand-ins.

conftest.py runs the session offline with a throwaway COURSE_CACHE, so every stand-in here is
built from scratch by the code under test, then loaded with the real Auto classes and pipelines.
"""

import re

import pytest
from transformers import AutoConfig, AutoModelForMaskedLM, AutoTokenizer, pipeline

import course_utils
from course_utils import catalog, estimate_memory, resolve_checkpoint
from course_utils.standins import store as standins
from course_utils.standins import tokenizers as standin_tokenizers

BERT_CHINESE = "google-bert/bert-base-chinese"
SENTIMENT = "uer/roberta-base-finetuned-jd-binary-chinese"
ZH_EN = "Helsinki-NLP/opus-mt-zh-en"
CHINESE_MODELS = (BERT_CHINESE, SENTIMENT, ZH_EN)
JD_LABELS = {0: "negative (stars 1, 2 and 3)", 1: "positive (stars 4 and 5)"}
# Chapter 2 compares tokenizers on these sentences; they must stay unseen by the stand-ins.
CHAPTER2_HELD_OUT = (
    "学生们在等一门关于分词器的新课程。",
    "天气不好的时候我讨厌在公园里跑步。",
    "这个模型读没有空格的中文文本。",
)
CJK = re.compile(r"[\u3400-\u9fff]")


def local(name):
    return resolve_checkpoint(name, announce=False)


# --- the catalog ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", CHINESE_MODELS)
def test_catalog_numbers_agree_with_the_stored_config(name):
    entry = catalog.find(name)
    estimate = estimate_memory(name, dtype="auto")
    assert estimate.architecture == entry.model_class
    assert estimate.num_parameters == entry.approx_parameters
    # The download is the weights file plus a few MB of tokenizer and config files.
    assert estimate.weights_bytes <= entry.download_bytes <= 1.05 * estimate.weights_bytes


def test_catalog_keeps_the_real_architecture_numbers():
    bert = catalog.find("bert-base-chinese").config
    assert (bert["vocab_size"], bert["hidden_size"], bert["num_hidden_layers"]) == (21128, 768, 12)
    sentiment = catalog.find(SENTIMENT).config
    assert sentiment["vocab_size"] == bert["vocab_size"]  # the bert-base-chinese vocabulary
    assert sentiment["id2label"] == JD_LABELS
    marian = catalog.find("opus-mt-zh-en").config
    assert marian["pad_token_id"] == marian["decoder_start_token_id"] == marian["vocab_size"] - 1


def test_zh_cn_checkpoints_are_listed_for_their_edition_only():
    for chapter in range(4):
        assert not set(CHINESE_MODELS) & {e.hub_id for e in catalog.for_chapter(chapter)}
    assert {e.hub_id for e in catalog.for_edition("zh-CN", 1)} == set(CHINESE_MODELS)
    assert [e.hub_id for e in catalog.for_edition("zh-CN", 3)] == [BERT_CHINESE]
    assert catalog.for_edition("zh-CN", 0) == []
    assert catalog.for_edition("fr", 1) == []


# --- the corpus ----------------------------------------------------------------------------


def test_chinese_corpus_is_its_own_section():
    chinese = standin_tokenizers.corpus("zh")
    assert 50 <= len(chinese) <= 300
    assert all(CJK.search(line) for line in chinese)
    # The English edition's stand-ins are trained on English and French only.
    assert not any(CJK.search(line) for line in standin_tokenizers.corpus())
    assert not set(CHAPTER2_HELD_OUT) & set(chinese)


# --- bert-base-chinese: character-level WordPiece ------------------------------------------


@pytest.fixture(scope="module")
def bert_tokenizer():
    return AutoTokenizer.from_pretrained(local(BERT_CHINESE))


def test_special_tokens_have_the_real_ids(bert_tokenizer):
    assert type(bert_tokenizer).__name__ == "BertTokenizer"
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert bert_tokenizer.convert_tokens_to_ids(special) == [0, 100, 101, 102, 103]
    assert bert_tokenizer.model_max_length == 512


@pytest.mark.parametrize("sentence", ["我一辈子都在等这样一门课程。", *CHAPTER2_HELD_OUT])
def test_chinese_text_is_split_character_by_character(bert_tokenizer, sentence):
    assert bert_tokenizer.tokenize(sentence) == list(sentence)
    ids = bert_tokenizer(sentence)["input_ids"]
    assert ids[0] == 101 and ids[-1] == 102 and len(ids) == len(sentence) + 2
    assert bert_tokenizer.decode(ids, skip_special_tokens=True).replace(" ", "") == sentence


def test_an_unknown_character_costs_one_token_not_the_word(bert_tokenizer):
    unknown = next(chr(c) for c in range(0x9FA5, 0x4E00, -1) if chr(c) not in bert_tokenizer.vocab)
    assert bert_tokenizer.tokenize(f"我爱{unknown}。") == ["我", "爱", "[UNK]", "。"]


def test_every_character_of_the_chinese_corpus_is_in_the_vocabulary(bert_tokenizer):
    characters = {c for line in standin_tokenizers.corpus("zh") for c in line if CJK.match(c)}
    assert characters <= set(bert_tokenizer.vocab)


def test_a_sentence_pair_gets_segment_ids(bert_tokenizer):
    first, second = "我喜欢这门课程。", "这门课程我很喜欢。"
    encoded = bert_tokenizer(first, second)
    tokens = bert_tokenizer.convert_ids_to_tokens(encoded["input_ids"])
    assert tokens == ["[CLS]", *first, "[SEP]", *second, "[SEP]"]
    assert encoded["token_type_ids"] == [0] * (len(first) + 2) + [1] * (len(second) + 1)


def test_fill_mask_predicts_one_character_at_the_mask():
    unmasker = pipeline("fill-mask", model=resolve_checkpoint("bert-base-chinese", announce=False))
    assert type(unmasker.model).__name__ == "BertForMaskedLM"
    results = unmasker("巴黎是[MASK]国的首都。", top_k=3)
    assert len(results) == 3
    for result in results:
        assert set(result) == {"score", "token", "token_str", "sequence"}
        assert result["sequence"].replace(" ", "") == f"巴黎是{result['token_str']}国的首都。"
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)


def test_masked_lm_loads_with_the_auto_class():
    model = AutoModelForMaskedLM.from_pretrained(local(BERT_CHINESE))
    assert type(model).__name__ == "BertForMaskedLM"
    assert model.num_parameters() < catalog.find(BERT_CHINESE).approx_parameters / 100


# --- the Chinese sentiment classifier -------------------------------------------------------


def test_sentiment_pipeline_returns_the_real_label_names():
    checkpoint = local(SENTIMENT)
    config = AutoConfig.from_pretrained(checkpoint)
    assert config.architectures == ["BertForSequenceClassification"]
    assert config.id2label == JD_LABELS
    classifier = pipeline("sentiment-analysis", model=checkpoint)
    results = classifier(["这家饭店的菜又好吃又便宜。", "物流太慢了，等了十天才到。"])
    assert len(results) == 2
    for result in results:
        assert result["label"] in JD_LABELS.values()
        assert 0.5 <= result["score"] <= 1.0
    # The same Chinese vocabulary as bert-base-chinese, as the real checkpoints share.
    vocab = AutoTokenizer.from_pretrained(checkpoint).get_vocab()
    assert vocab == AutoTokenizer.from_pretrained(local(BERT_CHINESE)).get_vocab()


# --- opus-mt-zh-en --------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:Recommended. pip install sacremoses")
def test_zh_en_translation_pipeline_writes_english():
    translator = course_utils.pipeline("translation", model=local(ZH_EN))
    tokenizer, model = translator.tokenizer, translator.model
    assert type(tokenizer).__name__ == "MarianTokenizer"
    assert type(model).__name__ == "MarianMTModel"
    pad = tokenizer.pad_token_id
    assert pad == len(tokenizer) - 1 == model.config.decoder_start_token_id
    assert tokenizer.convert_tokens_to_ids(["</s>", "<unk>"]) == [0, 1]
    settings = model.generation_config
    assert (settings.num_beams, settings.bad_words_ids, settings.eos_token_id) == (4, [[pad]], 0)
    # Source side: Chinese SentencePiece pieces; target side: English text round-trips.
    pieces = tokenizer.tokenize("这门课程是由 Hugging Face 制作的。")
    assert pieces[0].startswith("▁") and CJK.search("".join(pieces))
    labels = tokenizer(text_target="This course is produced by Hugging Face.")["input_ids"]
    assert tokenizer.decode(labels, skip_special_tokens=True) == (
        "This course is produced by Hugging Face."
    )
    result = translator("这门课程是由 Hugging Face 制作的。", max_new_tokens=8)
    assert [set(r) for r in result] == [{"translation_text"}]
    text = result[0]["translation_text"]
    assert isinstance(text, str) and text and not CJK.search(text)


# --- built the same way every time ----------------------------------------------------------


def test_building_is_deterministic(monkeypatch, tmp_path):
    names = ("bert-base-chinese", SENTIMENT, "opus-mt-zh-en")
    files = []
    for run in ("a", "b"):
        monkeypatch.setenv("COURSE_CACHE", str(tmp_path / run))
        for name in names:
            standins.build_standin(name)
        files.append({name: standins.read_marker(name)["files"] for name in names})
    assert files[0] == files[1]
