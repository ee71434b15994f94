"""Chapter 1, part 1 (pipelines): build a pipeline, use a model's own mask token, size a
model's weights, predict the notes' "You monster!" pair, and greedy decoding."""

from __future__ import annotations

from pathlib import Path

from course_utils.exercises import loaders
from course_utils.exercises.core import (
    Exercise,
    LearnerRaised,
    NotYet,
    call,
    correct,
    unchecked,
    wrong,
)
from course_utils.exercises.messages import Text
from course_utils.exercises.questions import Choice, choice_question

NER_MODEL = "dbmdz/bert-large-cased-finetuned-conll03-english"
NER_SENTENCE = "My name is Sylvain and I work at Hugging Face in Brooklyn."
FILL_MASK_MODELS = ("google-bert/bert-base-cased", "distilbert/distilroberta-base")
BLANK = "___"
BLANK_SENTENCES = (
    "Paris is the ___ of France.",
    "This course will teach you all about ___ models.",
)
SENTIMENT_MODEL = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
MONSTERS = ("You monster!", "You clever monster!")

# --- q1: a pipeline for a task, with a named model -----------------------------------------


def _same_entities(got, want) -> bool:
    if not isinstance(got, list) or len(got) != len(want):
        return False
    keys = ("entity_group", "word", "start", "end")
    for g, w in zip(got, want, strict=True):
        if not isinstance(g, dict) or any(g.get(k) != w[k] for k in keys):
            return False
        if abs(float(g.get("score", -1)) - float(w["score"])) > 1e-4:
            return False
    return True


def _same_model(model, name: str) -> bool:
    expected = loaders.checkpoint(name).source
    given = str(getattr(model, "name_or_path", ""))
    if given == expected:
        return True
    return Path(given).expanduser().resolve() == Path(expected).expanduser().resolve()


def check_ner_pipeline(pipe):
    from transformers import Pipeline, pipeline

    if not isinstance(pipe, Pipeline):
        raise NotYet(
            "wrong_type",
            expected="a pipeline (what pipeline(...) returns)",
            got=type(pipe).__name__,
        )
    if pipe.task not in ("ner", "token-classification"):
        return wrong("wrong_task", task=pipe.task)
    if not _same_model(pipe.model, NER_MODEL):
        return wrong("wrong_model", model=pipe.model.name_or_path)
    got = call(pipe, NER_SENTENCE)
    for strategy in ("simple", "first", "average", "max"):
        reference = pipeline(
            "token-classification", model=pipe.model, tokenizer=pipe.tokenizer,
            aggregation_strategy=strategy,
        )  # fmt: skip
        if _same_entities(got, reference(NER_SENTENCE)):
            return correct(strategy=strategy, model=loaders.model_label(NER_MODEL))
    if isinstance(got, list) and got and isinstance(got[0], dict) and "entity" in got[0]:
        return wrong("not_grouped")
    return wrong("general")


NER_PIPELINE = Exercise(
    name="ner_grouped",
    title=Text("a pipeline for a task, with a named model", "为任务建一个管线，并指定模型"),
    answer="value",
    check=check_ner_pipeline,
    correct=Text(
        "a token-classification pipeline on {model} that groups the sub-words into entities "
        "(aggregation_strategy={strategy!r}).",
        "这是 {model} 上的词元分类管线，并且把子词合并成了完整的实体"
        "（aggregation_strategy={strategy!r}）。",
    ),
    general=Text(
        f"its answer for {NER_SENTENCE!r} differs from the same model's with "
        "aggregation_strategy='simple'.",
        f"它对 {NER_SENTENCE!r} 的输出与同一模型在 aggregation_strategy='simple' 时的输出不同。",
    ),
    misconceptions={
        "wrong_task": Text(
            "this pipeline does {task!r}; finding persons, organisations and places in a text is "
            "'ner' (also called 'token-classification').",
            "这个管线做的是 {task!r}；在文本里找出人名、机构和地名的任务是 'ner'"
            "（也叫 'token-classification'）。",
        ),
        "wrong_model": Text(
            f"this pipeline runs {{model}}; the exercise names {NER_MODEL}: pass "
            f'model=resolve_checkpoint("{NER_MODEL}").',
            f"这个管线用的是 {{model}}；练习指定的是 {NER_MODEL}：传入 "
            f'model=resolve_checkpoint("{NER_MODEL}")。',
        ),
        "not_grouped": Text(
            "you get one row per sub-word token ('entity': 'B-PER', ...): group them into whole "
            "entities with aggregation_strategy='simple' (the notes' grouped_entities=True is "
            "gone).",
            "每个子词一行（'entity': 'B-PER', ...）：用 aggregation_strategy='simple' 把它们合并成"
            "完整的实体（笔记里的 grouped_entities=True 已经被删除了）。",
        ),
    },
    hints=(
        Text(
            "pipeline(task, model=resolve_checkpoint(name)): the task is 'ner'.",
            "pipeline(task, model=resolve_checkpoint(name))：任务是 'ner'。",
        ),
        Text(
            "Without more, the pipeline returns one row per sub-word; one more argument groups "
            "them (section 8).",
            "不加别的参数，管线每个子词返回一行；再加一个参数就能合并（第 8 节）。",
        ),
    ),
    solution=f"""
from course_utils import pipeline, resolve_checkpoint

ner_grouped = pipeline(
    "ner",
    model=resolve_checkpoint("{NER_MODEL}"),
    aggregation_strategy="simple",
)

ex.{{label}}.check(ner_grouped)
""",
)

