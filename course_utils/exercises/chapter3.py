"""Chapter 3 (fine-tuning): tokenize_function with map, the collator, one training step, and
two questions on token_type_ids and the number of training steps."""

from __future__ import annotations

import copy
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

CHECKPOINT = "google-bert/bert-base-uncased"
PAIRS = (
    ("Amrozi accused his brother, whom he called the witness, of deliberately distorting his evidence.",
     "Referring to him as only the witness, Amrozi accused his brother of deliberately distorting his evidence.", 1),
    ("Yucaipa owned Dominick's before selling the chain to Safeway in 1998.",
     "Yucaipa bought Dominick's in 1995 and sold it to Safeway in 1998.", 0),
    ("They had published an advertisement on the Internet.", "On June 10, the ship's owners had published an advertisement.", 1),
    ("word " * 300, "other " * 300, 0),  # longer than any BERT accepts: truncation must cut it
)  # fmt: skip

# --- q1: tokenize_function, through Dataset.map(batched=True) ------------------------------


def _raw_dataset():
    from datasets import Dataset

    sentence1, sentence2, label = (list(column) for column in zip(*PAIRS, strict=True))
    idx = list(range(len(PAIRS)))
    return Dataset.from_dict(dict(sentence1=sentence1, sentence2=sentence2, label=label, idx=idx))


def check_tokenize_function(tokenize_function):
    tokenizer = loaders.tokenizer(CHECKPOINT)
    try:
        with loaders.quietly():
            mapped = call(_raw_dataset().map, tokenize_function, batched=True)
    except LearnerRaised as raised:
        if raised.mentions("unable to create tensor", "return_tensors"):
            return wrong("tensors_in_map")
        raise
    if "input_ids" not in mapped.column_names:
        raise NotYet(
            "wrong_type",
            expected="the tokenizer's output (input_ids, ...)",
            got=str(mapped.column_names),
        )
    rows = mapped["input_ids"]
    if len(rows[-1]) > tokenizer.model_max_length:
        return wrong("no_truncation", limit=tokenizer.model_max_length)
    lengths = {len(ids) for ids in rows}
    for (first, second, _), ids in zip(PAIRS[:-1], rows[:-1], strict=True):
        if ids == tokenizer(first, second, truncation=True)["input_ids"]:
            continue
        if len(lengths) == 1:
            return wrong("padded_in_map")
        if ids == tokenizer(first, truncation=True)["input_ids"]:
            return wrong("only_first_sentence")
        if ids == tokenizer(f"{first} {second}", truncation=True)["input_ids"]:
            return wrong("joined_into_one")
        return wrong("general")
    missing = set(tokenizer.model_input_names) - set(mapped.column_names)
    return wrong("general") if missing else correct()


