"""Chapter 2 (using Transformers): the pipeline by hand, padding and masks, sub-words, and two
questions on the batch dimension and random weights."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from course_utils.exercises import loaders
from course_utils.exercises.core import (
    NOT_STACKABLE,
    Exercise,
    LearnerRaised,
    NotYet,
    call,
    correct,
    wrong,
)
from course_utils.exercises.messages import Text
from course_utils.exercises.questions import Choice, choice_question

SENTIMENT_MODEL = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
SENTENCES = (
    "I've been waiting for a HuggingFace course my whole life.",
    "I hate this so much!",
    "Aha!",
)
TOKENIZERS = ("google-bert/bert-base-uncased", "openai-community/gpt2")
WORDS = ("tokenization", "HuggingFace", "unbelievably")

# --- q1: the sentiment pipeline, by hand ---------------------------------------------------


def _forward_calls(model):
    """Record the inputs of every forward call: (input_ids, attention_mask)."""
    calls = []

    def record(module, args, kwargs):
        ids = kwargs.get("input_ids", args[0] if args else None)
        mask = kwargs.get("attention_mask", args[1] if len(args) > 1 else None)
        calls.append((ids, mask))

    return calls, model.register_forward_pre_hook(record, with_kwargs=True)


def _scores(answer) -> tuple[list, list[float]]:
    if isinstance(answer, torch.Tensor):
        raise NotYet("probabilities_only")
    rows = list(answer) if isinstance(answer, list | tuple) else None
    if (
        rows is None
        or len(rows) != len(SENTENCES)
        or not all(isinstance(r, Mapping) and {"label", "score"} <= set(r) for r in rows)
    ):
        raise NotYet(
            "wrong_type",
            expected=f"a list of {len(SENTENCES)} dicts {{'label': ..., 'score': ...}}",
            got=type(answer).__name__,
        )
    return [r["label"] for r in rows], [float(r["score"]) for r in rows]


def check_sentiment_by_hand(sentiment_by_hand):
    from transformers import pipeline

    tokenizer = loaders.tokenizer(SENTIMENT_MODEL)
    model = (
        loaders.sequence_classifier(SENTIMENT_MODEL).eval().to("cpu")
    )  # as a learner may not leave it
    reference = pipeline("sentiment-analysis", model=model, tokenizer=tokenizer, device="cpu")
    want = reference(list(SENTENCES), batch_size=len(SENTENCES))
    with torch.no_grad():
        logits = model(**tokenizer(list(SENTENCES), padding=True, return_tensors="pt")).logits
    calls, hook = _forward_calls(model)
    try:
        answer = call(sentiment_by_hand, list(SENTENCES), tokenizer, model)
    except LearnerRaised as raised:
        if raised.mentions(*NOT_STACKABLE):
            return wrong("no_padding")
        raise
    finally:
        hook.remove()
    labels, scores = _scores(answer)
    names = list(model.config.id2label.values())
    if any(label not in names for label in labels):
        return wrong("label_ids", names=", ".join(names))
    if any(mask is None and (ids == tokenizer.pad_token_id).any() for ids, mask in calls):
        return wrong("no_attention_mask")
    if labels == [w["label"] for w in want] and _near(scores, [w["score"] for w in want]):
        return correct(model=loaders.model_label(SENTIMENT_MODEL))
    if _near(scores, logits.softmax(dim=0).max(dim=-1).values.tolist()):
        return wrong("softmax_over_batch")
    if _near(scores, logits.max(dim=-1).values.tolist()):
        return wrong("logits_not_probabilities")
    return wrong("general")


def _near(got: list[float], want: list[float], atol: float = 1e-4) -> bool:
    return len(got) == len(want) and all(abs(g - w) <= atol for g, w in zip(got, want, strict=True))


SENTIMENT_BY_HAND = Exercise(
    name="sentiment_by_hand",
    title=Text(
        "pipeline('sentiment-analysis'), by hand", "亲手实现 pipeline('sentiment-analysis')"
    ),
    answer="function",
    check=check_sentiment_by_hand,
    correct=Text(
        "the same labels as pipeline('sentiment-analysis') and the same scores (within 1e-4), "
        "for three sentences of different lengths, on {model}.",
        "与 pipeline('sentiment-analysis') 的标签相同、分数相同（误差在 1e-4 以内），"
        "三个长度不同的句子都对，用的模型是 {model}。",
    ),
    general=Text(
        "your labels or scores differ from the pipeline's: tokenizer(..., padding=True, "
        "return_tensors='pt') → model(**inputs).logits → softmax over the labels → the best "
        "label and its probability.",
        "你的标签或分数与管线的不同：tokenizer(..., padding=True, return_tensors='pt') → "
        "model(**inputs).logits → 沿标签做 softmax → 取最好的标签和它的概率。",
    ),
    misconceptions={
        "no_padding": Text(
            "no padding, so the sentences' ids (of different lengths) cannot be stacked into "
            "one tensor: tokenizer(sentences, padding=True, return_tensors='pt').",
            "没有填充（padding），长度不同的句子的 id 无法叠成一个张量："
            "tokenizer(sentences, padding=True, return_tensors='pt')。",
        ),
        "no_attention_mask": Text(
            "the model got padded ids without the attention mask, so it attends to the [PAD] "
            "tokens and the padded sentences' scores change: pass both, model(**inputs).",
            "模型收到了填充过的 id，却没有 attention mask，于是它会关注 [PAD] 词元，"
            "被填充的句子分数就变了：两样都传进去，model(**inputs)。",
        ),
        "softmax_over_batch": Text(
            "softmax over the batch dimension instead of the labels: each sentence's "
            "probabilities must sum to 1, so softmax(logits, dim=-1).",
            "softmax 沿着批次维度做了，而不是沿着标签：每个句子的概率之和应该是 1，"
            "所以用 softmax(logits, dim=-1)。",
        ),
        "logits_not_probabilities": Text(
            "these scores are logits, raw and unbounded: the pipeline's score is a probability, "
            "after a softmax over the labels.",
            "这些分数是 logits，是原始的、没有范围限制的值：管线给出的分数是沿标签做 softmax "
            "之后的概率。",
        ),
        "label_ids": Text(
            "the labels should be the model's names, not numbers: model.config.id2label[index] "
            "gives {names}.",
            "标签应该用模型给的名字，而不是编号：model.config.id2label[index] 给出 {names}。",
        ),
        "probabilities_only": Text(
            "that is a tensor; the pipeline returns one dict per sentence: "
            "{{'label': the best label, 'score': its probability}}.",
            "这是一个张量；管线对每个句子返回一个 dict：{{'label': 最好的标签, 'score': 它的概率}}。",
        ),
    },
    hints=(
        Text(
            "Step 1: inputs = tokenizer(sentences, padding=True, truncation=True, "
            "return_tensors='pt').",
            "第 1 步：inputs = tokenizer(sentences, padding=True, truncation=True, return_tensors='pt')。",
        ),
        Text(
            "Step 2: logits = model(**inputs).logits (under torch.no_grad()); step 3: "
            "probabilities = logits.softmax(dim=-1).",
            "第 2 步：logits = model(**inputs).logits（放在 torch.no_grad() 里）；"
            "第 3 步：probabilities = logits.softmax(dim=-1)。",
        ),
        Text(
            "For each row: best = int(row.argmax()), then {{'label': "
            "model.config.id2label[best], 'score': row[best].item()}}.",
            "对每一行：best = int(row.argmax())，然后 {{'label': model.config.id2label[best], "
            "'score': row[best].item()}}。",
        ),
    ),
    solution="""