# --- q2: fill the blank with the model's own mask token ------------------------------------


def check_fill_blank(fill_blank):
    for name in FILL_MASK_MODELS:
        unmasker = loaders.task_pipeline("fill-mask", name)
        for sentence in BLANK_SENTENCES:
            masked = sentence.replace(BLANK, unmasker.tokenizer.mask_token)
            best = unmasker(masked)[0]
            try:
                got = call(fill_blank, unmasker, sentence)
            except LearnerRaised as raised:
                if raised.mentions("no mask_token"):
                    return wrong("hardcoded_mask", model=name, mask=unmasker.tokenizer.mask_token)
                raise
            if isinstance(got, list | dict):
                return wrong("whole_prediction")
            if not isinstance(got, str):
                raise NotYet("wrong_type", expected="a str (the word)", got=type(got).__name__)
            if got.strip() == best["token_str"].strip():
                continue
            if got.strip() == best["sequence"].strip():
                return wrong("returned_sequence")
            return wrong("general", model=name)
    return correct()


FILL_BLANK = Exercise(
    name="fill_blank",
    title=Text("fill the blank, with any model's mask token", "填空：用模型自己的掩码词元"),
    answer="function",
    check=check_fill_blank,
    correct=Text(
        "your fill_blank gives each model's best word, with BERT's [MASK] and RoBERTa's "
        "<mask> alike.",
        "你的 fill_blank 给出了每个模型的最佳答案，BERT 的 [MASK] 和 RoBERTa 的 <mask> 都对。",
    ),
    general=Text(
        "on {model} your word is not the pipeline's best answer: return "
        "unmasker(masked_text)[0]['token_str'].",
        "在 {model} 上，你返回的词不是管线的第一个答案：返回 unmasker(masked_text)[0]['token_str']。",
    ),
    misconceptions={
        "hardcoded_mask": Text(
            "the pipeline of {model} found no mask in your text: its mask token is {mask}. Every "
            "model has its own: use unmasker.tokenizer.mask_token instead of writing one.",
            "{model} 的管线在你的文本里找不到掩码：它的掩码词元是 {mask}。每个模型都有自己的"
            "掩码词元：用 unmasker.tokenizer.mask_token，不要自己写死。",
        ),
        "whole_prediction": Text(
            "that is the pipeline's answer as it comes (a list of candidates, each a dict); "
            "return only the best candidate's word: [0]['token_str'].",
            "这是管线原样的输出（候选列表，每个是一个 dict）；只返回最好的那个候选的词："
            "[0]['token_str']。",
        ),
        "returned_sequence": Text(
            "that is the whole filled-in sentence ('sequence'); return just the word "
            "('token_str').",
            "这是填好的整句话（'sequence'）；只返回那个词（'token_str'）。",
        ),
    },
    hints=(
        Text(
            f"Replace {BLANK!r} in text by the model's mask token: unmasker.tokenizer.mask_token.",
            f"把 text 里的 {BLANK!r} 换成模型的掩码词元：unmasker.tokenizer.mask_token。",
        ),
        Text(
            "unmasker(masked) returns candidates, best first; each has 'token_str'.",
            "unmasker(masked) 返回候选列表，最好的在最前面；每个候选都有 'token_str'。",
        ),
    ),
    solution=f"""
def fill_blank(unmasker, text):
    masked = text.replace("{BLANK}", unmasker.tokenizer.mask_token)
    return unmasker(masked)[0]["token_str"].strip()


ex.{{label}}.check(fill_blank)
""",
)

# --- q3: the size of the weights -----------------------------------------------------------

BYTES_PER_PARAMETER = {"float32": 4, "bfloat16": 2, "float16": 2, "int8": 1, "int4": 0.5}
SIZES = [(7_240_000_000, dtype) for dtype in BYTES_PER_PARAMETER] + [(140_620_000_000, "bfloat16")]


def _near(got: float, want: float) -> bool:
    return abs(got - want) <= 1e-6 * abs(want)


