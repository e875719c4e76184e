"""The real service with a model server that hangs for some calls and then recovers (issue 17,
finding 4): members whose calls hang do not hold up anyone else's answer, and they are told in
plain words by the first-token deadline, or answered by a hedged second call."""

from __future__ import annotations

import threading
import time
from contextlib import ExitStack

from domain import notices
from tests.standins.openai_standin import OpenAIStandIn
from tests.support.e2e import CallbackKeys, WeComSender, service_config
from tests.support.live_server import serve
from tests.support.service_process import ServiceProcess, wait_until
from wecom_emulator import WeComEmulator

HUNG, OTHERS = 16, 20  # as many hung calls as the service has workers
FIRST_TOKEN_SECONDS = 5.0
MODEL_SECONDS = 0.2
# Time a loaded 2-core machine may add to a callback's way to an answer.
SLACK_SECONDS = 3.0


class World:
    def __init__(self, tmp_path, **llm):
        self.wecom = WeComEmulator()
        self.model = OpenAIStandIn(delay=MODEL_SECONDS)
        self.keys = CallbackKeys()
        self.sender = WeComSender(self.wecom, self.keys)
        self._tmp_path = tmp_path
        self._llm = llm
        self._msg_ids = iter(range(1, 10_000))

    def __enter__(self):
        with ExitStack() as stack:
            wecom_url = stack.enter_context(serve(self.wecom.app))
            model_url = stack.enter_context(serve(self.model.app))
            stack.callback(self.model.recover)  # hung calls end before their server stops
            llm = {
                "provider": "openai", "base_url": f"{model_url}/v1", "model": "stand-in",
                "first_token_timeout_seconds": FIRST_TOKEN_SECONDS, **self._llm,
            }
            config = service_config(
                self.wecom, wecom_url, self.keys, f"sqlite:///{self._tmp_path}/events.db",
                llm=llm, single_chat_prefix=[""], workers=HUNG,
            )
            (self._tmp_path / "service").mkdir()
            self.service = ServiceProcess(config, self._tmp_path / "service")
            self.service.start()
            stack.callback(self.service.stop)
            self._stack = stack.pop_all()
        return self

    def __exit__(self, *exc):
        self._stack.close()

    def ask(self, user: str, content: str) -> float:
        """When the member sent it: taken before the post, since the service may start on the
        message (and its model call) before this process has read the 200."""
        params, body = self.sender.callback(user, content, next(self._msg_ids))
        sent = time.monotonic()
        assert self.sender.post(self.service.base_url, params, body).status_code == 200
        return sent

    def answered(self, users: list[str], count: int = 1) -> bool:
        return all(len(self.wecom.contents_for(user)) >= count for user in users)


class FirstAnswers:
    """When each member's first message from WeCom was seen (polled every 20 ms in a thread
    while the test asks), so each member's wait is its own, not the time spent asking others."""

    def __init__(self, wecom: WeComEmulator):
        self._wecom = wecom
        self.seen: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)

    def _watch(self) -> None:
        while not self._stop.wait(0.02):
            for message in self._wecom.sent:
                self.seen.setdefault(message.touser, time.monotonic())

    def waits(self, asked: dict[str, float], timeout: float = 30) -> dict[str, float]:
        wait_until(lambda: asked.keys() <= self.seen.keys(), timeout, "every member's answer")
        return {user: self.seen[user] - at for user, at in asked.items()}


def ask_behind_hung_calls(world: World) -> tuple[dict[str, float], dict[str, float]]:
    """HUNG members whose first calls hang, then OTHERS members; how long each member of
    either group waited for a first answer."""
    hung = [f"hung{i}" for i in range(HUNG)]
    world.model.hang_first_call_of({f"question of {user}" for user in hung})
    with FirstAnswers(world.wecom) as answers:
        hung_asked = {user: world.ask(user, f"question of {user}") for user in hung}
        wait_until(lambda: len(world.model.requests) >= HUNG, timeout=10, what="the hung calls")
        others_asked = {
            user: world.ask(user, f"question of {user}")
            for user in (f"other{i}" for i in range(OTHERS))
        }
        return answers.waits(hung_asked), answers.waits(others_asked)


def test_hung_calls_hold_up_no_one_and_their_members_are_told_in_time(tmp_path):
    with World(tmp_path) as world:
        hung, others = ask_behind_hung_calls(world)

        # Answered at the model's speed while every worker's first conversation hangs.
        assert max(others.values()) < FIRST_TOKEN_SECONDS
        for user in others:
            assert world.wecom.contents_for(user) == [f"answer to: question of {user}"]
        # Told by the first-token deadline: not before it, and not long after it.
        assert min(hung.values()) >= FIRST_TOKEN_SECONDS
        assert max(hung.values()) < FIRST_TOKEN_SECONDS + SLACK_SECONDS
        for user in hung:
            assert world.wecom.contents_for(user) == [notices.MODEL_FAILED]
        assert len(world.model.requests) == HUNG + OTHERS  # a hung call is not tried again

        world.model.recover()
        first = next(iter(hung))
        world.ask(first, "again")
        wait_until(lambda: world.answered([first], 2), timeout=15, what="the answer after it")
        assert world.wecom.contents_for(first)[-1] == "answer to: again"


def test_a_hedged_call_answers_members_whose_first_call_hangs(tmp_path):
    hedge_after = 1.0
    with World(tmp_path, hedge_after_seconds=hedge_after) as world:
        hung, others = ask_behind_hung_calls(world)

        assert max(others.values()) < FIRST_TOKEN_SECONDS
        assert min(hung.values()) >= hedge_after
        assert max(hung.values()) < FIRST_TOKEN_SECONDS
        # Answered, not told the model failed: each hedge answered before the deadline.
        for user in [*hung, *others]:
            assert world.wecom.contents_for(user) == [f"answer to: question of {user}"]
        assert len(world.model.requests) == 2 * HUNG + OTHERS  # one hedge per hung call
