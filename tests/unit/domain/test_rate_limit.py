"""The per-sender model budget as a pure rule: the time is passed in."""

from domain.policy import Ignore
from domain.rate_limit import Admit, RateLimit, SenderBudget, SlowDown

LIMIT = RateLimit(messages=3, per_seconds=60)


def test_calls_within_the_budget_are_admitted():
    budget = SenderBudget(LIMIT)
    assert [budget.check(now) for now in (0, 1, 2)] == [Admit(), Admit(), Admit()]


def test_the_first_call_over_budget_says_when_to_try_again():
    budget = SenderBudget(LIMIT)
    for now in (0, 10, 20):
        budget.check(now)
    assert budget.check(30) == SlowDown(LIMIT, retry_after_seconds=30)


def test_further_calls_in_the_same_stretch_are_ignored_without_a_second_notice():
    budget = SenderBudget(LIMIT)
    for now in (0, 10, 20):
        budget.check(now)
    budget.check(30)
    verdict = budget.check(45)
    assert isinstance(verdict, Ignore) and "rate limit" in verdict.reason


def test_the_window_slides_so_calls_are_admitted_again_as_old_ones_age_out():
    budget = SenderBudget(LIMIT)
    for now in (0, 10, 20):
        budget.check(now)
    assert isinstance(budget.check(30), SlowDown)
    assert budget.check(60.5) == Admit()  # the call at 0 has left the window
    assert isinstance(budget.check(61), SlowDown)  # told again: a new stretch over budget


def test_ignored_and_refused_calls_do_not_use_the_budget():
    budget = SenderBudget(LIMIT)
    for now in (0, 1, 2, 3, 4, 5, 6):
        budget.check(now)
    assert budget.check(60.5) == Admit()


def test_a_disabled_limit_admits_everything():
    budget = SenderBudget(RateLimit(messages=0, per_seconds=60))
    assert all(budget.check(0) == Admit() for _ in range(1000))


def test_a_budget_is_idle_once_nothing_is_left_to_remember():
    budget = SenderBudget(LIMIT)
    for now in (0, 1, 2, 3):
        budget.check(now)
    assert not budget.is_idle(30)
    assert budget.is_idle(63)