TOKENIZE_FUNCTION = Exercise(
    name="tokenize_function",
    title=Text("tokenize_function for Dataset.map", "给 Dataset.map 用的 tokenize_function"),
    answer="function",
    check=check_tokenize_function,
    correct=Text(
        "with map(batched=True) your function tokenizes each pair as a pair ([CLS] A [SEP] B "
        "[SEP], token_type_ids 0 then 1), truncates, and leaves padding to the collator.",
        "配合 map(batched=True)，你的函数把每对句子当作句子对来分词（[CLS] A [SEP] B [SEP]，"
        "token_type_ids 先 0 后 1），做了截断，并把填充留给了整理函数（collator）。",
    ),
    general=Text(
        "the ids differ from tokenizer(example['sentence1'], example['sentence2'], "
        "truncation=True).",
        "id 与 tokenizer(example['sentence1'], example['sentence2'], truncation=True) 的结果不同。",
    ),
    misconceptions={
        "only_first_sentence": Text(
            "only sentence1 is tokenized: MRPC is about pairs, pass both sentences, "
            "tokenizer(example['sentence1'], example['sentence2'], ...).",
            "只对 sentence1 做了分词：MRPC 处理的是句子对，要把两句都传进去："
            "tokenizer(example['sentence1'], example['sentence2'], ...)。",
        ),
        "joined_into_one": Text(
            "the two sentences were joined into one string, so there is no [SEP] between them "
            "and token_type_ids are all 0: give them to the tokenizer as two arguments, a pair.",
            "两个句子被拼成了一个字符串，于是它们之间没有 [SEP]，token_type_ids 全是 0："
            "把它们作为两个参数（一个句子对）交给分词器。",
        ),
        "padded_in_map": Text(
            "every row has the same length: padding in map pads to the longest of each map "
            "batch (or to max_length) for the whole dataset. Leave it out; "
            "DataCollatorWithPadding pads each training batch to its own longest.",
            "每一行都一样长：在 map 里填充，会把整个数据集都补到每个 map 批次里最长的长度"
            "（或 max_length）。去掉它；DataCollatorWithPadding 会把每个训练批次只补到该批次最长的长度。",
        ),
        "no_truncation": Text(
            "a pair longer than {limit} tokens stays longer than the model accepts: pass "
            "truncation=True.",
            "超过 {limit} 个词元的句子对没有被截断，比模型能接受的长度还长：传入 truncation=True。",
        ),
        "tensors_in_map": Text(
            "return_tensors='pt' in map: the pairs have different lengths, so they cannot become "
            "one tensor. map stores lists; the collator makes tensors later.",
            "在 map 里用了 return_tensors='pt'：句子对长短不一，组不成一个张量。"
            "map 存的是列表；之后由整理函数（collator）生成张量。",
        ),
    },
    hints=(
        Text(
            "With batched=True, example['sentence1'] is a list of sentences, and the tokenizer "
            "takes lists.",
            "用 batched=True 时，example['sentence1'] 是一个句子列表，分词器可以直接接收列表。",
        ),
        Text(
            "Give the tokenizer both sentences, as a pair, with truncation=True, and no padding.",
            "把两个句子作为句子对交给分词器，加上 truncation=True，不要填充。",
        ),
    ),
    solution="""
def tokenize_function(example):
    return tokenizer(example["sentence1"], example["sentence2"], truncation=True)


ex.{label}.check(tokenize_function)
""",
)

# --- q2: the collator ----------------------------------------------------------------------


def _features():
    tokenizer = loaders.tokenizer(CHECKPOINT)
    return [dict(tokenizer(a, b, truncation=True), label=label) for a, b, label in PAIRS[:-1]]


def check_data_collator(data_collator):
    from transformers import DataCollatorWithPadding

    want = DataCollatorWithPadding(tokenizer=loaders.tokenizer(CHECKPOINT))(_features())
    try:
        batch = call(data_collator, copy.deepcopy(_features()))
    except LearnerRaised as raised:
        if raised.mentions(*NOT_STACKABLE):
            return wrong("no_padding")
        raise
    if not isinstance(batch, Mapping) or "input_ids" not in batch:
        raise NotYet(
            "wrong_type", expected="a dict of tensors (input_ids, ...)", got=type(batch).__name__
        )
    if "labels" not in batch:
        return wrong("label_not_renamed" if "label" in batch else "labels_missing")
    if not all(isinstance(batch[key], torch.Tensor) for key in want):
        return wrong("not_tensors")
    width, wanted = batch["input_ids"].shape[-1], want["input_ids"].shape[-1]
    if width > wanted:
        return wrong("padded_to_fixed_length", width=width, longest=wanted)
    if all(key in batch and torch.equal(batch[key], want[key]) for key in want):
        return correct(longest=wanted)
    return wrong("general")


