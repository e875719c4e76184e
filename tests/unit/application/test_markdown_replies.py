"""An app's answers as markdown (reply_format "markdown"): sent as markdown messages, cut
between blocks; as plain text (the default), flattened as before."""

from __future__ import annotations

from tests.fakes.chat_model import FakeChatModel
from tests.support.events import text_message
from tests.unit.application.conftest import Service

ANSWER = (
    "## 步骤\n\n1. 打开**设置**\n2. 点击`高级`\n\n"
    + "```bash\n" + "\n".join(f"echo step {n}" for n in range(150)) + "\n```\n\n完成。"
)


async def test_markdown_mode_sends_markdown_messages_cut_between_blocks():
    service = Service(model=FakeChatModel([ANSWER]), reply_format="markdown")
    await service.say(text_message("怎么配置？"))

    parts = [content for _, content in service.wecom.markdown_sent]
    assert len(parts) > 1 and service.wecom.sent == service.wecom.markdown_sent
    assert parts[0].startswith("## 步骤\n\n1. 打开**设置**")
    fenced = [part for part in parts if "echo step" in part]
    assert all(p.count("```") == 2 for p in fenced)
    assert all(len(p.encode()) <= 2048 for p in parts)


async def test_text_mode_flattens_the_markdown_and_sends_text():
    service = Service(model=FakeChatModel(["## 步骤\n1. 打开**设置**"]))
    await service.say(text_message("怎么配置？"))

    assert service.wecom.markdown_sent == []
    assert service.replies_to("zhangsan") == ["步骤\n1. 打开设置"]
