"""What an offline stand-in shows a learner: noise that looks like noise, and a notice that says
what the stand-in cannot do (issue #20 item 6, issue #23 item 21)."""

import pytest

from course_utils import resolve_checkpoint


@pytest.fixture(scope="module")
def chat():
    from transformers import pipeline

    return pipeline(
        "text-generation", model=resolve_checkpoint("HuggingFaceTB/SmolLM2-360M-Instruct")
    )


def test_the_chat_stand_in_writes_no_flood_of_blank_lines(chat):
    """Random weights repeat one token; a newline repeated 60 times printed a 1,000-pixel blank
    area in chapter 1. The stand-in suppresses whitespace-only tokens, so its noise stays on a
    line of its own."""
    messages = [{"role": "user", "content": "Summarize this text in one sentence.\nAmerica."}]
    reply = chat(messages, max_new_tokens=60, do_sample=False)[0]["generated_text"][-1]["content"]
    assert reply.strip(), "the stand-in's reply is blank"
    assert reply.count("\n") <= 2, f"{reply.count(chr(10))} line breaks in a 60-token reply"


def test_the_chat_stand_in_suppresses_only_blank_tokens(chat):
    tokenizer = chat.tokenizer
    suppressed = chat.model.generation_config.suppress_tokens
    assert suppressed, "no token is suppressed"
    assert all(not tokenizer.decode([i]).strip() for i in suppressed)
    assert not set(suppressed) & set(tokenizer.all_special_ids)  # it can still end its reply


def test_the_minilm_stand_in_says_it_has_no_masked_lm_head(capsys):
    """bert-base-uncased's stand-in is the pretrained MiniLM without an MLM head: the course's
    fill-mask call on it (chapter 1.9) guesses another word on every run, and the notice says so."""
    resolve_checkpoint("bert-base-uncased")
    notice = capsys.readouterr().out
    assert "stand-in for google-bert/bert-base-uncased" in notice
    assert "no masked-LM head" in notice and "at random" in notice
