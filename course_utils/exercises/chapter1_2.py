"""Chapter 1, part 2 (how Transformers work): attention, positional encoding, LayerNorm, and
two questions on architectures and the causal mask. Pure PyTorch: no model is loaded."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from course_utils.exercises.core import Exercise, LearnerRaised, call, correct, wrong
from course_utils.exercises.messages import Text
from course_utils.exercises.questions import Choice, choice_question
from course_utils.exercises.tensors import as_tensor, close

# --- q1: scaled dot-product attention ------------------------------------------------------


def _attention_inputs():
    generator = torch.Generator().manual_seed(0)
    Q, K, V = (torch.randn(2, n, 16, generator=generator) for n in (5, 6, 6))
    mask = torch.rand(5, 6, generator=generator) > 0.4
    mask[:, 0], mask[:, 1] = True, False  # every query attends to some keys and not to others
    return Q, K, V, mask


def _attention_variant(Q, K, V, mask=None, *, scale=None, dim=-1, invert=False):
    scores = Q @ K.transpose(-2, -1) / (math.sqrt(Q.shape[-1]) if scale is None else scale)
    if mask is not None:
        scores = scores.masked_fill(mask if invert else ~mask, float("-inf"))
    return scores.softmax(dim=dim) @ V


def check_attention(attention):
    Q, K, V, mask = _attention_inputs()
    got = as_tensor(call(attention, Q[0], K[0], V[0]))  # one sentence: (tokens, d_k)
    if not close(got, F.scaled_dot_product_attention(Q[0], K[0], V[0])):
        return _attention_mistake(got, Q[0], K[0], V[0])
    try:
        got = as_tensor(call(attention, Q, K, V), expected_shape=(2, 5, 16))
    except LearnerRaised:
        return wrong("transpose_all_dims")
    if not close(got, F.scaled_dot_product_attention(Q, K, V)):
        return _attention_mistake(got, Q, K, V)
    got = as_tensor(call(attention, Q, K, V, mask=mask), expected_shape=(2, 5, 16))
    if close(got, F.scaled_dot_product_attention(Q, K, V, attn_mask=mask)):
        return correct()
    if close(got, F.scaled_dot_product_attention(Q, K, V)):
        return wrong("mask_ignored")
    if close(got, _attention_variant(Q, K, V, mask, invert=True)):
        return wrong("mask_inverted")
    return _attention_mistake(got, Q, K, V, mask)


def _attention_mistake(got, Q, K, V, mask=None):
    d_k = Q.shape[-1]
    for key, variant in [
        ("no_scaling", dict(scale=1.0)),
        ("scaled_by_d", dict(scale=float(d_k))),
        ("softmax_over_queries", dict(dim=-2)),
    ]:
        if close(got, _attention_variant(Q, K, V, mask, **variant)):
            return wrong(key)
    return wrong("general")


ATTENTION = Exercise(
    name="attention",
    title=Text("scaled dot-product attention", "缩放点积注意力"),
    answer="function",
    check=check_attention,
    correct=Text(
        "your attention matches torch.nn.functional.scaled_dot_product_attention for one "
        "sentence, for a batch, and with a mask.",
        "你的 attention 与 torch.nn.functional.scaled_dot_product_attention 的结果一致：单个句子、"
        "一个批次、带掩码，都对。",
    ),
    general=Text(
        "the output differs from torch.nn.functional.scaled_dot_product_attention(Q, K, V): "
        "compare the scores, the softmax and the product with V step by step.",
        "输出与 torch.nn.functional.scaled_dot_product_attention(Q, K, V) 不同：把打分、softmax、"
        "乘以 V 三步逐一对照。",
    ),
    misconceptions={
        "no_scaling": Text(
            "the scores are not divided by √d_k: without it the dot products grow with the "
            "dimension and the softmax saturates. Divide Q @ Kᵀ by math.sqrt(Q.shape[-1]).",
            "打分没有除以 √d_k：维度越大，点积越大，softmax 会饱和。把 Q @ Kᵀ 除以 "
            "math.sqrt(Q.shape[-1])。",
        ),
        "scaled_by_d": Text(
            "the scores are divided by d_k; the formula divides by its square root, √d_k.",
            "打分除以了 d_k；公式里除的是它的平方根 √d_k。",
        ),
        "softmax_over_queries": Text(
            "the softmax runs over the queries (dim=-2): each query's weights over the keys must "
            "sum to 1, so take the softmax over the last dimension (dim=-1).",
            "softmax 是沿着查询（dim=-2）做的：每个查询对所有键的权重之和应该是 1，"
            "所以要沿最后一维（dim=-1）做 softmax。",
        ),
        "transpose_all_dims": Text(
            "it works for one sentence but fails on a batch (batch, tokens, d_k): K.T reverses "
            "every dimension; K.transpose(-2, -1) swaps only the last two.",
            "单个句子可以，一个批次 (batch, tokens, d_k) 就出错：K.T 会把所有维度倒过来；"
            "K.transpose(-2, -1) 只交换最后两维。",
        ),
        "mask_ignored": Text(
            "with a mask the output is the same as without: set the scores where mask is False "
            "to -inf before the softmax (scores.masked_fill(~mask, float('-inf'))).",
            "加了掩码，输出却和没加一样：在 softmax 之前，把 mask 为 False 的位置的打分设为 -inf"
            "（scores.masked_fill(~mask, float('-inf'))）。",
        ),
        "mask_inverted": Text(
            "the mask is inverted: here (as in scaled_dot_product_attention) True means 'may "
            "attend', so block where the mask is False. nn.MultiheadAttention's attn_mask is "
            "the opposite, True = blocked.",
            "掩码用反了：这里（和 scaled_dot_product_attention 一样）True 表示“可以关注”，"
            "要屏蔽的是 mask 为 False 的位置。nn.MultiheadAttention 的 attn_mask 正好相反，"
            "True 表示屏蔽。",
        ),
    },
    hints=(
        Text(
            "Three steps: scores = Q @ Kᵀ / √d_k, weights = softmax of each row, output = "
            "weights @ V.",
            "三步：scores = Q @ Kᵀ / √d_k，weights = 对每一行做 softmax，output = weights @ V。",
        ),
        Text(
            "Kᵀ of a batch is K.transpose(-2, -1); d_k is Q.shape[-1]; the softmax runs over "
            "the keys: scores.softmax(dim=-1).",
            "批次的 Kᵀ 是 K.transpose(-2, -1)；d_k 是 Q.shape[-1]；softmax 沿着键的方向："
            "scores.softmax(dim=-1)。",
        ),
        Text(
            "With a mask (True = may attend): scores = scores.masked_fill(~mask, "
            "float('-inf')) before the softmax.",
            "有掩码时（True = 可以关注）：softmax 之前 scores = scores.masked_fill(~mask, "
            "float('-inf'))。",
        ),
    ),
    solution="""