import torch


def sentiment_by_hand(sentences, tokenizer, model):
    inputs = tokenizer(sentences, padding=True, truncation=True, return_tensors="pt")
    with torch.no_grad():
        logits = model(**inputs.to(model.device)).logits
    results = []
    for row in logits.softmax(dim=-1):
        best = int(row.argmax())
        results.append({"label": model.config.id2label[best], "score": row[best].item()})
    return results


ex.{label}.check(sentiment_by_hand)
""",
)

# --- q2: pad and mask a batch --------------------------------------------------------------

BATCHES = (
    ([[101, 7592, 102], [101, 7592, 2088, 999, 102], [101, 102]], 0),
    ([[0, 31414, 2], [0, 2]], 1),
)


def _padded(ids_list, pad_id, left=False):
    longest = max(len(ids) for ids in ids_list)
    rows, masks = [], []
    for ids in ids_list:
        pad = [pad_id] * (longest - len(ids))
        rows.append(pad + ids if left else ids + pad)
        ones, zeros = [1] * len(ids), [0] * len(pad)
        masks.append(zeros + ones if left else ones + zeros)
    return torch.tensor(rows), torch.tensor(masks)


def _tensors(answer):
    if not isinstance(answer, Mapping) or not {"input_ids", "attention_mask"} <= set(answer):
        raise NotYet(
            "wrong_type",
            expected="a dict with 'input_ids' and 'attention_mask'",
            got=type(answer).__name__,
        )
    found = []
    for key in ("input_ids", "attention_mask"):
        value = answer[key]
        if not isinstance(value, torch.Tensor):
            raise NotYet("not_tensors")
        found.append(value.long())
    return found


def check_pad_batch(pad_batch):
    for ids_list, pad_id in BATCHES:
        try:
            answer = call(pad_batch, [list(ids) for ids in ids_list], pad_id)
        except LearnerRaised as raised:
            if raised.mentions(*NOT_STACKABLE):
                return wrong("no_padding")
            raise
        ids, mask = _tensors(answer)
        want_ids, want_mask = _padded(ids_list, pad_id)
        if ids.shape != want_ids.shape:
            return wrong("general")
        if torch.equal(ids, want_ids) and torch.equal(mask, want_mask):
            continue
        left_ids, left_mask = _padded(ids_list, pad_id, left=True)
        if torch.equal(ids, left_ids) and torch.equal(mask, left_mask):
            return wrong("padded_on_the_left")
        if not torch.equal(ids, want_ids):
            return wrong(
                "ignored_pad_id" if torch.equal(ids, _padded(ids_list, 0)[0]) else "general",
                pad_id=pad_id,
            )
        if torch.equal(mask, 1 - want_mask):
            return wrong("mask_inverted")
        if bool((mask == 1).all()):
            return wrong("mask_marks_nothing")
        return wrong("general")
    return correct()


PAD_BATCH = Exercise(
    name="pad_batch",
    title=Text("pad and mask a batch, by hand", "亲手填充一个批次并做掩码"),
    answer="function",
    check=check_pad_batch,
    correct=Text(
        "padded on the right with the pad id you were given, and the mask is 1 for real tokens, "
        "0 for padding: what tokenizer(..., padding=True) returns.",
        "在右边用给定的填充 id 补齐，掩码对真实词元是 1、对填充是 0：和 "
        "tokenizer(..., padding=True) 返回的一样。",
    ),
    general=Text(
        "not what tokenizer(..., padding=True) returns: pad every list on the right to the "
        "longest, and mark real tokens 1, padding 0.",
        "和 tokenizer(..., padding=True) 返回的不一样：把每个列表在右边补到最长的长度，"
        "真实词元标 1，填充标 0。",
    ),
    misconceptions={
        "no_padding": Text(
            "no padding, so the tensors cannot be stacked: lists of different lengths do not "
            "make one tensor. Append pad_id to the shorter ones first.",
            "没有填充，所以这些张量叠不起来：长度不同的列表组不成一个张量。先在短的列表后面补上 pad_id。",
        ),
        "padded_on_the_left": Text(
            "you padded on the left; BERT's tokenizer pads on the right (tokenizer.padding_side "
            "is 'right'), and the check expects the same.",
            "你在左边做了填充；BERT 的分词器在右边填充（tokenizer.padding_side 是 'right'），"
            "检查也按这个来。",
        ),
        "ignored_pad_id": Text(
            "you padded with 0, but this model's pad id is {pad_id}: use the pad_id you were "
            "given (tokenizer.pad_token_id), it is not 0 for every model.",
            "你用 0 来填充，但这个模型的填充 id 是 {pad_id}：用传进来的 pad_id"
            "（tokenizer.pad_token_id），不是每个模型都是 0。",
        ),
        "mask_inverted": Text(
            "the mask is inverted: 1 marks the tokens to attend to, 0 the padding.",
            "掩码反了：1 表示要关注的词元，0 表示填充。",
        ),
        "mask_marks_nothing": Text(
            "the mask is 1 everywhere, padding included, so the model would attend to the "
            "padding: put 0 where you padded.",
            "掩码处处是 1，填充的位置也是，这样模型会去关注填充：在填充的位置放 0。",
        ),
        "not_tensors": Text(
            "return tensors (torch.tensor(rows)), as return_tensors='pt' does.",
            "返回张量（torch.tensor(rows)），就像 return_tensors='pt' 那样。",
        ),
    },
    hints=(
        Text(
            "longest = max(len(ids) for ids in ids_list); each row gets "
            "[pad_id] * (longest - len(ids)) at its end.",
            "longest = max(len(ids) for ids in ids_list)；每一行在末尾补上 "
            "[pad_id] * (longest - len(ids))。",
        ),
        Text(
            "The mask row: [1] * len(ids) + [0] * (longest - len(ids)).",
            "掩码的一行：[1] * len(ids) + [0] * (longest - len(ids))。",
        ),
        Text(
            "Return {{'input_ids': torch.tensor(rows), 'attention_mask': torch.tensor(masks)}}.",
            "返回 {{'input_ids': torch.tensor(rows), 'attention_mask': torch.tensor(masks)}}。",
        ),
    ),
    solution="""
