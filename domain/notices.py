"""What the service itself says to members, in plain words (Chinese first, then English)."""

from __future__ import annotations

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


def too_long(tokens: int, limit: int) -> str:
    over = tokens - limit
    return (
        f"消息太长了：约 {tokens} 个 token，上限是 {limit}，请缩短约 {over} 个 token 后再发。\n"
        f"Your message is too long: about {tokens} tokens, the limit is {limit}. "
        f"Please shorten it by about {over} tokens."
    )
