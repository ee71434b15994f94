"""Train word, character and subword tokenizers side by side and compare them.

Chapter 2 explains three families of tokenizers; this module trains one of each (plus the three
subword algorithms: BPE, WordPiece, Unigram) with the ``tokenizers`` library on the same small
corpus, in well under a second, so their vocabulary size, token counts and unknown-token rates
can be compared on sentences they have not seen.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers

UNK_TOKEN = "[UNK]"
SPECIAL_TOKENS = (UNK_TOKEN, "[PAD]")
KINDS = ("word", "character", "bpe", "wordpiece", "unigram")
DESCRIPTIONS = {
    "word": "word-based: split on spaces and punctuation",
    "character": "character-based: every character is a token",
    "bpe": "subword, byte-pair encoding (GPT-2)",
    "wordpiece": "subword, WordPiece (BERT)",
    "unigram": "subword, Unigram (SentencePiece, multilingual models)",
}
CORPUS_FILE = "tokenizer_corpus.txt"


def load_corpus(path: str | Path | None = None) -> list[str]:
    """Sentences of a corpus file (one a line; blank lines and ``#`` comments skipped).

    Without ``path``, the bilingual English/Chinese corpus shipped with ``course_utils``.
    """
    if path is None:
        text = resources.files("course_utils").joinpath("data", CORPUS_FILE).read_text("utf-8")
    else:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(
                f"No corpus file at {path}. Pass a text file with one sentence per line, "
                "or call load_corpus() without arguments for the course's corpus."
            )
        text = path.read_text("utf-8")
    lines = [line.strip() for line in text.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def _check_corpus(corpus: Iterable[str]) -> list[str]:
    if isinstance(corpus, str):
        raise TypeError(
            "corpus must be a list of sentences, not one string: wrap it in a list or use "
            "load_corpus()."
        )
    sentences = [s for s in corpus if isinstance(s, str) and s.strip()]
    if not sentences:
        raise ValueError("corpus is empty: pass at least one non-blank sentence.")
    return sentences


def train_tokenizer(kind: str, corpus: Iterable[str], vocab_size: int = 400) -> Tokenizer:
    """Train one tokenizer of ``kind`` (one of :data:`KINDS`) on ``corpus``.

    ``vocab_size`` applies to the subword kinds only: word- and character-based tokenizers keep
    every word or character seen in the corpus, so their size is set by the data.
    """
    if kind not in KINDS:
        raise ValueError(f"Unknown tokenizer kind {kind!r}: choose one of {', '.join(KINDS)}.")
    sentences = _check_corpus(corpus)
    if kind in ("bpe", "wordpiece", "unigram") and vocab_size < len(SPECIAL_TOKENS) + 1:
        raise ValueError(f"vocab_size={vocab_size} is too small: use at least a few hundred.")
    special = list(SPECIAL_TOKENS)
    # Word and subword kinds split on spaces and punctuation first (the Whitespace pre-tokenizer:
    # \w+|[^\w\s]+). Chinese has no spaces, so a whole Chinese clause arrives as one "word".
    split_words = pre_tokenizers.Whitespace()
    if kind == "word":
        tokenizer = Tokenizer(models.WordLevel(unk_token=UNK_TOKEN))
        tokenizer.pre_tokenizer = split_words
        trainer = trainers.WordLevelTrainer(special_tokens=special, show_progress=False)
    elif kind == "character":
        tokenizer = Tokenizer(models.WordLevel(unk_token=UNK_TOKEN))
        tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Split(Regex("."), "isolated")]
        )
        trainer = trainers.WordLevelTrainer(special_tokens=special, show_progress=False)
    elif kind == "bpe":
        tokenizer = Tokenizer(models.BPE(unk_token=UNK_TOKEN))
        tokenizer.pre_tokenizer = split_words
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size, special_tokens=special, show_progress=False
        )
    elif kind == "wordpiece":
        tokenizer = Tokenizer(models.WordPiece(unk_token=UNK_TOKEN))
        tokenizer.pre_tokenizer = split_words
        trainer = trainers.WordPieceTrainer(
            vocab_size=vocab_size, special_tokens=special, show_progress=False
        )
    else:
        # SentencePiece-style: spaces become "▁" and are part of the pieces.
        tokenizer = Tokenizer(models.Unigram())
        tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
        trainer = trainers.UnigramTrainer(
            vocab_size=vocab_size,
            special_tokens=special,
            unk_token=UNK_TOKEN,
            show_progress=False,
        )
    tokenizer.train_from_iterator(sentences, trainer)
    return tokenizer


def train_all(corpus: Iterable[str], vocab_size: int = 400) -> dict[str, Tokenizer]:
    """One tokenizer of every kind in :data:`KINDS`, all trained on the same corpus."""
    sentences = _check_corpus(corpus)
    return {kind: train_tokenizer(kind, sentences, vocab_size) for kind in KINDS}


@dataclass(frozen=True)
class TokenizerStats:
    """How one tokenizer did on the test sentences."""

    kind: str
    vocab_size: int
    tokens_per_sentence: dict[str, float]  # mean number of tokens, per group of sentences
    unk_token_rate: float  # share of produced tokens that are [UNK]
    unk_text_rate: float  # share of (non-space) characters swallowed by an [UNK]


@dataclass(frozen=True)
class ComparisonTable:
    """Rows of :class:`TokenizerStats`, printable as an aligned text table."""

    rows: tuple[TokenizerStats, ...]
    groups: tuple[str, ...]

    def row(self, kind: str) -> TokenizerStats:
        for stats in self.rows:
            if stats.kind == kind:
                return stats
        raise KeyError(f"No row {kind!r}: rows are {', '.join(s.kind for s in self.rows)}.")

    def to_text(self) -> str:
        header = ["tokenizer", "vocab"]
        header += [f"tokens/{g} sentence" for g in self.groups]
        header += ["[UNK] tokens", "text lost to [UNK]"]
        lines = [header]
        for s in self.rows:
            cells = [s.kind, str(s.vocab_size)]
            cells += [f"{s.tokens_per_sentence[g]:.1f}" for g in self.groups]
            cells += [f"{s.unk_token_rate:.0%}", f"{s.unk_text_rate:.0%}"]
            lines.append(cells)
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        out = []
        for n, cells in enumerate(lines):
            first = cells[0].ljust(widths[0])
            rest = [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
            out.append("  ".join([first, *rest]))
            if n == 0:
                out.append("  ".join("-" * w for w in widths))
        return "\n".join(out)

    def __str__(self) -> str:
        return self.to_text()


def measure(kind: str, tokenizer: Tokenizer, groups: Mapping[str, Sequence[str]]) -> TokenizerStats:
    """Token counts and unknown-token rates of ``tokenizer`` on named groups of sentences."""
    unk_id = tokenizer.token_to_id(UNK_TOKEN)
    per_group: dict[str, float] = {}
    tokens = unk_tokens = chars = unk_chars = 0
    for group, sentences in groups.items():
        if isinstance(sentences, str) or not sentences:
            raise ValueError(f"Group {group!r} must be a non-empty list of sentences.")
        encodings = tokenizer.encode_batch(list(sentences))
        per_group[group] = sum(len(e.ids) for e in encodings) / len(encodings)
        for sentence, enc in zip(sentences, encodings, strict=True):
            tokens += len(enc.ids)
            chars += sum(not c.isspace() for c in sentence)
            for token_id, (start, end) in zip(enc.ids, enc.offsets, strict=True):
                if token_id == unk_id:
                    unk_tokens += 1
                    unk_chars += sum(not c.isspace() for c in sentence[start:end])
    return TokenizerStats(
        kind=kind,
        vocab_size=tokenizer.get_vocab_size(),
        tokens_per_sentence=per_group,
        unk_token_rate=unk_tokens / tokens if tokens else 0.0,
        unk_text_rate=unk_chars / chars if chars else 0.0,
    )


def compare_tokenizers(
    corpus: Iterable[str],
    test_sentences: Mapping[str, Sequence[str]],
    vocab_size: int = 400,
) -> tuple[ComparisonTable, dict[str, Tokenizer]]:
    """Train every kind on ``corpus`` and measure each on ``test_sentences``.

    ``test_sentences`` maps a group name (e.g. ``"English"``, ``"Chinese"``) to sentences the
    tokenizers have not seen. Returns the comparison table and the trained tokenizers.
    """
    if not isinstance(test_sentences, Mapping) or not test_sentences:
        raise TypeError(
            'test_sentences must be a dict of named sentence lists, e.g. {"English": [...]}.'
        )
    trained = train_all(corpus, vocab_size)
    rows = tuple(measure(kind, tok, test_sentences) for kind, tok in trained.items())
    return ComparisonTable(rows=rows, groups=tuple(test_sentences)), trained
