from domain.memory import Turn, fit_window, history_budget, turn_tokens
from domain.tokens import MESSAGE_OVERHEAD_TOKENS, estimate_tokens


def test_chinese_counts_about_one_token_per_character():
    assert estimate_tokens("今天天气很好") == 6
    assert estimate_tokens("你好，世界！") == 6


def test_english_counts_about_one_token_per_common_word():
    assert estimate_tokens("The quick brown fox jumps over the lazy dog.") == 10
    assert estimate_tokens("internationalization") == 4


def test_empty_text_is_free():
    assert estimate_tokens("") == 0


def test_mixed_text_adds_up():
    assert estimate_tokens("用 Python 写") == estimate_tokens("用写") + estimate_tokens("Python")


def count(text: str) -> int:
    return len(text)


def turns(n: int) -> list[Turn]:
    return [Turn(prompt=f"q{i}", answer=f"a{i}") for i in range(n)]


def test_the_window_keeps_the_newest_turns_that_fit_oldest_first():
    one = turn_tokens(Turn("q0", "a0"), count)
    newest_first = list(reversed(turns(10)))
    window = fit_window(newest_first, budget=3 * one, count_tokens=count)
    assert [t.prompt for t in window] == ["q7", "q8", "q9"]


def test_the_window_stops_at_the_first_turn_that_does_not_fit():
    big = Turn("q" * 100, "a")
    newest_first = [Turn("q2", "a2"), big, Turn("q0", "a0")]
    window = fit_window(newest_first, budget=50, count_tokens=count)
    assert window == [Turn("q2", "a2")]


def test_nothing_fits_in_a_zero_budget():
    assert fit_window(turns(3), budget=0, count_tokens=count) == []


def test_history_budget_counts_system_prompt_and_question():
    budget = history_budget(100, "sys", "question", count)
    assert budget == 100 - 3 - 8 - 2 * MESSAGE_OVERHEAD_TOKENS
    assert history_budget(5, "sys", "question", count) == 0
