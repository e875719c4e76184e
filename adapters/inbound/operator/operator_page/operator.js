// The operator's view: calls /admin/api/* with the bearer token the operator pasted, which
// is kept in sessionStorage (forgotten when the tab closes). Every value from the API is put
// on the page as text, never as HTML, so a message cannot inject script next to the token.
"use strict";

const TOKEN_KEY = "weworktop-admin-token";
const STATUS_WORDS = {
  answered: "已回答 answered",
  ignored: "未回答 ignored",
  failed: "失败 failed",
  postponed: "推迟 postponed",
  sending: "发送中 sending",
  waiting: "处理中 waiting",
};
let nextPage = null; // {params, before} of the messages shown, for "older messages"

const $ = (id) => document.getElementById(id);

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function when(epochSeconds) {
  return new Date(epochSeconds * 1000).toLocaleString();
}

// [Chinese, English]
function duration(seconds) {
  const minutes = Math.round(seconds / 60);
  const [hours, rest] = [Math.floor(minutes / 60), minutes % 60];
  if (!hours) return [`${minutes} 分钟`, `${minutes} min`];
  return [`${hours} 小时 ${rest} 分钟`, `${hours} h ${rest} min`];
}

async function api(path) {
  const response = await fetch(`api/${path}`, {
    headers: { Authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY)}` },
  });
  if (response.status === 401) {
    forget("令牌不对，请重新输入。 The token was refused; paste it again.");
    throw new Error("unauthorized");
  }
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

function showTokenState(token) {
  let text;
  if (token.valid_until === null) {
    text = "尚未获取（第一次回复时获取） None fetched yet: one is fetched for the first reply.";
  } else if (token.seconds_left > 0) {
    const [zh, en] = duration(token.seconds_left);
    text = `有效，约 ${zh}后更新。 Valid; renewed in about ${en} (${when(token.valid_until)}).`;
  } else {
    text = "已到更新时间，下次发送时更新 Due for renewal: renewed at the next send.";
  }
  if (token.last_error) text += ` 最近一次获取失败 Last fetch failed: ${token.last_error}`;
  $("token-state").textContent = text;
}

const LINK_STATES = {
  connected: "已连接 connected", connecting: "连接中 connecting", standby: "待命 standby",
  refused: "被拒绝 refused", replaced: "被顶替 replaced", stopped: "已停止 stopped",
};

function showChannels(channels) {
  // Each channel by name; a bot over the long connection with its link (since when, why down).
  $("channels").replaceChildren(...channels.map((channel) => {
    let text = channel.name;
    if (channel.link) {
      const link = channel.link;
      text += ` · 长连接 long connection: ${LINK_STATES[link.state] || link.state}`;
      if (link.since) text += ` since ${when(link.since)}`;
      if (link.last_error) text += ` · 最近的问题 last error: ${link.last_error}`;
    } else if (channel.token) {
      text += " · 访问令牌 access token";
    }
    return element("li", text);
  }));
}

function showErrors(report) {
  const body = $("errors").querySelector("tbody");
  body.replaceChildren();
  for (const row of report.errors) {
    const tr = element("tr");
    tr.append(
      element("td", row.errcode === null ? "—" : String(row.errcode)),
      element("td", String(row.failed)),
      element("td", String(row.postponed)),
      element("td", when(row.last_at)),
      element("td", row.advice ? `${row.advice} (${row.last_reason})` : row.last_reason),
    );
    body.append(tr);
  }
  $("errors").hidden = report.errors.length === 0;
  $("errors-window").textContent = report.looked_at === 0
    ? "没有发送问题 No delivery problems recorded."
    : `最近 ${report.looked_at} 次发送问题（自 ${when(report.since)}） ` +
      `The newest ${report.looked_at} delivery problems, since ${when(report.since)}.`;
}

// "张三 (zhangsan)" where the name is known, else the id alone.
function named(name, id) {
  return name ? `${name} (${id})` : id;
}

// "群聊 group · 闲聊群 (wrkChitchat) · app:default": what, who, and through which app or bot.
function conversationTitle(conversation) {
  const kind = conversation.chat_id ? "群聊 group" : "私聊 private";
  const who = conversation.chat_id || conversation.senders[0];
  const through = conversation.channel ? ` · ${conversation.channel}` : "";
  return `${kind} · ${named(conversation.title, who)}${through}`;
}

function showConversations(conversations) {
  const list = $("conversations");
  list.replaceChildren();
  for (const conversation of conversations) {
    const title = conversationTitle(conversation);
    const button = element("button", title);
    button.type = "button";
    button.title = conversation.conversation_id;
    button.addEventListener("click", () =>
      loadMessages({ conversation: conversation.conversation_id }, title));
    const senders = conversation.senders.map((id, i) => named(conversation.sender_names[i], id));
    const item = element("li");
    item.append(button, element("span",
      ` · ${conversation.messages} 条 messages · ${senders.join(", ")} · ` +
      when(conversation.last_at)));
    list.append(item);
  }
  if (!conversations.length) list.append(element("li", "还没有消息 No messages yet."));
}

function messageCard(message) {
  const card = element("article", undefined, "message");
  card.dataset.msgId = message.msg_id;
  const title = element("h3");
  title.append(
    element("span", STATUS_WORDS[message.status] || message.status,
      `status status-${message.status}`),
    element("span", `${when(message.received_at)} · ${message.from_user} · ` +
      `MsgId ${message.msg_id || "—"} · ${message.conversation_id}`),
  );
  card.append(title);
  if (message.why) card.append(element("p", `原因 Why: ${message.why}`, "why"));
  if (message.parts) {
    card.append(element("p", `回复 ${message.reply}: ${message.sent_parts}/${message.parts} ` +
      "部分已发送 parts sent", "why"));
  }
  const timeline = element("ol", undefined, "timeline");
  for (const event of message.events) {
    const item = element("li");
    item.append(element("time", new Date(event.at * 1000).toLocaleTimeString()),
      element("span", event.summary));
    timeline.append(item);
  }
  card.append(timeline);
  return card;
}

function showMessages(messages, append) {
  const box = $("messages");
  if (!append) box.replaceChildren();
  for (const message of messages) box.append(messageCard(message));
  if (!append && !messages.length) box.append(element("p", "没有找到消息 No messages found."));
}

async function loadMessages(params, title, before) {
  const query = new URLSearchParams(params);
  if (before) query.set("before", before);
  const page = await api(`messages?${query}`);
  $("messages-title").textContent = `消息 Messages · ${title}`;
  showMessages(page.messages, Boolean(before));
  nextPage = page.next_before ? { params, title, before: page.next_before } : null;
  $("more").hidden = !nextPage;
}

const ANNOUNCEMENT_WORDS = {
  sent: "已发送 sent",
  failed: "失败 failed",
  sending: "发送中 sending",
};

function showAnnouncements(announcements) {
  const body = $("announcements").querySelector("tbody");
  body.replaceChildren();
  for (const sent of announcements) {
    const unreachable = [
      ...sent.invalid_users,
      ...sent.invalid_departments.map((id) => `部门 department ${id}`),
      ...sent.invalid_tags.map((id) => `标签 tag ${id}`),
    ];
    const tr = element("tr");
    const status = element("td");
    status.append(element("span", ANNOUNCEMENT_WORDS[sent.status] || sent.status,
      `status status-${sent.status === "sent" ? "answered" : sent.status}`));
    tr.append(
      element("td", when(sent.requested_at)),
      element("td", sent.idempotency_key),
      element("td", sent.channel),
      status,
      element("td", `${sent.sent_parts}/${sent.parts}`),
      element("td", unreachable.join(", ") || "—"),
      element("td", sent.error || ""),
    );
    body.append(tr);
  }
  $("announcements").hidden = announcements.length === 0;
  $("announcements-none").hidden = announcements.length !== 0;
}

const SVG = "http://www.w3.org/2000/svg";

// Tokens per day as bars, one for every day of the range (a quiet day is a gap).
function showUsageChart(days, since, until) {
  const tokens = new Map(days.map((day) => [day.key, day.tokens_in + day.tokens_out]));
  const keys = [];
  for (let d = new Date(`${since}T00:00:00Z`); d <= new Date(`${until}T00:00:00Z`);
    d.setUTCDate(d.getUTCDate() + 1)) keys.push(d.toISOString().slice(0, 10));
  const most = Math.max(1, ...tokens.values());
  const width = 600 / keys.length;
  const chart = $("usage-chart");
  chart.replaceChildren();
  keys.forEach((key, index) => {
    const height = ((tokens.get(key) || 0) / most) * 110;
    const bar = document.createElementNS(SVG, "rect");
    bar.setAttribute("x", String(index * width + width * 0.1));
    bar.setAttribute("y", String(120 - height));
    bar.setAttribute("width", String(width * 0.8));
    bar.setAttribute("height", String(height));
    const title = document.createElementNS(SVG, "title");
    title.textContent = `${key}: ${tokens.get(key) || 0} tokens`;
    bar.append(title);
    chart.append(bar);
  });
}

function showUsageTable(report) {
  $("usage-key").textContent = $("usage-by").selectedOptions[0].textContent;
  const body = $("usage").querySelector("tbody");
  body.replaceChildren();
  for (const total of report.totals) {
    const tr = element("tr");
    const estimated = total.estimated_calls ? ` (${total.estimated_calls} 估算 estimated)` : "";
    tr.append(
      element("td", total.key || "未知 unknown"),
      element("td", `${total.calls}${estimated}`),
      element("td", String(total.tokens_in)),
      element("td", String(total.tokens_out)),
      element("td", String(total.pictures)),
      element("td", total.audio_seconds.toFixed(1)),
      element("td", total.cost.toFixed(4)),
    );
    body.append(tr);
  }
  $("usage").hidden = report.totals.length === 0;
  $("usage-summary").textContent = `${report.since} — ${report.until} (UTC)` +
    (report.totals.length ? "" : " · 没有用量 No usage recorded.");
}

async function loadUsage() {
  const query = new URLSearchParams({ by: $("usage-by").value });
  if ($("usage-since").value) query.set("since", $("usage-since").value);
  if ($("usage-until").value) query.set("until", $("usage-until").value);
  const report = await api(`usage?${query}`);
  query.set("by", "day");
  const days = await api(`usage?${query}`);
  showUsageTable(report);
  showUsageChart(days.totals, days.since, days.until);
}

async function search(query) {
  const found = await api(`search?q=${encodeURIComponent(query)}`);
  $("messages-title").textContent = `查找 Search · ${query}`;
  showMessages(found.messages, false);
  nextPage = null;
  $("more").hidden = true;
}

async function refresh() {
  try {
    const [token, errors, conversations, announcements, channels] = await Promise.all([
      api("token"), api("wecom-errors"), api("conversations"), api("announcements"),
      api("channels"),
    ]);
    if (token) showTokenState(token);
    showChannels(channels.channels);
    showErrors(errors);
    showAnnouncements(announcements.announcements);
    showConversations(conversations.conversations);
    await loadMessages({}, "全部 all");
    await loadUsage();
    $("notice").textContent = "";
  } catch (error) {
    if (error.message !== "unauthorized") $("notice").textContent = `出错了 Error: ${error.message}`;
  }
}

function connected(isConnected) {
  $("token-form").hidden = isConnected;
  $("connected").hidden = !isConnected;
  $("view").hidden = !isConnected;
}

function forget(notice) {
  sessionStorage.removeItem(TOKEN_KEY);
  connected(false);
  $("notice").textContent = notice || "";
}

$("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $("token-input").value.trim());
  $("token-input").value = "";
  connected(true);
  refresh();
});
$("search-form").addEventListener("submit", (event) => {
  event.preventDefault();
  search($("search-input").value.trim()).catch((error) => {
    if (error.message !== "unauthorized") $("notice").textContent = `出错了 Error: ${error.message}`;
  });
});
$("usage-form").addEventListener("submit", (event) => {
  event.preventDefault();
  loadUsage().catch((error) => {
    if (error.message !== "unauthorized") $("notice").textContent = `出错了 Error: ${error.message}`;
  });
});
$("refresh").addEventListener("click", refresh);
$("forget").addEventListener("click", () => forget());
$("more").addEventListener("click", () => {
  if (nextPage) loadMessages(nextPage.params, nextPage.title, nextPage.before);
});

if (sessionStorage.getItem(TOKEN_KEY)) {
  connected(true);
  refresh();
} else {
  connected(false);
}
