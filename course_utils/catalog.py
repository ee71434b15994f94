"""Every model the course uses, in one place.

Notebooks take names from here (or pass a real Hub id through :func:`course_utils.resolve_checkpoint`).
Each entry keeps the architecture numbers of the real checkpoint's config.json, so memory
checks work offline and stand-ins can be built in the same family without the Hub.
"""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass, field

CHAPTERS = (0, 1, 2, 3)
EDITIONS = ("en", "zh-CN")  # the English notebooks, and the zh-CN edition's


@dataclass(frozen=True)
class StandinSpec:
    """How the offline stand-in of a catalog model is made.

    ``builder`` names a function in :mod:`course_utils.standins.builders`; ``options`` are passed
    to it; ``note`` is added to the notice when the stand-in is used.
    """

    builder: str
    options: tuple[tuple[str, object], ...] = ()
    note: str = ""


@dataclass(frozen=True)
class CatalogEntry:
    hub_id: str
    task: str
    family: str  # model_type of the real checkpoint
    model_class: str
    approx_parameters: int
    download_bytes: int
    aliases: tuple[str, ...] = ()
    chapters: tuple[int, ...] = ()
    gated: bool = False
    config: dict = field(default_factory=dict, compare=False, hash=False)
    notes: str = ""
    standin: StandinSpec | None = None  # None: memory checks only, never loaded
    dtype: str = "float32"  # the dtype its weights are stored in (what dtype="auto" loads)
    # Other editions of the course whose own sections use it: (edition, its chapters) pairs,
    # e.g. (("zh-CN", (1, 2)),). ``chapters`` stays the English chapters.
    editions: tuple[tuple[str, tuple[int, ...]], ...] = ()

    @property
    def short_name(self) -> str:
        return self.hub_id.split("/", 1)[1]

    @property
    def memory_only(self) -> bool:
        """Too big for the course: in the catalog for "will it fit?" only, never loaded."""
        return self.standin is None

    def stored_config(self) -> dict:
        """The real checkpoint's architecture numbers, as a config.json dict."""
        return {**self.config, "_name_or_path": self.hub_id}


_BART_LARGE = dict(
    model_type="bart",
    vocab_size=50265,
    d_model=1024,
    encoder_layers=12,
    decoder_layers=12,
    encoder_attention_heads=16,
    decoder_attention_heads=16,
    encoder_ffn_dim=4096,
    decoder_ffn_dim=4096,
    max_position_embeddings=1024,
)
_CONLL_LABELS = ["O", "B-MISC", "I-MISC", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]

