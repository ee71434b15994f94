"""Tiny configs in each model family the course uses (32 wide, 2 heads, 2 layers by default).

The offline stand-ins and the test fixtures recorded under transformers 4.x
(``tests/fixtures/restored/make_reference.py``) are built from these, so both stay in the same
shape. This module imports nothing of ``course_utils`` and only transformers' config classes,
which exist in 4.x and 5.x alike: the 4.x script loads it by its file path.
"""

from __future__ import annotations

WIDTH = 32
HEADS = 2
FFN = 64

# family: (config class, width / heads / ffn / layers parameter names, max positions)
_FAMILIES = {
    "bert": ("BertConfig", "hidden_size", "num_attention_heads", "intermediate_size", 512),
    "roberta": ("RobertaConfig", "hidden_size", "num_attention_heads", "intermediate_size", 514),
    "distilbert": ("DistilBertConfig", "dim", "n_heads", "hidden_dim", 512),
    "gpt2": ("GPT2Config", "n_embd", "n_head", None, 1024),
    "llama": ("LlamaConfig", "hidden_size", "num_attention_heads", "intermediate_size", 8192),
    "bart": ("BartConfig", "d_model", None, None, 1024),
    "marian": ("MarianConfig", "d_model", None, None, 512),
}
_LAYERS = {
    "bert": "num_hidden_layers",
    "roberta": "num_hidden_layers",
    "distilbert": "n_layers",
    "gpt2": "n_layer",
    "llama": "num_hidden_layers",
}
_POSITIONS = {"gpt2": "n_positions"}


def families() -> tuple[str, ...]:
    return tuple(_FAMILIES)


def tiny_config(family: str, vocab_size: int, layers: int = 2, **overrides):
    """A tiny config of ``family``; ``overrides`` set any other config field.

    Encoder-decoders (``bart``, ``marian``) get ``layers`` encoder and decoder layers unless
    ``encoder_layers`` / ``decoder_layers`` are given.
    """
    import transformers

    if family not in _FAMILIES:
        raise ValueError(f"unknown family {family!r}: one of {', '.join(_FAMILIES)}")
    class_name, width, heads, ffn, positions = _FAMILIES[family]
    fields = {
        "vocab_size": vocab_size,
        width: WIDTH,
        _POSITIONS.get(family, "max_position_embeddings"): positions,
    }
    if family in ("bart", "marian"):
        for side in ("encoder", "decoder"):
            fields[f"{side}_layers"] = layers
            fields[f"{side}_attention_heads"] = HEADS
            fields[f"{side}_ffn_dim"] = FFN
    else:
        fields[_LAYERS[family]] = layers
        fields[heads] = HEADS
        if ffn is not None:
            fields[ffn] = FFN
    fields.update(overrides)
    return getattr(transformers, class_name)(**fields)
