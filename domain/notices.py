"""What the service itself says to members, in plain words (Chinese first, then English)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

_BEIJING = timezone(timedelta(hours=8))

HELP = (
    "可用命令 / Commands:\n"
    "#清除记忆 或 #reset —— 清除本次对话的记忆 / forget this conversation\n"
    "#help 或 #帮助 —— 显示本帮助 / show this help"
)

MEMORY_CLEARED = "记忆已清除，我们重新开始吧。\nMemory cleared; let's start over."

MODEL_FAILED = (
    "抱歉，模型暂时没有回应，请稍后再试。\n"
    "Sorry, the model is not answering right now. Please try again in a moment."
)


UNSUPPORTED = (
    "我目前能看懂文字和语音，其他类型的消息还不能处理。\n"
    "I can read text and voice messages; I cannot use this kind of message yet."
)

# What the model is asked when a member sends a picture or a file without any words.
IMAGE_PROMPT = "请描述这张图片。/ Please describe this picture."
FILE_PROMPT = "请概述这个文件的内容。/ Please summarise this file."

VOICE_OFF = (
    "语音识别没有开启，请发文字消息。\n"
    "Voice messages are turned off here; please send text."
)

VOICE_NOT_UNDERSTOOD = (
    "抱歉，没有听清这条语音，请再说一遍或改发文字。\n"
    "Sorry, I could not make out that voice message. Please try again or send text."
)

VOICE_FAILED = (
    "抱歉，语音暂时无法识别，请稍后再试或改发文字。\n"
    "Sorry, voice recognition is not working right now. Please try later or send text."
)

IMAGE_FAILED = (
    "抱歉，图片暂时画不出来，请稍后再试。\n"
    "Sorry, I could not create that picture right now. Please try again later."
)


# Why a picture or file could not be used, each told to the member in plain words.
TOO_LARGE = "too large"
UNREADABLE = "unreadable"
UNSUPPORTED_FILE = "unsupported file"
NO_TEXT = "no text"
ENCRYPTED = "encrypted"
UNAVAILABLE = "unavailable"
TOO_SLOW = "too slow"

_ATTACHMENT_PROBLEMS = {
    UNREADABLE: (
        "这张图片或这个文件打不开，可能已经损坏。",
        "I could not open this picture or file; it may be damaged.",
    ),
    UNSUPPORTED_FILE: (
        "这种文件我还读不了；我能读 PDF、Word、Excel、PowerPoint、TXT、Markdown 和 CSV。",
        "I cannot read this kind of file; I read PDF, DOCX, XLSX, PPTX, TXT, MD and CSV.",
    ),
    NO_TEXT: (
        "这个文件里没有我能读取的文字（也许是扫描件）。",
        "This file has no text I can read (it may be a scan).",
    ),
    ENCRYPTED: (
        "这个文件有密码保护，我读不了。",
        "This file is protected by a password, so I cannot read it.",
    ),
    UNAVAILABLE: (
        "图片或文件没能下载下来，请重新发送。",
        "I could not download the picture or file; please send it again.",
    ),
    TOO_SLOW: (
        "这个文件太大或太复杂，没能在限定时间内读完。",
        "This file is too large or too complex to read in the time I have.",
    ),
}


def attachment_failed(problem: str, limit_bytes: int | None = None) -> str:
    if problem == TOO_LARGE:
        limit = f"{limit_bytes / 1_000_000:g} MB" if limit_bytes else ""
        return (
            f"图片或文件太大了{f'（上限 {limit}）' if limit else ''}。\n"
            f"The picture or file is too large{f' (the limit is {limit})' if limit else ''}."
        )
    chinese, english = _ATTACHMENT_PROBLEMS.get(problem, _ATTACHMENT_PROBLEMS[UNREADABLE])
    return f"{chinese}\n{english}"


def too_long(tokens: int, limit: int) -> str:
    over = tokens - limit
    return (
        f"消息太长了：约 {tokens} 个 token，上限是 {limit}，请缩短约 {over} 个 token 后再发。\n"
        f"Your message is too long: about {tokens} tokens, the limit is {limit}. "
        f"Please shorten it by about {over} tokens."
    )


def slow_down(messages: int, per_seconds: float, retry_after_seconds: int) -> str:
    return (
        f"你的提问有点多：每 {per_seconds:g} 秒最多回答 {messages} 条，"
        f"请约 {retry_after_seconds} 秒后再试。\n"
        f"You are asking a lot at once: I answer at most {messages} messages every "
        f"{per_seconds:g} seconds. Please try again in about {retry_after_seconds} seconds."
    )


def quota_spent(key: str, limit: int, resets_at: float) -> str:
    moment = datetime.fromtimestamp(resets_at, UTC)
    beijing = moment.astimezone(_BEIJING).strftime("%Y-%m-%d %H:%M")
    utc = moment.strftime("%Y-%m-%d %H:%M")
    if key == "member_tokens_per_day":
        zh = f"你今天的用量已用完（每天 {limit} token）"
        en = f"You have used today's {limit} tokens"
    else:
        zh = f"你所在部门本月的用量已用完（每月 {limit} token）"
        en = f"Your department has used this month's {limit} tokens"
    return f"{zh}，将于北京时间 {beijing} 恢复。\n{en}; the allowance renews at {utc} UTC."
