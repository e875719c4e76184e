"""The per-sender model budget as a pure rule: the times are passed in. A message counts at
the time it arrived, whenever it is handled."""

from domain.policy import Ignore
from domain.rate_limit import Admit, RateLimit, SenderBudgets, SlowDown

LIMIT = RateLimit(messages=3, per_seconds=60)


def checks(budgets: SenderBudgets, arrivals, sender: str = "zhangsan"):
    return [budgets.check(sender, at) for at in arrivals]


def test_calls_within_the_budget_are_admitted():
    assert checks(SenderBudgets(LIMIT), (0, 1, 2)) == [Admit(), Admit(), Admit()]


def test_the_first_call_over_budget_says_when_to_try_again():
    budgets = SenderBudgets(LIMIT)
    checks(budgets, (0, 10, 20))
    assert checks(budgets, (30,)) == [SlowDown(LIMIT, retry_after_seconds=30)]


def test_further_calls_in_the_same_stretch_are_ignored_without_a_second_notice():
    budgets = SenderBudgets(LIMIT)
    checks(budgets, (0, 10, 20, 30))
    [verdict] = checks(budgets, (45,))
    assert isinstance(verdict, Ignore) and "rate limit" in verdict.reason


def test_the_window_slides_so_calls_are_admitted_again_as_old_ones_age_out():
    budgets = SenderBudgets(LIMIT)
    checks(budgets, (0, 10, 20))
    assert isinstance(checks(budgets, (30,))[0], SlowDown)
    assert checks(budgets, (60.5,)) == [Admit()]  # the call at 0 has left the window
    assert isinstance(checks(budgets, (61,))[0], SlowDown)  # told again: a new stretch over


def test_ignored_and_refused_calls_do_not_use_the_budget():
    budgets = SenderBudgets(LIMIT)
    checks(budgets, (0, 1, 2, 3, 4, 5, 6))
    assert checks(budgets, (60.5,)) == [Admit()]


def test_a_disabled_limit_admits_everything():
    budgets = SenderBudgets(RateLimit(messages=0, per_seconds=60))
    assert checks(budgets, [0] * 1000) == [Admit()] * 1000


def test_a_backlog_handled_at_once_counts_each_message_at_its_arrival():
    # One message every 30 s for ten minutes, all handled in the same instant after an outage:
    # never more than two in a minute, so none is refused.
    budgets = SenderBudgets(LIMIT)
    assert checks(budgets, [30.0 * n for n in range(20)]) == [Admit()] * 20


def test_a_flood_that_arrived_during_an_outage_is_still_limited():
    budgets = SenderBudgets(LIMIT)
    verdicts = checks(budgets, [float(n) for n in range(6)])
    assert verdicts[:3] == [Admit()] * 3 and isinstance(verdicts[3], SlowDown)
    assert all(isinstance(v, Ignore) for v in verdicts[4:])


def test_messages_handled_out_of_arrival_order_never_exceed_the_limit():
    # A group message that arrived first is handled after three private ones: every window
    # that holds it would then hold four, so it is refused, whichever order came first.
    budgets = SenderBudgets(LIMIT)
    assert checks(budgets, (10, 20, 40)) == [Admit()] * 3
    assert isinstance(checks(budgets, (5,))[0], SlowDown)
    assert checks(budgets, (71,)) == [Admit()]  # 10 has left the window ending at 71


def test_an_early_arrival_fits_between_later_ones_when_every_window_allows_it():
    budgets = SenderBudgets(LIMIT)
    assert checks(budgets, (0, 100)) == [Admit()] * 2
    assert checks(budgets, (50,)) == [Admit()]  # windows around 50 hold at most two more


def test_senders_are_counted_apart():
    budgets = SenderBudgets(LIMIT)
    checks(budgets, (0, 1, 2), sender="zhangsan")
    assert checks(budgets, (3,), sender="lisi") == [Admit()]


def test_quiet_senders_are_forgotten_so_memory_stays_bounded():
    budgets = SenderBudgets(RateLimit(5, 60))
    for i in range(5000):
        arrived = 0.1 * i  # 500 s in all: most windows are long empty
        budgets.check(f"member-{i}", arrived)
    assert budgets.tracked_senders() < 2100


def test_a_backlog_older_than_the_window_keeps_its_windows_through_a_sweep():
    # 3,000 members' messages from an hour ago, handled now: the sweeps on the way must not
    # forget the first member's window while their flood is still being handled.
    budgets = SenderBudgets(LIMIT)
    assert checks(budgets, (0.0, 0.1, 0.2)) == [Admit()] * 3
    for i in range(3000):
        budgets.check(f"member-{i}", 0.3)
    assert isinstance(checks(budgets, (0.4,))[0], SlowDown)
