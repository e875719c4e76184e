// The sandbox page: chat as a member of the sample corp with one of its apps or its bot (each
// a channel of the service). Messages go to the emulator, which sends them to the service as
// WeCom callbacks of that app or bot; the page asks the emulator every few hundred
// milliseconds what changed (new replies, and why a message was or was not answered).
"use strict";

const POLL_MS = 300;
// Closer to the end than this, the chat follows new messages; scrolled further up, it stays.
const FOLLOW_PX = 40;
const state = {
  setup: null, member: "", channel: "", chat: "", bubbles: new Map(), revision: 0,
  // The shown bubbles' elements by id, kept while unchanged: a picture is not loaded again
  // (and measured at no height again) every time the chat is drawn.
  drawn: new Map(),
  following: true,
};
const $ = (id) => document.getElementById(id);

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

// A chat is one app's or bot's: "<channel>/private:<member>" or "<channel>/group:<chatid>".
function privateChat(member) { return `${state.channel}/private:${member}`; }
function groupChat(group) { return `${state.channel}/group:${group.id}`; }
function groupOf(chat) {
  return state.setup.groups.find((group) => groupChat(group) === chat);
}
function channelNamed(id) { return state.setup.channels.find((channel) => channel.id === id); }
function channelOf(conversation) { return channelNamed(conversation.split("/")[0]); }
function currentChannel() { return channelNamed(state.channel); }
function kindOf(channel) { return channel.kind === "aibot" ? "机器人 bot" : "应用 app"; }
function nameOf(member) {
  const found = state.setup.members.find((m) => m.id === member);
  return found ? found.name : member;
}

// [text, class] of the line under a member's message.
function noteFor(bubble) {
  const why = bubble.note;
  switch (bubble.status) {
    case "delivering": return ["发送中… sending", "pending"];
    case "waiting": return ["等待回复… waiting for the service", "pending"];
    case "answered": return answeredNote(bubble);
    case "ignored": return [`没有回答，因为 Not answered because: ${why}`, "bad"];
    case "failed": return [`回复失败 Reply failed: ${why}`, "bad"];
    case "postponed": return [`回复推迟，稍后重试 Reply postponed: ${why}`, "pending"];
    case "undelivered": return [`回调未送达 Callback not delivered: ${why}`, "bad"];
    default: return ["", ""];
  }
}

// A notice (help, "voice is off", the model failed…) is a reply, but not an answer.
function answeredNote(bubble) {
  if (bubble.reply !== "notice") return ["✓ 已回答 answered", "good"];
  if (bubble.kind === "voice") {
    return [`语音没有转成文字，回复了说明 Voice not transcribed, a notice was sent: ${bubble.note}`,
      "notice"];
  }
  return [`回复了提示，不是回答 A notice was sent, not an answer: ${bubble.note}`, "notice"];
}

function bubbleItem(bubble) {
  const item = element("li", undefined, "bubble");
  item.dataset.id = bubble.id;
  item.dataset.kind = bubble.kind;
  item.dataset.from = bubble.sender ? "member" : "app";
  if (bubble.sender && bubble.sender === state.member) item.classList.add("mine");
  const time = new Date(bubble.at * 1000).toLocaleTimeString();
  const who = bubble.sender ? nameOf(bubble.sender) : channelOf(bubble.conversation).name;
  item.append(element("span", `${who} · ${time}`, "who"));
  const body = element("div", undefined, "body");
  if (bubble.kind === "image") {
    const image = element("img");
    image.src = `/media/${encodeURIComponent(bubble.media_id)}`;
    image.alt = "图片 picture";
    // Its height is known only once it has loaded: follow the chat again then.
    image.addEventListener("load", () => { if (state.following) scrollToEnd(); });
    body.append(image);
  } else if (bubble.kind === "voice") {
    body.textContent = `[语音 voice] ${bubble.text}`.trim();
  } else {
    body.textContent = bubble.text;
  }
  item.append(body);
  const [note, tone] = noteFor(bubble);
  if (note) item.append(element("span", note, `note ${tone}`));
  return item;
}

function drawn(bubble) {
  const known = state.drawn.get(bubble.id);
  // Whose messages are "mine" changes with the member chosen.
  if (known && known.revision === bubble.revision && known.member === state.member) {
    return known.item;
  }
  const item = bubbleItem(bubble);
  state.drawn.set(bubble.id, { revision: bubble.revision, member: state.member, item });
  return item;
}

function scrollToEnd() {
  const list = $("bubbles");
  list.scrollTop = list.scrollHeight;
}

function renderBubbles() {
  const shown = [...state.bubbles.values()]
    .filter((bubble) => bubble.conversation === state.chat)
    .sort((a, b) => a.id - b.id);
  $("bubbles").replaceChildren(...shown.map(drawn));
  if (state.following) scrollToEnd();
}

function renderChannels() {
  $("channels").replaceChildren(...state.setup.channels.map((channel) => {
    const button = element("button", channel.name);
    button.type = "button";
    button.dataset.channel = channel.id;
    if (channel.id === state.channel) button.classList.add("current");
    button.append(element("span", kindOf(channel), "tag"));
    button.addEventListener("click", () => openChannel(channel.id));
    const item = element("li");
    item.append(button);
    return item;
  }));
}

