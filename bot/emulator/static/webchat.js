// Web chat: a browser acting as one Telegram user of the local Bot API emulator.
// It long-polls /webchat/api/messages and re-renders the conversation (edits included).
"use strict";

const api = "/webchat/api";
// ?user_id=N picks an identity (e.g. to join a chat a test or script started).
const userId = Number(new URLSearchParams(location.search).get("user_id"))
  || Number(localStorage.getItem("webchat-user-id")) || newUserId();
const state = { version: -1, lastAnswerId: null };

function newUserId() {
  // Private chat id == user id; a random one keeps two browser profiles apart.
  const id = 100000000 + Math.floor(Math.random() * 800000000);
  localStorage.setItem("webchat-user-id", String(id));
  return id;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;  // textContent: bot text is never HTML-injected
  return node;
}

function fileUrl(fileId) { return `${api}/file/${encodeURIComponent(fileId)}`; }

function photoNode(message, fromBot) {
  const box = el("div", fromBot ? "bot-photo" : "user-photo");
  const img = el("img");
  img.src = fileUrl(message.photo[message.photo.length - 1].file_id);  // largest size is last
  img.alt = message.caption || "photo";
  box.appendChild(img);
  return box;
}

function mediaNode(message) {
  if (message.sticker) return el("div", "sticker", message.sticker.emoji || "🖼️");
  if (message.animation) return el("div", "file-chip", `🎞️ ${message.animation.file_name || "GIF"}`);
  if (message.video) return el("div", "file-chip", "🎬 video");
  if (message.document) return el("div", "file-chip", `📄 ${message.document.file_name || "document"}`);
  return null;
}

function keyboardNode(message) {
  const rows = (message.reply_markup && message.reply_markup.inline_keyboard) || [];
  if (!rows.length) return null;
  const board = el("div", "inline-keyboard");
  for (const row of rows) {
    const line = el("div", "inline-row");
    for (const button of row) line.appendChild(buttonNode(message, button));
    board.appendChild(line);
  }
  return board;
}

function buttonNode(message, button) {
  const node = el("button", "inline-button", button.text);
  node.type = "button";
  if (button.callback_data !== undefined) {
    node.dataset.callback = button.callback_data;
    node.addEventListener("click", () => press(message.message_id, button.callback_data, node));
  } else if (button.url) {
    node.addEventListener("click", () => window.open(button.url, "_blank", "noopener"));
  }
  return node;
}

function bubble(messages) {
  // One bubble per message, or per album (messages sharing media_group_id).
  const first = messages[0];
  const fromBot = first.from_bot;
  const node = el("div", `message ${fromBot ? "bot-message" : "user-message"}`);
  node.dataset.messageId = first.message_id;
  const photos = messages.filter((m) => m.photo);
  if (photos.length > 1) {
    const album = el("div", `album ${fromBot ? "bot-photo" : "user-photo"}`);
    album.style.gridTemplateColumns = `repeat(${Math.min(photos.length, 3)}, 1fr)`;
    node.classList.add("album-message");
    for (const m of photos) album.appendChild(photoNode(m, fromBot).firstChild);
    node.appendChild(album);
  } else if (photos.length === 1) {
    node.appendChild(photoNode(photos[0], fromBot));
  }
  for (const m of messages) {
    const media = mediaNode(m);
    if (media) node.appendChild(media);
    if (m.text) node.appendChild(el("div", "text", m.text));
    if (m.caption) node.appendChild(el("div", "caption", m.caption));
    const board = keyboardNode(m);
    if (board) node.appendChild(board);
  }
  const time = new Date(first.date * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  node.appendChild(el("div", "meta", first.edit_date ? `edited ${time}` : time));
  return node;
}

function groupAlbums(messages) {
  const groups = [];
  for (const m of messages) {
    const last = groups[groups.length - 1];
    if (m.media_group_id && last && last[0].media_group_id === m.media_group_id) last.push(m);
    else groups.push([m]);
  }
  return groups;
}

function render(messages) {
  const box = document.getElementById("messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  box.replaceChildren(...groupAlbums(messages.filter((m) => !m.deleted)).map(bubble));
  if (!atBottom) return;
  box.scrollTop = box.scrollHeight;
  // Images grow the list after they load; keep following the newest message.
  for (const img of box.querySelectorAll("img")) {
    img.addEventListener("load", () => { box.scrollTop = box.scrollHeight; });
  }
}

function toast(answer) {
  if (!answer || !answer.text || answer.callback_query_id === state.lastAnswerId) return;
  state.lastAnswerId = answer.callback_query_id;
  const node = document.getElementById("toast");
  node.textContent = answer.text;
  node.classList.toggle("alert", Boolean(answer.show_alert));
  node.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { node.hidden = true; }, answer.show_alert ? 4000 : 2000);
}

async function poll() {
  for (;;) {
    try {
      const url = `${api}/messages?chat_id=${userId}&after=${state.version}&timeout=20`;
      const data = await (await fetch(url)).json();
      if (data.version !== state.version) {
        state.version = data.version;
        render(data.messages);
      }
      toast(data.callback_answer);
    } catch (error) {
      console.warn("poll failed, retrying", error);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

async function postJson(path, body) {
  const response = await fetch(`${api}/${path}`, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ user_id: userId, first_name: "You", ...body }),
  });
  return response.json();
}

async function press(messageId, callbackData, node) {
  node.disabled = true;
  const result = await postJson("press", { message_id: messageId, callback_data: callbackData });
  node.disabled = false;
  if (!result.ok) toast({ text: result.error, callback_query_id: Math.random() });
}

async function send(event) {
  event.preventDefault();
  const textInput = document.getElementById("text-input");
  const photoInput = document.getElementById("photo-input");
  const text = textInput.value.trim();
  let result;
  if (photoInput.files.length) {
    const form = new FormData();
    form.append("user_id", String(userId));
    form.append("first_name", "You");
    if (text) form.append("caption", text);
    for (const file of photoInput.files) form.append("photo", file, file.name);
    result = await (await fetch(`${api}/send_photo`, { method: "POST", body: form })).json();
    photoInput.value = "";
    document.getElementById("attachment-name").textContent = "";
  } else if (text) {
    result = await postJson("send_text", { text });
  } else {
    return;
  }
  if (result && !result.ok) toast({ text: result.error, callback_query_id: Math.random() });
  textInput.value = "";
  textInput.focus();
}

async function loadInfo() {
  const info = await (await fetch(`${api}/info`)).json();
  document.getElementById("bot-name").textContent = info.bot.first_name;
  document.getElementById("bot-status").textContent = `@${info.bot.username} · local emulator`;
  const chips = document.getElementById("commands");
  const commands = info.commands.length ? info.commands : [{ command: "start", description: "Start" }];
  chips.replaceChildren(...commands.map((c) => {
    const chip = el("button", "command-chip", `/${c.command}`);
    chip.type = "button";
    chip.title = c.description;
    chip.addEventListener("click", () => postJson("send_text", { text: `/${c.command}` }));
    return chip;
  }));
}

document.getElementById("composer").addEventListener("submit", send);
document.getElementById("photo-input").addEventListener("change", (event) => {
  const names = [...event.target.files].map((f) => f.name);
  document.getElementById("attachment-name").textContent = names.length > 1 ? `${names.length} photos` : names.join("");
});
loadInfo().catch((error) => console.warn("info failed", error));
poll();