ENTRIES: tuple[CatalogEntry, ...] = (
    CatalogEntry(
        "distilbert/distilbert-base-uncased-finetuned-sst-2-english",
        "text-classification",
        "distilbert",
        "DistilBertForSequenceClassification",
        66_955_010,
        268_000_000,
        # transformers 5 defaults its pipeline to this repository, at revision 714eb0f
        aliases=("distilbert-base-uncased-finetuned-sst-2-english",),
        chapters=(1, 2),
        config=dict(
            model_type="distilbert",
            architectures=["DistilBertForSequenceClassification"],
            vocab_size=30522,
            dim=768,
            n_layers=6,
            n_heads=12,
            hidden_dim=3072,
            id2label={0: "NEGATIVE", 1: "POSITIVE"},
        ),
        notes="default of pipeline('sentiment-analysis')",
        standin=StandinSpec("wordpiece_encoder", options=(("vocabulary", "uncased"),)),
    ),
    CatalogEntry(
        "facebook/bart-large-mnli",
        "zero-shot-classification",
        "bart",
        "BartForSequenceClassification",
        407_344_131,
        1_630_000_000,
        # transformers 5 defaults its pipeline to this repository, at revision d7645e1
        aliases=("bart-large-mnli",),
        chapters=(1,),
        config=dict(
            _BART_LARGE,
            architectures=["BartForSequenceClassification"],
            id2label={0: "contradiction", 1: "neutral", 2: "entailment"},
        ),
        standin=StandinSpec("bart_mnli"),
    ),
    CatalogEntry(
        "openai-community/gpt2",
        "text-generation",
        "gpt2",
        "GPT2LMHeadModel",
        124_439_808,
        548_000_000,
        aliases=("gpt2",),
        chapters=(1,),
        config=dict(model_type="gpt2", architectures=["GPT2LMHeadModel"]),
        notes="the course's text-generation model; transformers 5 defaults to a 3B model instead",
        standin=StandinSpec("gpt2", options=(("n_layer", 2),)),
    ),
    CatalogEntry(
        "distilbert/distilgpt2",
        "text-generation",
        "gpt2",
        "GPT2LMHeadModel",
        81_912_576,
        353_000_000,
        aliases=("distilgpt2",),
        chapters=(1,),
        config=dict(model_type="gpt2", architectures=["GPT2LMHeadModel"], n_layer=6),
        standin=StandinSpec("gpt2", options=(("n_layer", 1),)),
    ),
    CatalogEntry(
        "HuggingFaceTB/SmolLM2-360M-Instruct",
        "text-generation",
        "llama",
        "LlamaForCausalLM",
        361_821_120,
        724_000_000,
        aliases=("SmolLM2-360M-Instruct",),
        chapters=(1,),
        config=dict(
            model_type="llama",
            architectures=["LlamaForCausalLM"],
            vocab_size=49152,
            hidden_size=960,
            intermediate_size=2560,
            num_hidden_layers=32,
            num_attention_heads=15,
            num_key_value_heads=5,
            tie_word_embeddings=True,
            max_position_embeddings=8192,
        ),
        notes="small chat model: the transformers-5 way to summarize and translate",
        standin=StandinSpec("smollm2"),
        dtype="bfloat16",
    ),
    CatalogEntry(
        "distilbert/distilroberta-base",
        "fill-mask",
        "roberta",
        "RobertaForMaskedLM",
        82_170_201,
        331_000_000,
        # transformers 5 defaults its pipeline to this repository, at revision fb53ab8
        aliases=("distilroberta-base",),
        chapters=(1,),
        config=dict(
            model_type="roberta",
            architectures=["RobertaForMaskedLM"],
            vocab_size=50265,
            num_hidden_layers=6,
            max_position_embeddings=514,
            type_vocab_size=1,
        ),
        notes="mask token <mask>",
        standin=StandinSpec("distilroberta"),
    ),
    CatalogEntry(
        "google-bert/bert-base-cased",
        "fill-mask",
        "bert",
        "BertForMaskedLM",
        108_340_804,
        436_000_000,
        aliases=("bert-base-cased",),
        chapters=(1, 2),
        config=dict(model_type="bert", architectures=["BertForMaskedLM"], vocab_size=28996),
        notes="mask token [MASK]",
        standin=StandinSpec("wordpiece_encoder"),
    ),
    CatalogEntry(
        "dbmdz/bert-large-cased-finetuned-conll03-english",
        "ner",
        "bert",
        "BertForTokenClassification",
        332_538_889,
        1_330_000_000,
        # transformers 5 defaults its pipeline to this repository, at revision 4c53496
        aliases=("bert-large-cased-finetuned-conll03-english",),
        chapters=(1,),
        config=dict(
            model_type="bert",
            architectures=["BertForTokenClassification"],
            vocab_size=28996,
            hidden_size=1024,
            num_hidden_layers=24,
            num_attention_heads=16,
            intermediate_size=4096,
            id2label=dict(enumerate(_CONLL_LABELS)),
        ),
        standin=StandinSpec("wordpiece_encoder"),
    ),
    CatalogEntry(
        "distilbert/distilbert-base-cased-distilled-squad",
        "question-answering",
        "distilbert",
        "DistilBertForQuestionAnswering",
        65_192_450,
        261_000_000,
        aliases=("distilbert-base-cased-distilled-squad",),
        chapters=(1,),
        config=dict(
            model_type="distilbert",
            architectures=["DistilBertForQuestionAnswering"],
            vocab_size=28996,
            dim=768,
            n_layers=6,
            n_heads=12,
            hidden_dim=3072,
        ),
        standin=StandinSpec("wordpiece_encoder"),
    ),
    CatalogEntry(
        "sshleifer/distilbart-cnn-12-6",
        "summarization",
        "bart",
        "BartForConditionalGeneration",
        305_510_400,
        1_220_000_000,
        aliases=("distilbart-cnn-12-6",),
        chapters=(1,),
        config=dict(
            _BART_LARGE,
            architectures=["BartForConditionalGeneration"],
            vocab_size=50264,
            decoder_layers=6,
        ),
        standin=StandinSpec("distilbart_cnn"),
    ),
    CatalogEntry(
        "Helsinki-NLP/opus-mt-fr-en",
        "translation",
        "marian",
        "MarianMTModel",
        75_133_952,
        301_000_000,
        aliases=("opus-mt-fr-en",),
        chapters=(1,),
        config=dict(
            model_type="marian",
            architectures=["MarianMTModel"],
            vocab_size=59514,
            d_model=512,
            encoder_layers=6,
            decoder_layers=6,
            encoder_attention_heads=8,
            decoder_attention_heads=8,
            encoder_ffn_dim=2048,
            decoder_ffn_dim=2048,
            max_position_embeddings=512,
            pad_token_id=59513,
            decoder_start_token_id=59513,
        ),
        standin=StandinSpec("marian_mt", options=(("source", "fr"), ("target", "en"))),
    ),
    CatalogEntry(
        "distilbert/distilbert-base-cased",
        "feature-extraction",
        "distilbert",
        "DistilBertModel",
        65_190_912,
        263_000_000,
        # transformers 5 defaults its pipeline to this repository, at revision 6ea8117
        aliases=("distilbert-base-cased",),
        chapters=(1,),
        config=dict(
            model_type="distilbert",
            architectures=["DistilBertModel"],
            vocab_size=28996,
            dim=768,
            n_layers=6,
            n_heads=12,
            hidden_dim=3072,
        ),
        standin=StandinSpec("wordpiece_encoder"),
    ),
    CatalogEntry(
        "google-bert/bert-base-uncased",
        "text-classification",
        "bert",
        "BertForSequenceClassification",
        109_483_778,
        440_000_000,
        aliases=("bert-base-uncased",),
        chapters=(2, 3),
        config=dict(
            model_type="bert", architectures=["BertForSequenceClassification"], vocab_size=30522
        ),
        notes="fine-tuned on MRPC in chapter 3",
        standin=StandinSpec(
            "minilm_bert",
            note="the real pretrained all-MiniLM-L6-v2 BERT (same vocabulary), a smaller model with no "
            "masked-LM head (fill-mask on it guesses at random)",
        ),
    ),
    CatalogEntry(
        "alpindale/WizardLM-2-8x22B",
        "text-generation",
        "mixtral",
        "MixtralForCausalLM",
        140_620_634_112,
        283_790_000_000,
        aliases=("WizardLM-2-8x22B",),
        chapters=(1,),
        config=dict(
            model_type="mixtral",
            architectures=["MixtralForCausalLM"],
            vocab_size=32000,
            hidden_size=6144,
            intermediate_size=16384,
            num_hidden_layers=56,
            num_attention_heads=48,
            num_key_value_heads=8,
            num_local_experts=8,
            num_experts_per_tok=2,
            max_position_embeddings=65536,
            rope_theta=1_000_000.0,
            tie_word_embeddings=False,
        ),
        notes="the notes downloaded 283.79 GB of it and then ran out of RAM",
        dtype="bfloat16",
    ),
    CatalogEntry(
        "lucyknada/microsoft_WizardLM-2-7B",
        "text-generation",
        "mistral",
        "MistralForCausalLM",
        7_241_732_096,
        14_480_000_000,
        aliases=("microsoft_WizardLM-2-7B", "WizardLM-2-7B"),
        chapters=(1,),
        config=dict(
            model_type="mistral",
            architectures=["MistralForCausalLM"],
            vocab_size=32000,
            hidden_size=4096,
            intermediate_size=14336,
            num_hidden_layers=32,
            num_attention_heads=32,
            num_key_value_heads=8,
            max_position_embeddings=32768,
            tie_word_embeddings=False,
        ),
        notes="the notes needed about 26 GB of RAM for it: an fp32 load",
        dtype="bfloat16",
    ),
    CatalogEntry(
        "meta-llama/Meta-Llama-3-8B",
        "text-generation",
        "llama",
        "LlamaForCausalLM",
        8_030_261_248,
        16_060_000_000,
        aliases=("Meta-Llama-3-8B",),
        chapters=(0, 1),
        gated=True,
        config=dict(
            model_type="llama",
            architectures=["LlamaForCausalLM"],
            vocab_size=128256,
            hidden_size=4096,
            intermediate_size=14336,
            num_hidden_layers=32,
            num_attention_heads=32,
            num_key_value_heads=8,
            max_position_embeddings=8192,
            rope_theta=500000.0,
            tie_word_embeddings=False,
        ),
        notes="gated: ask for access on its Hub page first",
        dtype="bfloat16",
    ),
    # --- the zh-CN edition's Chinese sections ---------------------------------------------
    CatalogEntry(
        "google-bert/bert-base-chinese",
        "fill-mask",
        "bert",
        "BertForMaskedLM",
        102_290_312,
        412_400_000,
        aliases=("bert-base-chinese",),
        config=dict(
            model_type="bert",
            architectures=["BertForMaskedLM"],
            vocab_size=21128,
            hidden_size=768,
            num_hidden_layers=12,
            num_attention_heads=12,
            intermediate_size=3072,
            max_position_embeddings=512,
            type_vocab_size=2,
            pad_token_id=0,
        ),
        notes="mask token [MASK]; character-level: every Chinese character is one token",
        standin=StandinSpec("chinese_wordpiece_encoder"),
        editions=(("zh-CN", (1, 2, 3)),),
    ),
    CatalogEntry(
        "uer/roberta-base-finetuned-jd-binary-chinese",
        "text-classification",
        "bert",
        "BertForSequenceClassification",
        102_269_186,
        409_200_000,
        config=dict(
            model_type="bert",
            architectures=["BertForSequenceClassification"],
            vocab_size=21128,
            hidden_size=768,
            num_hidden_layers=12,
            num_attention_heads=12,
            intermediate_size=3072,
            max_position_embeddings=512,
            type_vocab_size=2,
            pad_token_id=0,
            id2label={0: "negative (stars 1, 2 and 3)", 1: "positive (stars 4 and 5)"},
        ),
        notes="Chinese sentiment (JD.com product reviews); a BERT despite its name, with the "
        "bert-base-chinese vocabulary; its main branch had no safetensors in 2025, only "
        "pytorch_model.bin",
        standin=StandinSpec("chinese_wordpiece_encoder"),
        editions=(("zh-CN", (1,)),),
    ),
    CatalogEntry(
        "Helsinki-NLP/opus-mt-zh-en",
        "translation",
        "marian",
        "MarianMTModel",
        77_943_296,
        315_300_000,
        aliases=("opus-mt-zh-en",),
        config=dict(
            model_type="marian",
            architectures=["MarianMTModel"],
            vocab_size=65001,
            d_model=512,
            encoder_layers=6,
            decoder_layers=6,
            encoder_attention_heads=8,
            decoder_attention_heads=8,
            encoder_ffn_dim=2048,
            decoder_ffn_dim=2048,
            max_position_embeddings=512,
            pad_token_id=65000,
            decoder_start_token_id=65000,
        ),
        notes="Chinese -> English",
        standin=StandinSpec(
            "marian_mt",
            options=(
                ("source", "zh"),
                ("target", "en"),
                ("source_lang", "zho"),
                ("target_lang", "eng"),
            ),
        ),
        editions=(("zh-CN", (1,)),),
    ),
)