function openChannel(channel) {
  const group = groupOf(state.chat);
  state.channel = channel;
  renderChannels();
  openChat(group ? groupChat(group) : privateChat(state.member));
}

function renderChats() {
  const name = currentChannel().name;
  const chats = [{ id: privateChat(state.member), label: name, tag: "私聊 private" }];
  for (const group of state.setup.groups) {
    chats.push({
      id: groupChat(group),
      label: group.name,
      tag: group.whitelisted ? "白名单 whitelisted" : "不在白名单 not whitelisted",
      tagClass: group.whitelisted ? "whitelisted" : "not-whitelisted",
    });
  }
  $("chats").replaceChildren(...chats.map((chat) => {
    const button = element("button", chat.label);
    button.type = "button";
    button.dataset.chat = chat.id;
    if (chat.id === state.chat) button.classList.add("current");
    button.append(element("span", chat.tag, `tag ${chat.tagClass || ""}`));
    button.addEventListener("click", () => openChat(chat.id));
    const item = element("li");
    item.append(button);
    return item;
  }));
}

function openChat(chat) {
  state.chat = chat;
  const group = groupOf(chat);
  const channel = currentChannel();
  const prefix = channel.group_prefix;
  if (group) {
    $("chat-title").textContent = `${group.name} · ${channel.name}`;
    $("chat-hint").textContent = group.whitelisted
      ? `群聊在白名单里：以「${prefix}」开头提问，如「${prefix} 你好」。 ` +
        `Whitelisted group: start with ${prefix} to ask.`
      : `这个群不在白名单里，${channel.name}不会回答。 ` +
        "Not on group_name_white_list: it stays silent.";
  } else {
    $("chat-title").textContent = `${channel.name}（${kindOf(channel)}）`;
    $("chat-hint").textContent = channel.hint;
    // Opening an app is what WeCom tells it (enter_agent), and what its welcome answers.
    if (channel.kind === "app") report(enter(chat));
  }
  // Voice goes to the apps (WeCom transcribes a bot's itself); files to a bot, privately
  // (an app's callback gets none); pictures to either, privately.
  $("voice").parentElement.hidden = channel.kind !== "app";
  $("file-button").hidden = channel.kind !== "aibot" || Boolean(group);
  $("picture").parentElement.hidden = Boolean(group);
  renderChats();
  state.following = true;
  renderBubbles();
  $("text").focus();
}

async function call(path, options) {
  const response = await fetch(path, options);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

function remember(bubble) {
  const known = state.bubbles.get(bubble.id);
  if (!known || known.revision < bubble.revision) state.bubbles.set(bubble.id, bubble);
}

const NOT_ANSWERING = "沙盒没有响应 The sandbox is not answering";

async function poll() {
  try {
    const changes = await call(`/api/updates?since=${state.revision}`);
    changes.bubbles.forEach(remember);
    state.revision = changes.revision;
    if (changes.bubbles.length) renderBubbles();
    if ($("problem").textContent.startsWith(NOT_ANSWERING)) $("problem").textContent = "";
  } catch (error) {
    $("problem").textContent = `${NOT_ANSWERING}: ${error.message}`;
  }
  setTimeout(poll, POLL_MS);
}

async function enter(chat) {
  await call("/api/open", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ from: state.member, conversation: chat }),
  });
}

async function sendText(text) {
  const bubble = await call("/api/messages", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ from: state.member, conversation: state.chat, text }),
  });
  remember(bubble);
  state.following = true; // one's own message is always shown, and what follows it
  renderBubbles();
}

async function sendUpload(field, file) {
  const form = new FormData();
  form.append("from", state.member);
  form.append("conversation", state.chat);
  form.append(field, file);
  remember(await call(`/api/${field}`, { method: "POST", body: form }));
  state.following = true;
  renderBubbles();
}

function report(promise) {
  $("problem").textContent = "";
  promise.catch((error) => { $("problem").textContent = `没发出去 Not sent: ${error.message}`; });
}

async function start() {
  state.setup = await call("/api/setup");
  state.member = state.setup.members[0].id;
  state.channel = state.setup.channels[0].id;
  const select = $("member");
  for (const member of state.setup.members) {
    const option = element("option", `${member.name}（${member.id}）`);
    option.value = member.id;
    select.append(option);
  }
  select.addEventListener("change", () => {
    const wasPrivate = !groupOf(state.chat);
    state.member = select.value;
    openChat(wasPrivate ? privateChat(state.member) : state.chat);
  });
  const link = $("operator-link");
  link.href = state.setup.operator_url;
  link.textContent = state.setup.operator_url;
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("text").value;
    if (!text.trim()) return;
    $("text").value = "";
    report(sendText(text));
  });
  $("bubbles").addEventListener("scroll", () => {
    const list = $("bubbles");
    state.following = list.scrollHeight - list.scrollTop - list.clientHeight < FOLLOW_PX;
  });
  for (const field of ["voice", "picture", "file"]) {
    $(field).addEventListener("change", () => {
      const [file] = $(field).files;
      $(field).value = "";
      if (file) report(sendUpload(field, file));
    });
  }
  renderChannels();
  openChat(privateChat(state.member));
  poll();
}

start().catch((error) => {
  $("problem").textContent = `${NOT_ANSWERING}: ${error.message}`;
});