import torch


def pad_batch(ids_list, pad_id):
    longest = max(len(ids) for ids in ids_list)
    rows = [ids + [pad_id] * (longest - len(ids)) for ids in ids_list]
    masks = [[1] * len(ids) + [0] * (longest - len(ids)) for ids in ids_list]
    return {"input_ids": torch.tensor(rows), "attention_mask": torch.tensor(masks)}


ex.{label}.check(pad_batch)
""",
)

# --- q3: sub-words of a word, two tokenizers -----------------------------------------------


def check_count_subwords(count_subwords):
    for name in TOKENIZERS:
        tokenizer = loaders.tokenizer(name)
        for word in WORDS:
            got = call(count_subwords, word, tokenizer)
            if isinstance(got, list | tuple):
                return wrong("returned_tokens")
            if not isinstance(got, int) or isinstance(got, bool):
                raise NotYet("wrong_type", expected="an int", got=type(got).__name__)
            want = len(tokenizer.tokenize(word))
            if got == want:
                continue
            if got == len(tokenizer(word)["input_ids"]):
                return wrong("counted_special_tokens", model=name)
            if got == len(word):
                return wrong("counted_characters")
            if got == 1:
                return wrong("counted_words")
            return wrong("general", word=word, model=name)
    return correct()


COUNT_SUBWORDS = Exercise(
    name="count_subwords",
    title=Text("how many sub-words? two tokenizers", "一个词切成几个子词？两个分词器"),
    answer="function",
    check=check_count_subwords,
    correct=Text(
        "right for BERT's WordPiece and GPT-2's BPE tokenizers, on three words.",
        "BERT 的 WordPiece 分词器和 GPT-2 的 BPE 分词器，三个词都对。",
    ),
    general=Text(
        "{model} splits {word!r} into another number of sub-words: count what "
        "tokenizer.tokenize(word) returns.",
        "{model} 把 {word!r} 切成的子词数不是这个：数一数 tokenizer.tokenize(word) 返回了几个。",
    ),
    misconceptions={
        "counted_special_tokens": Text(
            "that counts {model}'s special tokens too ([CLS] and [SEP] for BERT): they are not "
            "sub-words of the word. Count tokenizer.tokenize(word), or pass "
            "add_special_tokens=False.",
            "这把 {model} 的特殊词元也算进去了（BERT 的 [CLS] 和 [SEP]）：它们不是这个词的子词。"
            "数 tokenizer.tokenize(word)，或者传入 add_special_tokens=False。",
        ),
        "counted_characters": Text(
            "that is the number of characters; a sub-word tokenizer keeps frequent pieces "
            "whole: ask the tokenizer.",
            "这是字符数；子词分词器会把常见的片段保留成一个整体：要问分词器。",
        ),
        "counted_words": Text(
            "1 is the number of words; the question is how many pieces the tokenizer cuts the "
            "word into.",
            "1 是单词数；题目问的是分词器把这个词切成了几块。",
        ),
        "returned_tokens": Text(
            "that is the list of sub-words; return how many there are: len(...).",
            "这是子词的列表；要返回的是它们的个数：len(...)。",
        ),
    },
    hints=(
        Text(
            "tokenizer.tokenize(word) returns the sub-words, without special tokens.",
            "tokenizer.tokenize(word) 返回子词，不含特殊词元。",
        ),
        Text("Return len(tokenizer.tokenize(word)).", "返回 len(tokenizer.tokenize(word))。"),
    ),
    solution="""