DATA_COLLATOR = Exercise(
    name="data_collator",
    title=Text("the collator: dynamic padding", "整理函数：动态填充"),
    answer="function",
    check=check_data_collator,
    correct=Text(
        "your collator pads three pairs to their own longest ({longest} tokens) and returns "
        "tensors with labels, as DataCollatorWithPadding does.",
        "你的整理函数把三对句子补到它们自己最长的长度（{longest} 个词元），返回带 labels 的张量，"
        "和 DataCollatorWithPadding 一样。",
    ),
    general=Text(
        "the batch differs from DataCollatorWithPadding(tokenizer=tokenizer)(features).",
        "这个批次和 DataCollatorWithPadding(tokenizer=tokenizer)(features) 的结果不同。",
    ),
    misconceptions={
        "no_padding": Text(
            "no padding, so the tensors cannot be stacked: the pairs have different lengths.",
            "没有填充，所以张量叠不起来：这些句子对长短不一。",
        ),
        "padded_to_fixed_length": Text(
            "padded to {width} tokens although the longest pair has {longest}: dynamic padding "
            "pads each batch to its own longest, which saves most of the compute.",
            "补到了 {width} 个词元，可最长的句子对只有 {longest} 个：动态填充把每个批次只补到"
            "该批次最长的长度，能省下大部分计算。",
        ),
        "label_not_renamed": Text(
            "the batch has 'label' but the model's loss wants 'labels': "
            "DataCollatorWithPadding renames it (or rename the column).",
            "批次里是 'label'，而模型计算损失要的是 'labels'：DataCollatorWithPadding 会替你改名"
            "（或者自己重命名这一列）。",
        ),
        "labels_missing": Text(
            "the labels are missing from the batch: without them the model computes no loss.",
            "批次里没有标签：没有它们，模型算不出损失。",
        ),
        "not_tensors": Text(
            "the batch holds lists; the model wants tensors (return_tensors='pt').",
            "批次里是列表；模型要的是张量（return_tensors='pt'）。",
        ),
    },
    hints=(
        Text(
            "DataCollatorWithPadding(tokenizer=tokenizer) is a function of a list of features.",
            "DataCollatorWithPadding(tokenizer=tokenizer) 本身就是一个接收特征列表的函数。",
        ),
        Text(
            "By hand: tokenizer.pad(features, padding=True, return_tensors='pt'), then rename "
            "'label' to 'labels'.",
            "自己写：tokenizer.pad(features, padding=True, return_tensors='pt')，"
            "再把 'label' 改名为 'labels'。",
        ),
    ),
    solution="""
from transformers import DataCollatorWithPadding

data_collator = DataCollatorWithPadding(tokenizer=tokenizer)

ex.{label}.check(data_collator)
""",
)

# --- q3: one training step -----------------------------------------------------------------


def _tiny_model():
    """A small BERT classifier with the chapter's vocabulary and no dropout (so steps repeat)."""
    from transformers import BertConfig, BertForSequenceClassification

    config = BertConfig(
        vocab_size=loaders.tokenizer(CHECKPOINT).vocab_size, hidden_size=32, num_hidden_layers=2,
        num_attention_heads=2, intermediate_size=64, hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0, num_labels=2,
    )  # fmt: skip
    with torch.random.fork_rng(devices=[]):  # the learner's random state stays as it was
        torch.manual_seed(0)
        return BertForSequenceClassification(config).train()


def _training_setup(base):
    from transformers import get_scheduler

    model = copy.deepcopy(base)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    scheduler = get_scheduler("linear", optimizer, num_warmup_steps=0, num_training_steps=4)
    return model, optimizer, scheduler


def _batch():
    tokenizer = loaders.tokenizer(CHECKPOINT)
    batch = tokenizer(
        [p[0] for p in PAIRS[:2]], [p[1] for p in PAIRS[:2]], padding=True, return_tensors="pt"
    )
    return {**batch, "labels": torch.tensor([p[2] for p in PAIRS[:2]])}


def _reference_step(model, batch, optimizer, scheduler, *, zero_grad=True, schedule=True):
    loss = model(**batch).loss
    loss.backward()
    optimizer.step()
    if schedule:
        scheduler.step()
    if zero_grad:
        optimizer.zero_grad()
    return loss.item()


def _run(step, base, steps=2, **options):
    model, optimizer, scheduler = _training_setup(base)
    losses = [step(model, _batch(), optimizer, scheduler, **options) for _ in range(steps)]
    return model, scheduler, losses


def _same_weights(a, b) -> bool:
    return all(
        torch.allclose(p, q, atol=1e-6) for p, q in zip(a.parameters(), b.parameters(), strict=True)
    )


