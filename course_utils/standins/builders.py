"""One builder per kind of stand-in: a tokenizer of the real family and a tiny random model.

A catalog entry names its builder (``CatalogEntry.standin.builder``); the builder writes a
folder that ``from_pretrained`` loads like the real checkpoint: same model class, special
tokens, label maps and generation settings. Weights are random (the caller fixes the seed),
except ``minilm_bert``, which copies the real pretrained all-MiniLM-L6-v2 BERT.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from course_utils.catalog import CatalogEntry
from course_utils.standins import tokenizers as tok
from course_utils.standins.tiny import tiny_config

# The real opus-mt models have 512: they end a translation with </s> long before it; random
# weights never do, and 512 steps of beam search would take some 20 s here.
MARIAN_MAX_LENGTH = 32


def _save(model, folder: Path) -> None:
    model.eval()
    model.save_pretrained(folder, safe_serialization=True)


def _labels(entry: CatalogEntry) -> dict:
    id2label = entry.config.get("id2label")
    if not id2label:
        return {}
    id2label = {int(k): v for k, v in id2label.items()}
    return {"id2label": id2label, "label2id": {v: k for k, v in id2label.items()}}


def _special_ids(tokenizer) -> dict:
    return {
        "pad_token_id": tokenizer.pad_token_id,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
    }


def minilm_bert(folder: Path, entry: CatalogEntry) -> None:
    """The real pretrained all-MiniLM-L6-v2 BERT, which has the bert-base-uncased vocabulary."""
    from transformers import BertTokenizer

    source = tok.minilm_folder()
    config = json.loads((source / "config.json").read_text())
    for key in ("_name_or_path", "gradient_checkpointing", "transformers_version"):
        config.pop(key, None)
    (folder / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True))
    # A copy, not a link: damage to the cache must never reach the installed package.
    shutil.copyfile(source / "model.safetensors", folder / "model.safetensors")
    tok.uncased_wordpiece(BertTokenizer, folder)


def wordpiece_encoder(folder: Path, entry: CatalogEntry, vocabulary: str = "cased") -> None:
    """A BERT or DistilBERT of the entry's model class, with a WordPiece tokenizer.

    ``vocabulary="uncased"`` uses the real bert-base-uncased vocabulary (the course's token
    ids); ``"cased"`` a cased vocabulary counted from the corpus. Label maps come from the entry.
    """
    import transformers

    tokenizer_cls = (
        transformers.BertTokenizer if entry.family == "bert" else (transformers.DistilBertTokenizer)
    )
    make_tokenizer = tok.uncased_wordpiece if vocabulary == "uncased" else tok.cased_wordpiece
    tokenizer = make_tokenizer(tokenizer_cls, folder)
    config = tiny_config(
        entry.family, len(tokenizer), pad_token_id=tokenizer.pad_token_id, **_labels(entry)
    )
    _save(getattr(transformers, entry.model_class)(config), folder)


def distilroberta(folder: Path, entry: CatalogEntry) -> None:
    from transformers import RobertaForMaskedLM, RobertaTokenizer

    tokenizer = tok.byte_level_bpe(RobertaTokenizer, folder, model_max_length=512)
    config = tiny_config("roberta", len(tokenizer), type_vocab_size=1, **_special_ids(tokenizer))
    _save(RobertaForMaskedLM(config), folder)


def gpt2(folder: Path, entry: CatalogEntry, n_layer: int = 2) -> None:
    """GPT-2 family; ``n_layer`` keeps the real ratio (distilgpt2 has half of gpt2's layers)."""
    from transformers import GPT2LMHeadModel, GPT2Tokenizer

    tokenizer = tok.byte_level_bpe(GPT2Tokenizer, folder)
    eos = tokenizer.eos_token_id
    config = tiny_config("gpt2", len(tokenizer), n_layer, bos_token_id=eos, eos_token_id=eos)
    _save(GPT2LMHeadModel(config), folder)


def smollm2(folder: Path, entry: CatalogEntry) -> None:
    from transformers import GenerationConfig, LlamaForCausalLM

    tokenizer = tok.chatml_bpe(folder)
    ids = _special_ids(tokenizer)
    # Real ratios: 15 query heads share 5 key/value heads; embeddings tied.
    config = tiny_config(
        "llama",
        len(tokenizer),
        hidden_size=48,
        intermediate_size=128,
        num_attention_heads=3,
        num_key_value_heads=1,
        rope_theta=100000.0,
        tie_word_embeddings=True,
        **ids,
    )
    model = LlamaForCausalLM(config)
    # Random weights pick one token over and over; when it is a newline, a reply prints as dozens of
    # blank lines. The stand-in never generates whitespace-only tokens, so its noise stays visible.
    blank = [i for i in range(len(tokenizer)) if not tokenizer.decode([i]).strip()]
    blank = [i for i in blank if i not in tokenizer.all_special_ids]
    model.generation_config = GenerationConfig(**ids, suppress_tokens=blank)
    _save(model, folder)


def _tiny_bart(tokenizer, encoder_layers: int, decoder_layers: int, **kwargs):
    return tiny_config(
        "bart",
        len(tokenizer),
        encoder_layers=encoder_layers,
        decoder_layers=decoder_layers,
        decoder_start_token_id=tokenizer.eos_token_id,
        **_special_ids(tokenizer),
        **kwargs,
    )


def bart_mnli(folder: Path, entry: CatalogEntry) -> None:
    from transformers import BartForSequenceClassification, BartTokenizer

    tokenizer = tok.byte_level_bpe(BartTokenizer, folder)
    config = _tiny_bart(tokenizer, 1, 1, **_labels(entry))
    _save(BartForSequenceClassification(config), folder)


def distilbart_cnn(folder: Path, entry: CatalogEntry) -> None:
    from transformers import BartForConditionalGeneration, BartTokenizer, GenerationConfig

    tokenizer = tok.byte_level_bpe(BartTokenizer, folder)
    config = _tiny_bart(tokenizer, 2, 1)  # the real one has 12 encoder and 6 decoder layers
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
    _save(model, folder)


def chinese_wordpiece_encoder(folder: Path, entry: CatalogEntry) -> None:
    """A BERT of the entry's model class with bert-base-chinese's character-level WordPiece
    (the vocabulary the bert-base-chinese family shares); label maps come from the entry."""
    import transformers

    tokenizer = tok.chinese_wordpiece(transformers.BertTokenizer, folder)
    config = tiny_config(
        "bert", len(tokenizer), pad_token_id=tokenizer.pad_token_id, **_labels(entry)
    )
    _save(getattr(transformers, entry.model_class)(config), folder)


def marian_mt(
    folder: Path,
    entry: CatalogEntry,
    source: str = "fr",
    target: str = "en",
    source_lang: str | None = None,
    target_lang: str | None = None,
) -> None:
    """An opus-mt Marian model for the corpus sections ``source`` -> ``target``.

    ``source_lang`` / ``target_lang`` are what the real tokenizer_config.json records (for
    opus-mt-zh-en: ``zho`` and ``eng``). Special ids and generation settings are the real
    opus-mt ones (``</s>`` = 0, ``<pad>`` last, four beams), except ``max_length``: see
    :data:`MARIAN_MAX_LENGTH`.
    """
    from transformers import GenerationConfig, MarianMTModel, MarianTokenizer

    vocab = tok.marian_sentencepiece(folder, source=tok.corpus(source), target=tok.corpus(target))
    tokenizer = MarianTokenizer(
        str(folder / "source.spm"),
        str(folder / "target.spm"),
        str(folder / "vocab.json"),
        source_lang=source_lang or source,
        target_lang=target_lang or target,
        model_max_length=512,
    )
    tokenizer.save_pretrained(folder)
    pad, eos = vocab["<pad>"], vocab["</s>"]
    config = tiny_config(
        "marian",
        len(vocab),
        layers=1,
        pad_token_id=pad,
        eos_token_id=eos,
        bos_token_id=eos,
        forced_eos_token_id=eos,
        decoder_start_token_id=pad,
        scale_embedding=True,
        activation_function="swish",
    )
    model = MarianMTModel(config)
    _write_target_side_only(model, folder, vocab)
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
    _save(model, folder)


def _write_target_side_only(model, folder: Path, vocab: dict[str, int]) -> None:
    """Random weights would write pieces of either language (the vocabulary is shared); a
    large negative ``final_logits_bias`` on source-only pieces keeps the output in the target
    language, as a trained model's is (a zh->en stand-in writes English-looking text)."""
    import sentencepiece as spm
    import torch

    target = spm.SentencePieceProcessor(model_file=str(folder / "target.spm"))
    pieces = {target.id_to_piece(i) for i in range(target.get_piece_size())}
    source_only = [i for piece, i in vocab.items() if piece not in pieces and piece != "<pad>"]
    with torch.no_grad():
        model.final_logits_bias[0, source_only] = -100.0


BUILDERS: dict[str, Callable[..., None]] = {
    builder.__name__: builder
    for builder in (
        minilm_bert,
        wordpiece_encoder,
        distilroberta,
        gpt2,
        smollm2,
        bart_mnli,
        distilbart_cnn,
        chinese_wordpiece_encoder,
        marian_mt,
    )
}


def build(folder: Path, entry: CatalogEntry) -> None:
    """Write the stand-in of ``entry`` into ``folder``."""
    spec = entry.standin
    BUILDERS[spec.builder](folder, entry, **dict(spec.options))
