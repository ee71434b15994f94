"""Tests for course_utils.tokenizer_lab: tokenizers trained side by side on one corpus."""

import pytest

from course_utils.tokenizer_lab import (
    KINDS,
    UNK_TOKEN,
    compare_tokenizers,
    load_corpus,
    train_all,
    train_tokenizer,
)

CORPUS = [
    "the cat sat on the mat",
    "the dog sat on the log",
    "cats and dogs are running",
    "猫坐在垫子上。",
    "狗坐在木头上。",
]


def test_shipped_corpus_is_bilingual_and_skips_comments():
    corpus = load_corpus()
    assert len(corpus) >= 24
    assert not any(line.startswith("#") for line in corpus)
    assert any(any("\u4e00" <= ch <= "\u9fff" for ch in line) for line in corpus)
    assert any(line.isascii() for line in corpus)


def test_load_corpus_from_file(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("# comment\n\nfirst line\n  second line  \n", encoding="utf-8")
    assert load_corpus(path) == ["first line", "second line"]


def test_load_corpus_missing_file_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="one sentence per line"):
        load_corpus(tmp_path / "nope.txt")


def test_word_tokenizer_splits_on_spaces_and_unknown_words_become_unk():
    tok = train_tokenizer("word", CORPUS)
    assert tok.encode("the cat sat").tokens == ["the", "cat", "sat"]
    assert tok.encode("the bird sat").tokens == ["the", UNK_TOKEN, "sat"]
    # No spaces in Chinese: a whole clause is one "word", unseen as a whole -> one [UNK].
    assert tok.encode("猫坐在木头上。").tokens == [UNK_TOKEN, "。"]


def test_character_tokenizer_gives_one_token_per_non_space_character():
    tok = train_tokenizer("character", CORPUS)
    sentence = "the dog sat on the mat"
    assert tok.encode(sentence).tokens == [c for c in sentence if c != " "]
    assert tok.encode("狗坐在垫子上。").tokens == list("狗坐在垫子上。")
    # Vocabulary: the distinct characters of the corpus plus the special tokens.
    distinct = {c for line in CORPUS for c in line if c != " "}
    assert tok.get_vocab_size() == len(distinct) + 2


@pytest.mark.parametrize("kind", ["bpe", "wordpiece", "unigram"])
def test_subword_tokenizers_cover_the_training_text_without_unk(kind):
    tok = train_tokenizer(kind, CORPUS, vocab_size=60)
    for sentence in CORPUS:
        assert UNK_TOKEN not in tok.encode(sentence).tokens
    # A new word made of known pieces is split, not lost.
    tokens = tok.encode("dogs sat").tokens
    assert UNK_TOKEN not in tokens


def test_bpe_respects_the_requested_vocab_size():
    small = train_tokenizer("bpe", CORPUS, vocab_size=40)
    large = train_tokenizer("bpe", CORPUS, vocab_size=80)
    assert small.get_vocab_size() < large.get_vocab_size() <= 80
    sentence = "the cat sat on the mat"
    assert len(large.encode(sentence).ids) < len(small.encode(sentence).ids)


def test_train_all_returns_every_kind():
    assert list(train_all(CORPUS, vocab_size=60)) == list(KINDS)


def test_comparison_table_measures_counts_and_unknown_rates():
    tests = {"English": ["the cat sat on the log"], "Chinese": ["猫坐在木头上。"]}
    table, tokenizers = compare_tokenizers(CORPUS, tests, vocab_size=60)
    assert [row.kind for row in table.rows] == list(KINDS)
    char = table.row("character")
    assert char.tokens_per_sentence == {"English": 17.0, "Chinese": 7.0}
    assert char.unk_token_rate == 0.0
    word = table.row("word")
    # English: 6 known words; Chinese: the clause is one [UNK] plus "。" -> 1 of 8 tokens is [UNK].
    assert word.tokens_per_sentence == {"English": 6.0, "Chinese": 2.0}
    assert word.unk_token_rate == pytest.approx(1 / 8)
    # ...but that [UNK] swallowed 6 of the 24 non-space characters.
    assert word.unk_text_rate == pytest.approx(6 / 24)
    assert tokenizers["word"].get_vocab_size() == word.vocab_size
    text = str(table)
    assert "tokens/Chinese sentence" in text and "wordpiece" in text


def test_unseen_character_counts_as_unknown_text():
    table, _ = compare_tokenizers(CORPUS, {"x": ["猫z"]}, vocab_size=60)
    char = table.row("character")
    assert char.unk_token_rate == pytest.approx(1 / 2)
    assert char.unk_text_rate == pytest.approx(1 / 2)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: train_tokenizer("sentencepiece", CORPUS), ValueError, "choose one of"),
        (lambda: train_tokenizer("bpe", [], 100), ValueError, "corpus is empty"),
        (lambda: train_tokenizer("bpe", "one string", 100), TypeError, "list of sentences"),
        (lambda: train_tokenizer("bpe", CORPUS, vocab_size=1), ValueError, "too small"),
        (lambda: compare_tokenizers(CORPUS, ["a"]), TypeError, "dict of named"),
        (lambda: compare_tokenizers(CORPUS, {"en": []}), ValueError, "non-empty list"),
    ],
)
def test_bad_input_gets_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()
