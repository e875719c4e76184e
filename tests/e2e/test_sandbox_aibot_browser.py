"""The sandbox's AI bot in a real browser: open the bot's chat, ask, watch the answer grow in one
bubble until it is finished; then the operator's view lists the bot's link as connected.
Skipped as the other browser tests are, without chromium or Playwright."""

from __future__ import annotations

from tests.e2e.test_sandbox_browser import (  # noqa: F401 (fixtures)
    SCREENSHOTS,
    browser,
    open_chat,
    page,
    sandbox,
    say,
    screenshot,
)

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips with the reason
    expect = None


def test_the_bots_answer_grows_in_one_bubble(page):  # noqa: F811 (the imported fixture)
    open_chat(page, "aibot:zhangsan")
    expect(page.locator("#chat-title")).to_contain_text("智能机器人")
    say(page, "机器人，你好")
    answer = page.locator("li.bubble[data-from='app']").last
    expect(answer.locator(".note.streaming")).to_be_visible(timeout=5000)
    expect(answer).to_contain_text("（离线模型）你说：机器人，你好", timeout=10000)
    expect(answer.locator(".note")).to_have_count(0, timeout=10000)
    expect(page.locator("li.bubble[data-from='app']")).to_have_count(1)
    screenshot(page, "aibot-answer")


def test_the_operators_view_lists_the_bots_link(browser, sandbox):  # noqa: F811 (fixtures)
    admin = browser.new_page(viewport={"width": 1100, "height": 900})
    try:
        admin.goto(f"{sandbox.service_url}/admin/")
        admin.fill("#token-input", sandbox.admin_token)
        admin.click("#token-form button")
        expect(admin.locator("#channels")).to_contain_text(
            "aibot:sandbox · 长连接 long connection: 已连接 connected"
        )
        admin.screenshot(path=str(SCREENSHOTS / "operator-view-aibot.png"), full_page=True)
    finally:
        admin.close()