import math


def attention(Q, K, V, mask=None):
    scores = Q @ K.transpose(-2, -1) / math.sqrt(Q.shape[-1])
    if mask is not None:  # True = may attend
        scores = scores.masked_fill(~mask, float("-inf"))
    return scores.softmax(dim=-1) @ V


ex.{label}.check(attention)
""",
)

# --- q2: sinusoidal positional encoding ----------------------------------------------------


def _encoding(n_positions, d, *, paired=True, swapped=False):
    pos = torch.arange(n_positions, dtype=torch.float64)[:, None]
    i = torch.arange(d)[None, :]
    exponent = (i // 2 * 2) / d if paired else i / d
    angle = pos / 10000**exponent
    even, odd = (
        (torch.cos(angle), torch.sin(angle)) if swapped else (torch.sin(angle), torch.cos(angle))
    )
    return torch.where(i % 2 == 0, even, odd)


def check_positional_encoding(positional_encoding):
    for n_positions, d in [(50, 16), (7, 6)]:
        got = as_tensor(call(positional_encoding, n_positions, d))
        want = _encoding(n_positions, d)
        if tuple(got.shape) == (d, n_positions) and close(got.T, want, atol=1e-4):
            return wrong("transposed")
        as_tensor(got, expected_shape=(n_positions, d))
        if close(got, want, atol=1e-4):
            continue
        if close(got, _encoding(n_positions, d, paired=False), atol=1e-4):
            return wrong("notes_variant")
        if close(got, _encoding(n_positions, d, swapped=True), atol=1e-4):
            return wrong("sin_cos_swapped")
        return wrong("general")
    return correct()


POSITIONAL_ENCODING = Exercise(
    name="positional_encoding",
    title=Text("the sinusoidal positional encoding", "正弦位置编码"),
    answer="function",
    check=check_positional_encoding,
    correct=Text(
        "your encoding matches the paper's definition for (50 positions, d=16) and (7, 6).",
        "你的位置编码与论文的定义一致：(50 个位置, d=16) 和 (7, 6) 都对。",
    ),
    general=Text(
        "the values differ from the paper's PE[pos, 2k] = sin(pos / 10000^(2k/d)), "
        "PE[pos, 2k+1] = cos(pos / 10000^(2k/d)).",
        "数值与论文的定义不同：PE[pos, 2k] = sin(pos / 10000^(2k/d))，"
        "PE[pos, 2k+1] = cos(pos / 10000^(2k/d))。",
    ),
    misconceptions={
        "notes_variant": Text(
            "this is the notes' variant: each dimension i has its own frequency 10000^(i/d). In "
            "the paper dimensions 2k and 2k+1 share one, 10000^(2k/d): use i // 2 * 2 in the "
            "exponent.",
            "这是笔记里的写法：每个维度 i 用自己的频率 10000^(i/d)。论文里第 2k 和 2k+1 维共用"
            "一个频率 10000^(2k/d)：指数里用 i // 2 * 2。",
        ),
        "sin_cos_swapped": Text(
            "sine and cosine are swapped: even dimensions get the sine, odd ones the cosine "
            "(position 0 is 0, 1, 0, 1, ...).",
            "正弦和余弦放反了：偶数维用正弦，奇数维用余弦（位置 0 的编码是 0, 1, 0, 1, ...）。",
        ),
        "transposed": Text(
            "the values are right but the shape is (d, n_positions): return one row per "
            "position, shape (n_positions, d).",
            "数值对了，但形状是 (d, n_positions)：每个位置一行，形状应为 (n_positions, d)。",
        ),
    },
    hints=(
        Text(
            "Build a column of positions, pos = torch.arange(n_positions)[:, None], and a row "
            "of dimensions, i = torch.arange(d)[None, :]: broadcasting gives the whole table.",
            "先做一列位置 pos = torch.arange(n_positions)[:, None] 和一行维度 "
            "i = torch.arange(d)[None, :]：广播之后就是整张表。",
        ),
        Text(
            "The angle is pos / 10000 ** ((i // 2 * 2) / d): dimensions 2k and 2k+1 share it.",
            "角度是 pos / 10000 ** ((i // 2 * 2) / d)：第 2k 和 2k+1 维共用同一个角度。",
        ),
        Text(
            "torch.where(i % 2 == 0, torch.sin(angle), torch.cos(angle)) picks sine for even "
            "dimensions, cosine for odd ones.",
            "torch.where(i % 2 == 0, torch.sin(angle), torch.cos(angle)) 给偶数维取正弦，"
            "奇数维取余弦。",
        ),
    ),
    solution="""
