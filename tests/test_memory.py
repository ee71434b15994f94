"""Memory figures from published architecture numbers, written here (not read from the catalog)."""

import json

import pytest
from transformers import BertConfig, GPT2Config, MistralConfig, MixtralConfig

from course_utils.models import memory
from course_utils.models.config import ConfigUnavailableError
from course_utils.models.fit import ensure_fits, estimate_memory
from course_utils.models.memory import ModelTooLargeError, check_fits

GIB = 1024**3

# Mixtral-8x22B-v0.1 config.json (what WizardLM-2-8x22B is built on).
MIXTRAL_8X22B = dict(
    vocab_size=32000,
    hidden_size=6144,
    intermediate_size=16384,
    num_hidden_layers=56,
    num_attention_heads=48,
    num_key_value_heads=8,
    num_local_experts=8,
    num_experts_per_tok=2,
    max_position_embeddings=65536,
    rope_theta=1e6,
    architectures=["MixtralForCausalLM"],
)
# Mistral-7B-v0.1 config.json (what WizardLM-2-7B is built on).
MISTRAL_7B = dict(
    vocab_size=32000,
    hidden_size=4096,
    intermediate_size=14336,
    num_hidden_layers=32,
    num_attention_heads=32,
    num_key_value_heads=8,
    architectures=["MistralForCausalLM"],
)


def test_mixtral_8x22b_counts_141b_and_does_not_fit_24_gib():
    est = estimate_memory(MixtralConfig(**MIXTRAL_8X22B), dtype="bfloat16")
    assert est.num_parameters == pytest.approx(140.6e9, rel=0.01)
    assert est.weights_bytes / GIB == pytest.approx(262, rel=0.01)
    assert est.bytes_at("float32") / GIB == pytest.approx(524, rel=0.01)
    verdict = check_fits(est, available_bytes=24 * GIB)
    assert verdict.verdict == "does not fit"
    assert "DOES NOT FIT" in str(verdict)
    assert any("Inference" in a for a in verdict.advice)


def test_mistral_7b_fp32_is_the_notes_26_gb_and_bf16_halves_it():
    est = estimate_memory(MistralConfig(**MISTRAL_7B))
    assert est.num_parameters == pytest.approx(7.24e9, rel=0.005)
    assert est.weights_bytes / GIB == pytest.approx(27, rel=0.01)
    assert est.bytes_at("bfloat16") / GIB == pytest.approx(13.5, rel=0.01)
    verdict = check_fits(est, available_bytes=24 * GIB)
    assert verdict.verdict == "does not fit"
    assert "bfloat16" in verdict.advice[0] or "float16" in verdict.advice[0]


def test_bert_base_and_gpt2_exact_counts():
    assert estimate_memory(BertConfig()).num_parameters == 109_482_240
    assert estimate_memory(GPT2Config()).num_parameters == 124_439_808


def test_config_json_path_and_folder(tmp_path):
    data = {
        "model_type": "gpt2",
        "n_layer": 2,
        "n_embd": 64,
        "n_head": 2,
        "vocab_size": 100,
        "n_positions": 32,
    }
    (tmp_path / "config.json").write_text(json.dumps(data))
    from_folder = estimate_memory(tmp_path)
    from_file = estimate_memory(tmp_path / "config.json")
    # wte 100*64 + wpe 32*64 + 2 blocks * (12*64*64 + 13*64) + final LN 2*64
    expected = 100 * 64 + 32 * 64 + 2 * (12 * 64 * 64 + 13 * 64) + 2 * 64
    assert from_folder.num_parameters == from_file.num_parameters == expected


def test_training_totals_count_weights_grads_and_two_adam_states():
    est = estimate_memory(BertConfig(), training=True)
    assert est.total_bytes == 16 * est.num_parameters
    mixed = estimate_memory(BertConfig(), dtype="bf16", training=True)
    # fp32 master weights + bf16 copy + fp32 grads + 2 fp32 Adam states: no saving on weights
    assert mixed.total_bytes == 18 * mixed.num_parameters
    assert mixed.total_bytes > est.total_bytes
    with pytest.raises(ValueError, match="quantized weights are frozen"):
        estimate_memory(BertConfig(), dtype="int4", training=True)


def test_largest_layer_is_a_block_or_embedding():
    est = estimate_memory(MixtralConfig(**MIXTRAL_8X22B), dtype="bfloat16")
    assert est.largest_layer.startswith("model.layers.")
    assert est.largest_layer_bytes / GIB == pytest.approx(4.66, rel=0.02)
    bert = estimate_memory(BertConfig())
    # BERT's embeddings block (word 30522 x 768 + positions + types + LayerNorm) outweighs
    # one encoder layer (7.1 M parameters); its two int64 buffers of 512 ids (position_ids,
    # token_type_ids) count too.
    assert bert.largest_layer == "embeddings"
    params = 30522 * 768 + 512 * 768 + 2 * 768 + 2 * 768
    assert bert.largest_layer_bytes == 4 * params + 2 * 512 * 8


def test_verdict_thresholds():
    est = estimate_memory(BertConfig())  # ~0.49 GiB at inference
    need = est.total_bytes
    assert check_fits(est, available_bytes=need * 2).verdict == "fits"
    assert check_fits(est, available_bytes=int(need * 1.1)).verdict == "tight"
    assert check_fits(est, available_bytes=need // 2).verdict == "does not fit"


def test_unknown_dtype_is_a_clear_error():
    with pytest.raises(ValueError, match="Unknown dtype 'fp8'"):
        estimate_memory(BertConfig(), dtype="fp8")


def test_ensure_fits_refuses_before_download_and_can_be_overridden(monkeypatch):
    monkeypatch.setattr(memory, "available_memory", lambda device=None: (8 * GIB, 16 * GIB, "RAM"))
    cfg = MistralConfig(**MISTRAL_7B)
    with pytest.raises(ModelTooLargeError, match="Nothing was downloaded"):
        ensure_fits(cfg)
    assert ensure_fits(cfg, allow_too_large=True).verdict == "does not fit"
    monkeypatch.setenv("COURSE_ALLOW_TOO_LARGE", "1")
    assert ensure_fits(cfg).verdict == "does not fit"


def test_offline_hub_id_of_catalog_model_uses_stored_numbers():
    est = estimate_memory("alpindale/WizardLM-2-8x22B", dtype="bf16")
    assert est.num_parameters == pytest.approx(140.6e9, rel=0.01)


def test_offline_unknown_hub_id_is_a_clear_error():
    with pytest.raises(ConfigUnavailableError, match="offline"):
        estimate_memory("someone/not-a-real-model-xyz")
