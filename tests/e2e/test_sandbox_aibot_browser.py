"""The sandbox's AI bot over the long connection in a real browser: open its chat, ask, watch
the answer grow in one bubble until it is finished; then the operator's view lists the bot's
link as connected.
Skipped as the other browser tests are, without chromium or Playwright."""

from __future__ import annotations

from tests.e2e.test_sandbox_browser import (  # noqa: F401 (fixtures)
    SCREENSHOTS,
    browser,
    open_chat,
    page,
    pick,
    sandbox,
    say,
    screenshot,
)

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips with the reason
    expect = None


def test_the_bots_answer_grows_in_one_bubble(page):  # noqa: F811 (the imported fixture)
    pick(page, "aibot:live")
    open_chat(page, "private:zhangsan")
    expect(page.locator("#chat-title")).to_contain_text("长连接助手")
    say(page, "机器人，你好")
    answer = page.locator("#bubbles li[data-from='app']").last
    expect(answer).to_contain_text("（离线模型）", timeout=5000)
    expect(answer).to_contain_text("你说：机器人，你好\n我记得之前的 0 条消息。", timeout=10000)
    expect(page.locator("#bubbles li[data-from='app']")).to_have_count(1)
    screenshot(page, "aibot-live-answer")


def test_the_operators_view_lists_the_bots_link(browser, sandbox):  # noqa: F811 (fixtures)
    admin = browser.new_page(viewport={"width": 1100, "height": 900})
    try:
        admin.goto(f"{sandbox.service_url}/admin/")
        admin.fill("#token-input", sandbox.admin_token)
        admin.click("#token-form button")
        expect(admin.locator("#channels")).to_contain_text(
            "aibot:live · 长连接 long connection: 已连接 connected"
        )
        admin.screenshot(path=str(SCREENSHOTS / "operator-view-aibot.png"), full_page=True)
    finally:
        admin.close()
