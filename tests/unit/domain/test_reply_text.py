from hypothesis import given, settings
from hypothesis import strategies as st

from domain.reply_text import WECOM_TEXT_LIMIT_BYTES, flatten_markdown, split_parts


def byte_len(text: str) -> int:
    return len(text.encode("utf-8"))


def test_a_short_reply_is_one_part():
    assert split_parts("你好") == ("你好",)


def test_an_empty_reply_has_no_parts():
    assert split_parts("") == ()


def test_a_3000_byte_answer_arrives_as_ordered_parts_that_join_back():
    text = "\n\n".join(f"第{i}段：" + "内容" * 60 for i in range(9))
    assert byte_len(text) > 3000
    parts = split_parts(text)
    assert len(parts) == 2
    assert "".join(parts) == text
    assert all(byte_len(p) <= WECOM_TEXT_LIMIT_BYTES for p in parts)


def test_cuts_at_a_paragraph_before_a_line():
    paragraph = "a" * 1500
    text = paragraph + "\n\n" + "b" * 300 + "\n" + "c" * 600
    first, second = split_parts(text)
    assert first == paragraph + "\n\n"  # though a line break comes later, within reach
    text = paragraph + "\n" + "b" * 300 + "\n\n" + "c" * 600
    first, _ = split_parts(text)
    assert first.endswith("\n\n")


def test_cuts_at_a_sentence_when_there_is_no_line_break():
    text = "这是一句话。" * 200
    parts = split_parts(text)
    assert all(part.endswith("。") for part in parts[:-1])


def test_never_cuts_inside_a_character():
    text = "😀" * 1000  # four bytes each, no separators at all
    parts = split_parts(text)
    assert "".join(parts) == text
    assert all(byte_len(p) <= WECOM_TEXT_LIMIT_BYTES for p in parts)
    assert byte_len(parts[0]) == 2048


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=0, max_size=3000), st.integers(min_value=8, max_value=2048))
def test_parts_always_fit_and_join_back(text, limit):
    parts = split_parts(text, limit)
    assert "".join(parts) == text
    assert all(0 < byte_len(p) <= limit for p in parts)


def test_markdown_becomes_readable_plain_text():
    markdown = (
        "## 标题\n"
        "这是**重点**和*斜体*，还有`代码`。\n"
        "- 第一项\n"
        "* 第二项\n"
        "> 引用\n"
        "[文档](https://example.com/doc)\n"
        "---\n"
        "```python\n"
        "x = a**2  # *not* emphasis\n"
        "```"
    )
    assert flatten_markdown(markdown) == (
        "标题\n"
        "这是重点和斜体，还有代码。\n"
        "• 第一项\n"
        "• 第二项\n"
        "引用\n"
        "文档 (https://example.com/doc)\n"
        "——————\n"
        "x = a**2  # *not* emphasis"
    )


def test_plain_text_and_arithmetic_are_left_alone():
    text = "2 * 3 * 4 = 24, snake_case_name stays"
    assert flatten_markdown(text) == text
