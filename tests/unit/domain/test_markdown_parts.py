"""Markdown answers cut into WeCom markdown messages between blocks, never through one."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from domain.markdown_parts import markdown_blocks, split_markdown

LIMIT = 2048


def size(text: str) -> int:
    return len(text.encode("utf-8"))


def test_a_short_answer_is_one_part_as_it_is():
    answer = "## 结论\n\n- 一\n- 二\n\n```\ncode\n```"
    assert split_markdown(answer) == (answer,)


def test_blocks_are_fences_tables_list_items_headings_and_paragraphs():
    answer = (
        "# 标题\n段落第一行\n段落第二行\n\n- 第一点\n  接着第一点\n- 第二点\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n```py\nx = 1\n\ny = 2\n```"
    )
    assert markdown_blocks(answer) == [
        "# 标题", "段落第一行\n段落第二行", "", "- 第一点\n  接着第一点", "- 第二点",
        "| a | b |\n|---|---|\n| 1 | 2 |", "```py\nx = 1\n\ny = 2\n```",
    ]


def test_a_code_block_that_would_straddle_a_cut_moves_whole_to_the_next_part():
    intro = "说明：" + "很长的解释。" * 110  # about 2 KB
    code = "```python\n" + "\n".join(f"print({n})" for n in range(20)) + "\n```"
    parts = split_markdown(f"{intro}\n\n{code}\n\n结尾。")
    assert parts[0] == intro and parts[1].startswith(code)
    assert all(size(part) <= LIMIT for part in parts)


def test_a_code_block_larger_than_a_part_is_cut_into_pieces_each_in_its_own_fence():
    code = "```sql\n" + "\n".join(f"SELECT {n} FROM t;" for n in range(400)) + "\n```"
    parts = split_markdown(code)
    assert len(parts) > 1
    for part in parts:
        assert part.startswith("```sql\n") and part.endswith("\n```") and size(part) <= LIMIT
    rows = [line for part in parts for line in part.split("\n")[1:-1]]
    assert rows == [f"SELECT {n} FROM t;" for n in range(400)]


def test_a_table_larger_than_a_part_repeats_its_header_in_every_piece():
    header = "| 名称 | 数量 |\n|---|---|"
    rows = [f"| 商品{n} | {n} |" for n in range(300)]
    parts = split_markdown("\n".join([header, *rows]))
    assert len(parts) > 1
    assert all(part.startswith(header + "\n") and size(part) <= LIMIT for part in parts)
    assert [r for part in parts for r in part.split("\n")[2:]] == rows


def test_a_list_item_is_never_cut_between_its_lines():
    items = [f"- 第{n}点\n  说明{n}：" + "细节" * 20 for n in range(40)]
    parts = split_markdown("\n".join(items))
    for part in parts:
        assert size(part) <= LIMIT
        assert part.startswith("- 第") and part.rstrip().endswith("细节")


def test_one_paragraph_too_long_for_a_part_is_cut_where_a_sentence_ends():
    paragraph = "这是一句话。" * 600
    parts = split_markdown(paragraph)
    assert all(size(p) <= LIMIT and p.endswith("。") for p in parts)
    assert "".join(parts) == paragraph


@given(st.text(alphabet=st.sampled_from(list("ab中 |-`#\n*1.")), max_size=6000))
def test_any_text_gives_parts_within_the_limit_that_lose_no_character(text):
    parts = split_markdown(text)
    assert all(size(part) <= LIMIT for part in parts)
    kept = "".join(parts)
    for char in set(text) - set(" \n"):  # fences and table headers may be repeated
        assert kept.count(char) >= text.count(char)