def check_training_step(training_step):
    base = _tiny_model()
    reference, reference_scheduler, losses = _run(_reference_step, base)
    model, optimizer, scheduler = _training_setup(base)
    backward_calls = []
    model.classifier.weight.register_hook(lambda grad: backward_calls.append(1))
    got = []
    for _ in range(2):
        loss = call(training_step, model, _batch(), optimizer, scheduler)
        if not isinstance(loss, torch.Tensor | float):
            raise NotYet(
                "wrong_type", expected="the loss (a tensor or a float)", got=type(loss).__name__
            )
        got.append(float(loss.detach()) if isinstance(loss, torch.Tensor) else loss)
    if _same_weights(model, base):
        return wrong("no_optimizer_step" if backward_calls else "no_backward")
    if scheduler.get_last_lr() == [1e-3]:
        return wrong("no_scheduler_step")
    if _same_weights(model, reference) and all(
        abs(g - w) < 1e-5 for g, w in zip(got, losses, strict=True)
    ):
        return correct()
    if _same_weights(model, _run(_reference_step, base, zero_grad=False)[0]):
        return wrong("no_zero_grad")
    return wrong("general")


TRAINING_STEP = Exercise(
    name="training_step",
    title=Text("one training step", "一个训练步"),
    answer="function",
    check=check_training_step,
    correct=Text(
        "two of your steps change the weights and the learning rate exactly as the course's "
        "loop does, and return the loss.",
        "你的两个训练步对权重和学习率的改变与课程的训练循环完全一致，并返回了损失。",
    ),
    general=Text(
        "after two steps the weights (or the returned losses) differ from the course's loop: "
        "forward, loss.backward(), optimizer.step(), lr_scheduler.step(), optimizer.zero_grad().",
        "两步之后，权重（或返回的损失）与课程的训练循环不同：前向计算、loss.backward()、"
        "optimizer.step()、lr_scheduler.step()、optimizer.zero_grad()。",
    ),
    misconceptions={
        "no_backward": Text(
            "the weights did not change and no gradient was computed: call loss.backward() "
            "before optimizer.step().",
            "权重没有变，也没有算出梯度：在 optimizer.step() 之前调用 loss.backward()。",
        ),
        "no_optimizer_step": Text(
            "the gradients are there but the weights did not change: optimizer.step() applies "
            "them.",
            "梯度已经有了，但权重没有变：optimizer.step() 才会把梯度用到权重上。",
        ),
        "no_scheduler_step": Text(
            "the learning rate never changed: call lr_scheduler.step() after optimizer.step(), "
            "once per batch.",
            "学习率一直没变：每个批次在 optimizer.step() 之后调用一次 lr_scheduler.step()。",
        ),
        "no_zero_grad": Text(
            "the gradients are never reset, so each step adds the previous batches' gradients "
            "to its own: call optimizer.zero_grad() once per step.",
            "梯度从来没有清零，所以每一步都把之前批次的梯度加到了自己的梯度上：每一步调用一次 "
            "optimizer.zero_grad()。",
        ),
    },
    hints=(
        Text(
            "outputs = model(**batch): with 'labels' in the batch, outputs.loss is the loss.",
            "outputs = model(**batch)：批次里有 'labels' 时，outputs.loss 就是损失。",
        ),
        Text(
            "Then loss.backward(), optimizer.step(), lr_scheduler.step(), "
            "optimizer.zero_grad(), and return the loss.",
            "然后 loss.backward()、optimizer.step()、lr_scheduler.step()、optimizer.zero_grad()，"
            "最后返回损失。",
        ),
    ),
    solution="""
def training_step(model, batch, optimizer, lr_scheduler):
    loss = model(**batch).loss
    loss.backward()
    optimizer.step()
    lr_scheduler.step()
    optimizer.zero_grad()
    return loss


ex.{label}.check(training_step)
""",
)

# --- q4: token_type_ids; q5: how many training steps ---------------------------------------