import torch


def positional_encoding(n_positions, d):
    pos = torch.arange(n_positions, dtype=torch.float64)[:, None]
    i = torch.arange(d)[None, :]
    angle = pos / 10000 ** ((i // 2 * 2) / d)
    return torch.where(i % 2 == 0, torch.sin(angle), torch.cos(angle))


ex.{label}.check(positional_encoding)
""",
)

# --- q3: layer normalization ---------------------------------------------------------------


def _layer_norm_inputs():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(2, 4, 8, generator=generator) * 3 + 1
    x[1, 2] = 2.0 + 1e-3 * torch.randn(8, generator=generator)  # a token with a tiny variance
    gamma = torch.randn(8, generator=generator)
    beta = torch.randn(8, generator=generator)
    return x, gamma, beta


def _normalized(x, gamma, beta, eps=1e-5, *, dims=(-1,), unbiased=False, eps_outside=False):
    mu = x.mean(dim=dims, keepdim=True)
    var = x.var(dim=dims, keepdim=True, unbiased=unbiased)
    scale = torch.sqrt(var) + eps if eps_outside else torch.sqrt(var + eps)
    return gamma * (x - mu) / scale + beta


def check_layer_norm(layer_norm):
    x, gamma, beta = _layer_norm_inputs()
    got = as_tensor(call(layer_norm, x, gamma, beta), expected_shape=tuple(x.shape))
    if close(got, F.layer_norm(x, (8,), gamma, beta, eps=1e-5), atol=1e-4):
        return correct()
    variants = [
        ("unbiased_variance", _normalized(x, gamma, beta, unbiased=True)),
        ("eps_outside_sqrt", _normalized(x, gamma, beta, eps_outside=True)),
        ("no_gamma_beta", _normalized(x, torch.ones(8), torch.zeros(8))),
        *[
            ("wrong_axis", _normalized(x, gamma, beta, dims=dims))
            for dims in [(0,), (1,), (0, 1, 2)]
        ],
    ]
    for key, variant in variants:
        if close(got, variant, atol=1e-4):
            return wrong(key)
    return wrong("general")


LAYER_NORM = Exercise(
    name="layer_norm",
    title=Text("Layer Normalization", "层归一化（LayerNorm）"),
    answer="function",
    check=check_layer_norm,
    correct=Text(
        "your layer_norm matches torch.nn.functional.layer_norm, also on a token whose "
        "variance is smaller than eps.",
        "你的 layer_norm 与 torch.nn.functional.layer_norm 一致，方差比 eps 还小的词元也对。",
    ),
    general=Text(
        "the result differs from torch.nn.functional.layer_norm: LN(x) = γ (x − μ) / √(σ² + ε) "
        "+ β, with μ and σ² over each token's own features.",
        "结果与 torch.nn.functional.layer_norm 不同：LN(x) = γ (x − μ) / √(σ² + ε) + β，"
        "μ 和 σ² 在每个词元自己的特征上计算。",
    ),
    misconceptions={
        "unbiased_variance": Text(
            "the variance divides by n − 1: torch.var is unbiased by default, LayerNorm uses the "
            "biased variance. Pass unbiased=False (or correction=0).",
            "方差除以了 n − 1：torch.var 默认是无偏估计，LayerNorm 用的是有偏方差。"
            "传入 unbiased=False（或 correction=0）。",
        ),
        "eps_outside_sqrt": Text(
            "ε is added after the square root: LayerNorm divides by √(σ² + ε). It matters for "
            "a token whose variance is close to ε, like one in this check.",
            "ε 加在了平方根外面：LayerNorm 除以的是 √(σ² + ε)。方差接近 ε 的词元（检查里就有"
            "一个）差别很明显。",
        ),
        "no_gamma_beta": Text(
            "the learned scale and shift are missing: multiply by gamma and add beta.",
            "缺了可学习的缩放和平移：乘以 gamma，再加上 beta。",
        ),
        "wrong_axis": Text(
            "the mean and variance are taken over the batch or the tokens: LayerNorm normalizes "
            "each token over its own features (dim=-1, keepdim=True); BatchNorm is the one that "
            "uses the batch.",
            "均值和方差是在批次或词元维度上算的：LayerNorm 对每个词元在它自己的特征上归一化"
            "（dim=-1, keepdim=True）；用批次统计的是 BatchNorm。",
        ),
    },
    hints=(
        Text(
            "μ = x.mean(dim=-1, keepdim=True): one mean per token, kept as a column so it "
            "broadcasts.",
            "μ = x.mean(dim=-1, keepdim=True)：每个词元一个均值，保留维度以便广播。",
        ),
        Text(
            "σ² = x.var(dim=-1, keepdim=True, unbiased=False): divide by n, not n − 1.",
            "σ² = x.var(dim=-1, keepdim=True, unbiased=False)：除以 n，而不是 n − 1。",
        ),
        Text(
            "gamma * (x - mu) / torch.sqrt(var + eps) + beta.",
            "gamma * (x - mu) / torch.sqrt(var + eps) + beta。",
        ),
    ),
    solution="""
import torch


def layer_norm(x, gamma, beta, eps=1e-5):
    mu = x.mean(dim=-1, keepdim=True)
    var = x.var(dim=-1, keepdim=True, unbiased=False)
    return gamma * (x - mu) / torch.sqrt(var + eps) + beta


ex.{label}.check(layer_norm)
""",
)

# --- q4, q5: questions ---------------------------------------------------------------------

TRANSLATION_ARCHITECTURE = choice_question(
    title=Text("which architecture for translation?", "翻译用哪种架构？"),
    choices=[
        Choice(
            "a",
            "encoder",
            "an encoder (BERT) maps a sentence to vectors but writes no text: it cannot "
            "produce the French sentence.",
            "编码器（BERT）把句子变成向量，但不会写出文字：它生成不了法文句子。",
        ),
        Choice(
            "b",
            "decoder",
            "a decoder alone (GPT) can be prompted to translate, but the course's family for "
            "a task that reads a whole input and writes a new sequence is the "
            "encoder-decoder.",
            "单独的解码器（GPT）用提示词也能翻译，但课程里“读完整个输入、再写出一个新序列”"
            "这类任务对应的是编码器-解码器。",
        ),
        Choice(
            "c",
            "encoder-decoder",
            "the encoder reads the whole source sentence, the decoder writes the translation "
            "and reads the encoder's output through cross-attention (Marian, BART, T5).",
            "编码器读完整个源句子，解码器写出译文，并通过交叉注意力读取编码器的输出"
            "（Marian、BART、T5）。",
        ),
    ],
    answer="c",
    hints=(
        Text(
            "Translation reads one sequence and writes another, of a different length.",
            "翻译要读入一个序列，再写出另一个长度不同的序列。",
        ),
        Text(
            "Which family did the chapter list for translation and summarization?",
            "本章把翻译和摘要归到哪一类？",
        ),
    ),
)

CAUSAL_MASK = choice_question(
    title=Text("what a causal mask hides", "因果掩码挡住了什么"),
    choices=[
        Choice(
            "a",
            "all",
            "that is the encoder: without a mask every position attends to the last token, so "
            "every output changes.",
            "那是编码器：没有掩码时每个位置都关注最后一个词元，所以每个输出都会变。",
        ),
        Choice(
            "b",
            "last",
            "only position n − 1 may look at token n − 1; every earlier position attends only "
            "to itself and what came before, so their outputs do not change.",
            "只有最后一个位置能看到最后一个词元；前面的每个位置只关注自己和之前的词元，"
            "所以它们的输出不变。",
        ),
        Choice(
            "c",
            "none",
            "the last position attends to itself, so its output does change.",
            "最后一个位置会关注它自己，所以它的输出会变。",
        ),
        Choice(
            "d",
            "first",
            "the first position sees only itself: it is the one output that surely does not "
            "change.",
            "第一个位置只看得到它自己：它恰恰是肯定不会变的输出。",
        ),
    ],
    answer="b",
    hints=(
        Text(
            "With a causal mask, position p attends to positions 0 … p.",
            "有因果掩码时，位置 p 只关注位置 0 … p。",
        ),
        Text(
            "Which positions have the last token among the positions they attend to?",
            "哪些位置关注的范围里包括最后一个词元？",
        ),
    ),
)

EXERCISES = [ATTENTION, POSITIONAL_ENCODING, LAYER_NORM, TRANSLATION_ARCHITECTURE, CAUSAL_MASK]