def check_weights_gib(weights_gib):
    for n_params, dtype in SIZES:
        try:
            got = call(weights_gib, n_params, dtype)
        except LearnerRaised as raised:
            if isinstance(raised.error, KeyError):
                return wrong("missing_dtype", dtype=dtype)
            raise
        if not isinstance(got, int | float) or isinstance(got, bool):
            raise NotYet("wrong_type", expected="a number of GiB", got=type(got).__name__)
        size = BYTES_PER_PARAMETER[dtype] * n_params
        if _near(got, size / 2**30):
            continue
        if _near(got, size / 1e9):
            return wrong("gigabytes")
        if _near(got, 8 * size / 2**30) or _near(got, 8 * size / 1e9):
            return wrong("bits")
        if dtype != "float32" and _near(got, 4 * n_params / 2**30):
            return wrong("same_for_every_dtype", dtype=dtype)
        return wrong("general", n_params=n_params, dtype=dtype)
    return correct()


WEIGHTS_GIB = Exercise(
    name="weights_gib",
    title=Text("how much memory the weights need", "权重要占多少内存"),
    answer="function",
    check=check_weights_gib,
    correct=Text(
        "right for every dtype, from 26.97 GiB (7.24 B parameters in float32) to 3.37 GiB (int4).",
        "每种 dtype 都对：从 26.97 GiB（72.4 亿个参数，float32）到 3.37 GiB（int4）。",
    ),
    general=Text(
        "wrong for {n_params:,} parameters in {dtype}: bytes = parameters × bytes per "
        "parameter, and 1 GiB = 2**30 bytes.",
        "{n_params:,} 个参数、{dtype} 时不对：字节数 = 参数个数 × 每个参数的字节数，"
        "1 GiB = 2**30 字节。",
    ),
    misconceptions={
        "gigabytes": Text(
            "that is in GB (10**9 bytes); memory is counted in GiB, 2**30 bytes, about 7 % more "
            "per unit: 14.5 GB is 13.5 GiB.",
            "这是 GB（10**9 字节）；内存按 GiB 计，1 GiB = 2**30 字节，比 1 GB 大约 7 %："
            "14.5 GB 是 13.5 GiB。",
        ),
        "bits": Text(
            "that counts bits: bfloat16 is 16 bits, but 2 bytes per parameter.",
            "这算的是比特：bfloat16 是 16 比特，也就是每个参数 2 字节。",
        ),
        "same_for_every_dtype": Text(
            "{dtype} gets the size of float32: the bytes per parameter depend on the dtype "
            "(4 float32, 2 bfloat16/float16, 1 int8, 0.5 int4).",
            "{dtype} 算出的是 float32 的大小：每个参数的字节数取决于 dtype（float32 4，"
            "bfloat16/float16 2，int8 1，int4 0.5）。",
        ),
        "missing_dtype": Text(
            "your function does not know {dtype!r}: the check asks for float32, bfloat16, "
            "float16, int8 and int4.",
            "你的函数不认识 {dtype!r}：检查会用到 float32、bfloat16、float16、int8 和 int4。",
        ),
    },
    hints=(
        Text(
            "A dict from dtype to bytes per parameter: float32 4, bfloat16 and float16 2, int8 "
            "1, int4 0.5.",
            "用一个 dict 把 dtype 对应到每个参数的字节数：float32 4，bfloat16 和 float16 2，"
            "int8 1，int4 0.5。",
        ),
        Text(
            "Multiply by the number of parameters, then divide by 2**30 (GiB, not GB).",
            "乘以参数个数，再除以 2**30（GiB，不是 GB）。",
        ),
    ),
    solution="""
BYTES_PER_PARAMETER = {"float32": 4, "bfloat16": 2, "float16": 2, "int8": 1, "int4": 0.5}


def weights_gib(n_params, dtype):
    return n_params * BYTES_PER_PARAMETER[dtype] / 2**30


ex.{label}.check(weights_gib)
""",
)

# --- q4: the notes' "You monster!" pair ----------------------------------------------------


def _model_says() -> tuple[dict[str, str], bool]:
    """The sentiment model's label for each sentence, and whether that model is a stand-in."""
    classifier = loaders.task_pipeline("sentiment-analysis", SENTIMENT_MODEL)
    said = {sentence: classifier(sentence)[0]["label"] for sentence in MONSTERS}
    return said, loaders.checkpoint(SENTIMENT_MODEL).is_standin


