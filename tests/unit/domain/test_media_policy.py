"""Which pictures, files and quotes the rules let the model see, and with what words."""

from dataclasses import replace

from domain import notices
from domain.messages import DEFAULT_AIBOT_CHANNEL, FILE, PICTURE, Attachment, InboundMessage
from domain.policy import (
    QUOTE_MAX_CHARS,
    AskModel,
    ChatRules,
    Ignore,
    Notify,
    RefuseTooLong,
    ResetMemory,
    Understand,
    decide_aibot_message,
    decide_app_message,
    with_quote,
)
from domain.tokens import estimate_tokens
from tests.support.events import text_message

SEEING = ChatRules(image_understanding=True, file_understanding=True,
                   group_name_white_list=("wrkGroupA",))
PIC = Attachment(PICTURE, "https://wecom.example/p")
DOC = Attachment(FILE, "https://wecom.example/f")
QUOTED_PIC = replace(PIC, quoted=True)


def app_picture(chat_id: str = "") -> InboundMessage:
    message = replace(text_message("", "1"), msg_type="image", media_id="MEDIA", chat_id=chat_id)
    return replace(message, attachments=(Attachment(PICTURE, "MEDIA"),))


def bot(msg_type: str, content: str = "", *items: Attachment, quote: str = "", chat_id: str = ""):
    return InboundMessage(
        msg_type=msg_type, from_user="zhangsan", create_time=1_700_000_000, agent_id=0,
        msg_id="M1", content=content, chat_id=chat_id, channel=DEFAULT_AIBOT_CHANNEL,
        attachments=items, quote=quote,
    )


def app_decides(message, rules=SEEING):
    return decide_app_message(message, rules, estimate_tokens)


def bot_decides(message, rules=SEEING):
    return decide_aibot_message(message, rules, estimate_tokens)


def test_an_app_picture_is_understood_with_the_image_prompt_when_the_rules_allow():
    expected = Understand(notices.IMAGE_PROMPT, (Attachment(PICTURE, "MEDIA"),))
    assert app_decides(app_picture()) == expected
    custom = replace(SEEING, image_prompt="这是什么？")
    assert app_decides(app_picture(), custom).prompt == "这是什么？"


def test_an_app_picture_is_not_understood_when_the_rules_do_not_allow_or_in_a_group():
    assert app_decides(app_picture(), ChatRules()) == Notify("unsupported", notices.UNSUPPORTED)
    assert isinstance(app_decides(app_picture("wrkGroupA")), Ignore)


def test_a_bot_picture_or_file_alone_gets_the_default_prompt_of_its_kind():
    assert bot_decides(bot("image", "", PIC)) == Understand(notices.IMAGE_PROMPT, (PIC,))
    assert bot_decides(bot("file", "", DOC)) == Understand(notices.FILE_PROMPT, (DOC,))


def test_each_kind_is_seen_only_where_its_rule_is_on():
    pictures_only = replace(SEEING, file_understanding=False)
    files_only = replace(SEEING, image_understanding=False)
    assert bot_decides(bot("file", "", DOC), pictures_only) == Notify(
        "unsupported", notices.UNSUPPORTED
    )
    assert bot_decides(bot("image", "", PIC), files_only) == Notify(
        "unsupported", notices.UNSUPPORTED
    )
    assert bot_decides(bot("mixed", "看看", PIC), files_only) == AskModel("看看")


def test_mixed_words_are_the_question_and_a_mention_alone_gets_the_image_prompt():
    assert bot_decides(bot("mixed", "这是什么报错？", PIC)) == Understand("这是什么报错？", (PIC,))
    in_group = bot("mixed", "@小知 ", PIC, chat_id="wrkGroupA")
    assert bot_decides(in_group) == Understand(notices.IMAGE_PROMPT, (PIC,))


def test_commands_and_limits_still_apply_beside_a_picture():
    assert bot_decides(bot("mixed", "#reset", PIC)) == ResetMemory()
    long = bot("mixed", "长" * 2000, PIC)
    assert isinstance(bot_decides(long), RefuseTooLong)


def test_a_quotes_text_is_context_before_the_question_and_not_counted_against_its_limit():
    quote = "营收" * 900  # longer than max_single_msg_tokens by itself
    decision = bot_decides(bot("text", "这个数字对吗？", quote=quote))
    assert decision == AskModel(with_quote("这个数字对吗？", quote))
    assert decision.prompt.startswith("引用的消息 / Quoted message:\n「营收")
    assert decision.prompt.endswith("\n\n这个数字对吗？")


def test_a_quoted_picture_is_seen_with_the_question_about_it():
    decision = bot_decides(bot("text", "图里最高的是哪个？", QUOTED_PIC))
    assert decision == Understand("图里最高的是哪个？", (QUOTED_PIC,))


def test_without_a_quote_the_prompt_is_the_question_alone():
    assert with_quote("问题", "  ") == "问题"


def test_a_long_quote_is_cut_short():
    prompt = with_quote("问题", "长" * 5000)
    assert prompt.count("长") == QUOTE_MAX_CHARS and "长…」" in prompt
