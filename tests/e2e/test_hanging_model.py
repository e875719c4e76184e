"""The real service with a model server that hangs for some calls and then recovers (issue 17,
finding 4): members whose calls hang do not hold up anyone else's answer, and they are told in
plain words by the first-token deadline, or answered by a hedged second call."""

from __future__ import annotations

import time

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
        self._wecom_served = serve(self.wecom.app)
        self._model_served = serve(self.model.app)
        wecom_url, model_url = self._wecom_served.__enter__(), self._model_served.__enter__()
        llm = {
            "provider": "openai", "base_url": f"{model_url}/v1", "model": "stand-in",
            "first_token_timeout_seconds": FIRST_TOKEN_SECONDS, **self._llm,
        }
        config = service_config(
            self.wecom, wecom_url, self.keys, f"sqlite:///{self._tmp_path}/events.db", llm=llm,
            single_chat_prefix=[""], workers=HUNG,
        )
        self.service = ServiceProcess(config, self._tmp_path / "service")
        self.service.start()
        return self

    def __exit__(self, *exc):
        self.model.recover()
        self.service.stop()
        self._model_served.__exit__(*exc)
        self._wecom_served.__exit__(*exc)

    def ask(self, user: str, content: str) -> float:
        params, body = self.sender.callback(user, content, next(self._msg_ids))
        assert self.sender.post(self.service.base_url, params, body).status_code == 200
        return time.monotonic()

    def answered(self, users: list[str], count: int = 1) -> bool:
        return all(len(self.wecom.contents_for(user)) >= count for user in users)


def burst_behind_hung_calls(world: World) -> tuple[list[str], list[str], float, float]:
    """HUNG members whose calls hang, then OTHERS members: when the hung ones asked, and how
    long the others waited for their answers."""
    hung = [f"hung{i}" for i in range(HUNG)]
    others = [f"other{i}" for i in range(OTHERS)]
    world.model.hang_next(HUNG)
    hung_asked = min(world.ask(user, f"question of {user}") for user in hung)
    wait_until(lambda: len(world.model.requests) >= HUNG, timeout=10, what="the hung calls")
    others_asked = min(world.ask(user, f"question of {user}") for user in others)
    wait_until(lambda: world.answered(others), timeout=30, what="the other members' answers")
    return hung, others, hung_asked, time.monotonic() - others_asked


def test_hung_calls_hold_up_no_one_and_their_members_are_told_in_time(tmp_path):
    with World(tmp_path) as world:
        hung, others, hung_asked, others_waited = burst_behind_hung_calls(world)

        # Answered at the model's speed while every worker's first conversation still hangs.
        assert others_waited < FIRST_TOKEN_SECONDS
        assert all(not world.wecom.contents_for(user) for user in hung)
        for user in others:
            assert world.wecom.contents_for(user) == [f"answer to: question of {user}"]

        wait_until(lambda: world.answered(hung), timeout=30, what="the hung members' notices")
        told_after = time.monotonic() - hung_asked
        assert told_after < FIRST_TOKEN_SECONDS + SLACK_SECONDS
        for user in hung:
            assert world.wecom.contents_for(user) == [notices.MODEL_FAILED]
        assert len(world.model.requests) == HUNG + OTHERS  # a hung call is not tried again

        world.model.recover()
        world.ask(hung[0], "again")
        wait_until(lambda: world.answered(hung[:1], 2), timeout=15, what="the answer after it")
        assert world.wecom.contents_for(hung[0])[-1] == "answer to: again"


def test_a_hedged_call_answers_members_whose_first_call_hangs(tmp_path):
    hedge_after = 1.0
    with World(tmp_path, hedge_after_seconds=hedge_after) as world:
        hung, others, hung_asked, others_waited = burst_behind_hung_calls(world)

        assert others_waited < FIRST_TOKEN_SECONDS
        wait_until(lambda: world.answered(hung), timeout=30, what="the hedged answers")
        assert time.monotonic() - hung_asked < hedge_after + SLACK_SECONDS
        for user in hung + others:
            assert world.wecom.contents_for(user) == [f"answer to: question of {user}"]
        assert len(world.model.requests) == 2 * HUNG + OTHERS  # one hedge per hung call