def check_monsters(prediction):
    if not isinstance(prediction, dict) or set(prediction) != set(MONSTERS):
        raise NotYet(
            "wrong_type",
            expected='a dict {"You monster!": label, "You clever monster!": label}',
            got=type(prediction).__name__,
        )
    if Ellipsis in prediction.values():
        raise NotYet("stub_value")
    labels = sorted(
        loaders.task_pipeline("sentiment-analysis", SENTIMENT_MODEL).model.config.id2label.values()
    )
    if any(label not in labels for label in prediction.values()):
        return wrong("unknown_label", labels=", ".join(labels))
    said, on_standin = _model_says()
    fields = {"monster": said[MONSTERS[0]], "clever": said[MONSTERS[1]]}
    if on_standin:
        return unchecked("offline", **fields)
    if dict(prediction) == said:
        return correct(**fields)
    if len(set(prediction.values())) == 1 and len(set(said.values())) == 2:
        return wrong("one_word_flips", **fields)
    return wrong("general", **fields)


MONSTER_PREDICTION = Exercise(
    kind="question",
    name="prediction",
    title=Text(
        "predict: “You monster!” and “You clever monster!”",
        "预测：“You monster!” 和 “You clever monster!”",
    ),
    answer="value",
    check=check_monsters,
    correct=Text(
        "the model says {monster} for 'You monster!' and {clever} for 'You clever monster!', as "
        "you predicted.",
        "模型对 'You monster!' 的判断是 {monster}，对 'You clever monster!' 的判断是 {clever}，"
        "和你的预测一样。",
    ),
    general=Text(
        "the model says {monster} for 'You monster!' and {clever} for 'You clever monster!'.",
        "模型对 'You monster!' 的判断是 {monster}，对 'You clever monster!' 的判断是 {clever}。",
    ),
    misconceptions={
        "unknown_label": Text(
            "the labels are the model's own names, from model.config.id2label: {labels}.",
            "标签是模型自己的名字，来自 model.config.id2label：{labels}。",
        ),
        "one_word_flips": Text(
            "one word flips the verdict: the model says {monster} for 'You monster!' but "
            "{clever} for 'You clever monster!'. It reads the whole sentence, not a list of good "
            "and bad words.",
            "一个词就改变了判断：模型对 'You monster!' 说 {monster}，对 'You clever monster!' 却说 "
            "{clever}。它读的是整句话，而不是一张好词坏词的清单。",
        ),
    },
    notes={
        "offline": Text(
            "offline, the sentiment model is a stand-in with random weights; it says {monster} "
            "and {clever}, which tells nothing about the real model. Run this online to check "
            "your prediction against the real checkpoint.",
            "离线时情感模型是权重随机的替身；它的回答是 {monster} 和 {clever}，"
            "这说明不了真实模型会怎么判断。联网运行，才能用真实的检查点检验你的预测。",
        ),
    },
    hints=(
        Text(
            "The labels are the model's: NEGATIVE or POSITIVE (model.config.id2label).",
            "标签用模型自己的：NEGATIVE 或 POSITIVE（model.config.id2label）。",
        ),
        Text(
            "Does the model judge words one by one, or the whole sentence?",
            "模型是一个词一个词地判断，还是看整句话？",
        ),
    ),
    solution="""
prediction = {"You monster!": "NEGATIVE", "You clever monster!": "POSITIVE"}

ex.{label}.check(prediction)
""",
)

# --- q5: greedy decoding with two sequences ------------------------------------------------

GREEDY_TWO_SEQUENCES = choice_question(
    title=Text("greedy decoding, two sequences", "贪心解码，要两个结果"),
    choices=[
        Choice(
            "a",
            "two different",
            "greedy decoding takes the most likely token at every step: there is only one "
            "such continuation. Two different ones need sampling (do_sample=True) or beams "
            "(num_beams=2).",
            "贪心解码每一步都取最可能的词元：这样的续写只有一个。要得到两个不同的结果，"
            "需要采样（do_sample=True）或束搜索（num_beams=2）。",
        ),
        Choice(
            "b",
            "the same twice",
            "that would be the logical result, but transformers refuses instead of "
            "repeating it: a ValueError.",
            "按道理会得到两个一样的结果，但 transformers 不会重复输出，而是直接报错：ValueError。",
        ),
        Choice(
            "c",
            "ValueError",
            'greedy decoding has exactly one answer, so transformers raises "Greedy methods '
            'without beam search do not support num_return_sequences different than 1"; '
            "sample (do_sample=True) or use beams (num_beams >= 2).",
            '贪心解码只有一个答案，所以 transformers 会报错 "Greedy methods without beam search '
            'do not support num_return_sequences different than 1"；改用采样（do_sample=True）'
            "或束搜索（num_beams >= 2）。",
        ),
    ],
    answer="c",
    hints=(
        Text(
            "Greedy: at every step, the single most likely next token.",
            "贪心：每一步只取最可能的那一个词元。",
        ),
        Text(
            "Section 4 ran exactly this call (the notes' error).",
            "第 4 节正好运行过这个调用（笔记里遇到的错误）。",
        ),
    ),
)

EXERCISES = [NER_PIPELINE, FILL_BLANK, WEIGHTS_GIB, MONSTER_PREDICTION, GREEDY_TWO_SEQUENCES]