def count_subwords(word, tokenizer):
    return len(tokenizer.tokenize(word))


ex.{label}.check(count_subwords)
""",
)

# --- q4, q5: questions ---------------------------------------------------------------------

BATCH_DIMENSION = choice_question(
    title=Text("one sentence without a batch dimension", "没有批次维度的一个句子"),
    choices=[
        Choice(
            "a",
            "works",
            "the model expects (batch, sequence): a 1-D tensor is not one sentence to it. "
            "torch.tensor([ids]) adds the batch dimension.",
            "模型需要 (batch, sequence)：一维张量在它看来不是一个句子。torch.tensor([ids]) "
            "加上批次维度。",
        ),
        Choice(
            "b",
            "error",
            "the model expects (batch, sequence) and got (sequence,): it fails with a shape "
            "error. torch.tensor([ids]) adds the batch dimension.",
            "模型需要 (batch, sequence)，收到的却是 (sequence,)：它会报形状错误。"
            "torch.tensor([ids]) 加上批次维度。",
        ),
        Choice(
            "c",
            "one per token",
            "the model does not guess that the ids are 14 sentences of one token: a 1-D "
            "tensor is simply the wrong shape, and it fails.",
            "模型不会把这些 id 当成 14 个各含一个词元的句子：一维张量的形状就是不对，它会报错。",
        ),
    ],
    answer="b",
    hints=(
        Text("What shape does the model expect for input_ids?", "模型期望 input_ids 是什么形状？"),
        Text(
            "The section 'A single sequence still needs a batch dimension' ran this call.",
            "“单个序列也需要批次维度”一节运行过这个调用。",
        ),
    ),
)

RANDOM_WEIGHTS = choice_question(
    title=Text("a model from a config alone", "只用 config 建出来的模型"),
    choices=[
        Choice(
            "a",
            "pretrained",
            "a config holds only the architecture's numbers; the trained weights come from "
            "from_pretrained(checkpoint).",
            "config 里只有架构的参数；训练好的权重来自 from_pretrained(checkpoint)。",
        ),
        Choice(
            "b",
            "random",
            "BertModel(config) builds the right architecture with random weights, different "
            "at every construction; it would need training. from_pretrained loads trained "
            "ones, the same every time.",
            "BertModel(config) 建出结构正确、权重随机的模型，每次构造的权重都不同；"
            "它需要训练才能用。from_pretrained 加载训练好的权重，每次都一样。",
        ),
        Choice(
            "c",
            "zeros",
            "the weights are initialised randomly, not to zero (all-zero weights would make "
            "every unit learn the same thing).",
            "权重是随机初始化的，而不是全零（全零的权重会让每个单元学到同样的东西）。",
        ),
    ],
    answer="b",
    hints=(
        Text("What does a config contain, and what does it not?", "config 里有什么，没有什么？"),
        Text(
            "The section 'Random initialisation vs from_pretrained' built two of them.",
            "“随机初始化与 from_pretrained”一节建过两个这样的模型。",
        ),
    ),
)

EXERCISES = [SENTIMENT_BY_HAND, PAD_BATCH, COUNT_SUBWORDS, BATCH_DIMENSION, RANDOM_WEIGHTS]