TOKEN_TYPE_IDS = choice_question(
    title=Text("what token_type_ids hold for a pair", "句子对的 token_type_ids 里是什么"),
    choices=[
        Choice(
            "a",
            "positions",
            "positions are the model's own business (position embeddings); "
            "token_type_ids say which sentence each token belongs to.",
            "位置由模型自己处理（位置嵌入）；token_type_ids 表示每个词元属于哪个句子。",
        ),
        Choice(
            "b",
            "sentence",
            "0 for [CLS], the first sentence and its [SEP]; 1 for the second sentence and "
            "the final [SEP]. BERT learnt them in next sentence prediction.",
            "[CLS]、第一个句子和它后面的 [SEP] 是 0；第二个句子和最后的 [SEP] 是 1。"
            "BERT 在预训练的下一句预测任务里学会了它们。",
        ),
        Choice(
            "c",
            "padding",
            "that is the attention_mask: 1 for real tokens, 0 for padding.",
            "那是 attention_mask：真实词元是 1，填充是 0。",
        ),
        Choice(
            "d",
            "words",
            "that is word_ids(): which word each sub-word came from. token_type_ids say "
            "which sentence.",
            "那是 word_ids()：每个子词来自哪个单词。token_type_ids 表示的是哪个句子。",
        ),
    ],
    answer="b",
    hints=(
        Text(
            "Section 'Tokenizing sentence pairs' printed each token next to its token_type_id.",
            "“对句子对做分词”一节把每个词元和它的 token_type_id 并排打印了出来。",
        ),
        Text(
            "How many different values do they take for a pair?",
            "对一个句子对，它们有几种不同的取值？",
        ),
    ),
)


def check_training_steps(answer):
    if isinstance(answer, bool) or not isinstance(answer, int | float):
        raise NotYet("wrong_type", expected="a number", got=type(answer).__name__)
    if answer == 1377:
        return correct()
    if answer in (1374, 1375, 1375.5, 1376):
        return wrong("partial_last_batch")
    if answer == 459:
        return wrong("one_epoch")
    if answer in (3668 * 3, 3668):
        return wrong("examples_not_batches")
    return wrong("general")


TRAINING_STEPS = Exercise(
    kind="question",
    name="num_training_steps",
    title=Text("how many training steps?", "一共多少个训练步？"),
    answer="value",
    check=check_training_steps,
    correct=Text(
        "3,668 pairs in batches of 8 make 459 batches (the last one holds 4), so 3 epochs are "
        "1,377 steps: the number get_scheduler needs.",
        "3,668 对句子按 8 个一批，共 459 批（最后一批只有 4 对），3 个 epoch 就是 1,377 步："
        "这正是 get_scheduler 需要的数字。",
    ),
    general=Text(
        "steps = epochs × batches per epoch, and batches per epoch = len(train_dataloader).",
        "总步数 = epoch 数 × 每个 epoch 的批次数，每个 epoch 的批次数 = len(train_dataloader)。",
    ),
    misconceptions={
        "partial_last_batch": Text(
            "3,668 / 8 is 458.5: the last, smaller batch still counts as a step, so there are 459 "
            "batches per epoch (math.ceil).",
            "3,668 / 8 = 458.5：最后那个不满的批次也算一步，所以每个 epoch 有 459 批（向上取整）。",
        ),
        "one_epoch": Text(
            "459 is one epoch; the loop runs 3.",
            "459 是一个 epoch 的步数；训练循环要跑 3 个 epoch。",
        ),
        "examples_not_batches": Text(
            "that counts pairs, not batches: one step processes a whole batch of 8.",
            "这数的是句子对，而不是批次：一步处理一整批 8 对。",
        ),
    },
    hints=(
        Text(
            "One step per batch; how many batches of 8 do 3,668 pairs make?",
            "每个批次一步；3,668 对句子按 8 个一批能分成多少批？",
        ),
        Text("A last, smaller batch is still a batch.", "最后那个不满的批次也是一批。"),
    ),
    solution="""
import math

num_training_steps = 3 * math.ceil(3668 / 8)

ex.{label}.check(num_training_steps)
""",
)

EXERCISES = [TOKENIZE_FUNCTION, DATA_COLLATOR, TRAINING_STEP, TOKEN_TYPE_IDS, TRAINING_STEPS]
