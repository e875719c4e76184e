"""A file's text in the prompt: cut to its share of the budget with a note, and squeezed
further in memory rather than dropped."""

from domain.documents import cut_to_tokens, document_budget, fitted_text
from domain.memory import MIN_DOCUMENT_TOKENS, Turn, fit_window, turn_tokens
from domain.tokens import estimate_tokens


def test_a_text_within_the_budget_is_kept_whole_without_a_note():
    assert fitted_text("第一条：付款。", "", 100, estimate_tokens) == "第一条：付款。"


def test_a_long_text_is_cut_to_its_budget_with_a_note_of_what_was_left_out():
    text = "条" * 5000
    fitted = fitted_text(text, "pages 201 to 10000", 1000, estimate_tokens)
    assert estimate_tokens(fitted) <= 1000
    kept = fitted.split("\n")[0]
    assert set(kept) == {"条"} and len(kept) > 900
    assert f"about {5000 - len(kept):,} characters" in fitted
    assert fitted.endswith("pages 201 to 10000]")


def test_only_what_the_reader_left_unread_is_noted_when_the_text_fits():
    assert fitted_text("短", "rows after 5000", 100, estimate_tokens).endswith(
        "left out: rows after 5000]"
    )


def test_the_cut_is_the_longest_beginning_within_the_tokens():
    text = "word " * 100
    cut = cut_to_tokens(text, 10, estimate_tokens)
    assert estimate_tokens(cut) <= 10 < estimate_tokens(text[: len(cut) + 5])


def test_a_file_takes_half_the_conversation_budget():
    assert document_budget(4000) == 2000


def test_a_remembered_file_that_no_longer_fits_whole_is_squeezed_not_dropped():
    older = Turn("你好", "你好！")
    with_file = Turn("总结一下", "这是合同。", document="条款。" * 600)
    budget = 1000
    window = fit_window([with_file, older], budget, estimate_tokens)
    assert len(window) == 1
    [squeezed] = window
    assert squeezed.prompt == "总结一下" and squeezed.document.endswith("[……]")
    assert MIN_DOCUMENT_TOKENS <= turn_tokens(squeezed, estimate_tokens) <= budget


def test_a_turn_without_a_file_that_does_not_fit_ends_the_window_as_before():
    big = Turn("问" * 900, "答" * 900)
    assert fit_window([Turn("a", "b"), big], 500, estimate_tokens) == [Turn("a", "b")]