@functools.cache
def _index() -> dict[str, CatalogEntry]:
    """Every lower-cased Hub id, short name and alias, mapped to its entry (built once)."""
    index: dict[str, CatalogEntry] = {}
    for entry in ENTRIES:
        for key in (entry.hub_id, entry.short_name, *entry.aliases):
            index.setdefault(key.lower(), entry)
    return index


def find(name: str) -> CatalogEntry | None:
    """The catalog entry for a Hub id, its short name or a legacy alias; ``None`` if unknown."""
    return _index().get(str(name).strip().lower())


def hub_id(name: str) -> str:
    """The canonical Hub id for a catalog name; other names are returned unchanged."""
    entry = find(name)
    return entry.hub_id if entry else str(name)


def did_you_mean(name: str, limit: int = 3) -> str:
    """Closest catalog names to a misspelled one, as readable text."""
    index = _index()
    close = difflib.get_close_matches(str(name).lower(), sorted(index), n=limit * 3, cutoff=0.5)
    picks = list(dict.fromkeys(index[key].hub_id for key in close))
    if not picks:
        return "one of: " + ", ".join(e.hub_id for e in ENTRIES if not e.memory_only)
    return " or ".join(repr(p) for p in picks[:limit])


def for_chapter(chapter: int) -> list[CatalogEntry]:
    """The entries a chapter uses, memory-only ones included."""
    return [e for e in ENTRIES if chapter in e.chapters]


def models_for(chapter: int, edition: str = "en") -> list[CatalogEntry]:
    """What a chapter of an edition uses: the chapter's models, plus the edition's own."""
    extra = for_edition(edition, chapter) if edition != "en" else []
    return list(dict.fromkeys([*for_chapter(chapter), *extra]))


def for_edition(edition: str, chapter: int) -> list[CatalogEntry]:
    """The entries a chapter's own sections use in another edition (e.g. ``"zh-CN"``), beyond
    the English chapter's (:func:`for_chapter`)."""
    return [e for e in ENTRIES if chapter in dict(e.editions).get(edition, ())]


@dataclass(frozen=True)
class DatasetEntry:
    """A dataset a chapter loads, with the approximate size of its files on the Hub."""

    repo_id: str
    subset: str
    chapters: tuple[int, ...]
    download_bytes: int


# The MRPC parquet files of nyu-mll/glue (train, validation and test).
DATASETS: tuple[DatasetEntry, ...] = (DatasetEntry("nyu-mll/glue", "mrpc", (3,), 1_030_000),)


def datasets_for_chapter(chapter: int) -> list[DatasetEntry]:
    return [d for d in DATASETS if chapter in d.chapters]
