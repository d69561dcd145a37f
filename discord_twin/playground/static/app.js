// The playground's page: a Discord channel drawn from the twin's JSON API and its live event stream.
// Everything shown is built with textContent and DOM nodes, never innerHTML: messages cannot inject markup.
"use strict";

const API = "/playground/api";
const FLAG_LOADING = 1 << 7;
const FLAG_EPHEMERAL = 1 << 6;
const $ = (id) => document.getElementById(id);

const state = {
  identity: localStorage.getItem("playground.identity") || "admin",
  info: null,            // GET /state: channel, users, bot, commands, limits
  messages: new Map(),   // id → Discord message JSON
  lastId: "0",
  pending: [],           // files waiting in the composer: {file, url}
  command: null,         // the slash command being filled in: {name, subcommand, options}
};

// -- small helpers -----------------------------------------------------------------------------

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

function byId(a, b) {  // snowflakes are longer than JavaScript's exact integers: compare as strings
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

function me() { return state.info ? state.info.users[state.identity] : null; }

function displayName(user) { return user.global_name || user.username; }

const AVATAR_COLOURS = ["#5865f2", "#3ba55c", "#faa61a", "#ed4245", "#eb459e", "#747f8d"];
function avatar(user, small) {
  const node = el("div", small ? "avatar small" : "avatar", displayName(user).slice(0, 1).toUpperCase());
  node.style.background = user.bot ? "#5865f2" : AVATAR_COLOURS[Number(BigInt(user.id) % 5n) + 1];
  return node;
}

function pathOf(url) {  // attachments are served by the page's own origin, whatever host the twin named
  try { const u = new URL(url, location.href); return u.pathname + u.search; } catch { return "#"; }
}

function showError(text) {
  const box = $("error");
  box.textContent = text || "";
  box.hidden = !text;
}

async function api(path, options) {
  const response = await fetch(API + path, options);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.message || `HTTP ${response.status}`);
  return body;
}

// -- Discord's markdown, the part bots use -------------------------------------------------------

const INLINE = /(`[^`]+`|\*\*[\s\S]+?\*\*|__[\s\S]+?__|~~[\s\S]+?~~|\*[^*\s][^*]*\*|<@!?\d+>|https?:\/\/[^\s<]+)/;

function markdown(text) {
  const fragment = document.createDocumentFragment();
  const parts = String(text).split(/```(?:[a-zA-Z0-9_+-]*\n)?([\s\S]*?)```/);
  parts.forEach((part, index) => {
    if (index % 2 === 1) {
      const pre = el("pre");
      pre.append(el("code", null, part.replace(/\n$/, "")));
      fragment.append(pre);
    } else if (part) {
      fragment.append(inline(part));
    }
  });
  return fragment;
}

function inline(text) {
  const fragment = document.createDocumentFragment();
  for (const token of text.split(INLINE)) {
    if (!token) continue;
    let node;
    if (/^`[^`]+`$/.test(token)) node = el("code", null, token.slice(1, -1));
    else if (/^\*\*[\s\S]+\*\*$/.test(token)) { node = el("strong"); node.append(inline(token.slice(2, -2))); }
    else if (/^__[\s\S]+__$/.test(token)) { node = el("u"); node.append(inline(token.slice(2, -2))); }
    else if (/^~~[\s\S]+~~$/.test(token)) { node = el("s"); node.append(inline(token.slice(2, -2))); }
    else if (/^\*[^*\s][^*]*\*$/.test(token)) { node = el("em"); node.append(inline(token.slice(1, -1))); }
    else if (/^<@!?\d+>$/.test(token)) node = el("span", "mention", "@" + mentionName(token.replace(/\D/g, "")));
    else if (/^https?:\/\//.test(token)) {
      node = el("a", null, token);
      node.href = token; node.target = "_blank"; node.rel = "noopener noreferrer";
    } else node = document.createTextNode(token);
    fragment.append(node);
  }
  return fragment;
}

function mentionName(id) {
  const info = state.info;
  if (!info) return id;
  const user = [info.bot, ...Object.values(info.users)].find((u) => u.id === id);
  return user ? displayName(user) : id;
}

// -- drawing messages ----------------------------------------------------------------------------

function renderMessage(m) {
  const node = el("div", "message");
  node.dataset.id = m.id;
  node.dataset.author = m.author.bot ? "bot" : m.author.username;
  if (m.flags & FLAG_EPHEMERAL) node.classList.add("ephemeral");
  const ref = m.message_reference && m.message_reference.message_id;
  const clicked = m.interaction_metadata && m.interaction_metadata.interacted_message_id;  // a component's answer
  if (ref) node.append(replyLine(m, ref));
  else if (clicked) node.append(replyLine(m, clicked));
  else if (m.interaction) {
    const line = el("div", "reply-line");
    const slash = !(m.interaction_metadata && m.interaction_metadata.command_type === 3);  // 3: a message menu
    line.append(el("span", "who", displayName(m.interaction.user)), ` used ${slash ? "/" : ""}${m.interaction.name}`);
    node.append(line);
  }
  node.append(avatar(m.author));
  const body = el("div", "message-body");
  const header = el("div", "message-header");
  header.append(el("span", "author", displayName(m.author)));
  if (m.author.bot) header.append(el("span", "bot-tag", "BOT"));
  header.append(el("span", "timestamp", new Date(m.timestamp).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })));
  body.append(header);

  if (m.flags & FLAG_LOADING) {
    body.append(el("div", "thinking", `${displayName(m.author)} is thinking…`));
  } else {
    const content = el("div", "content");
    content.append(markdown(m.content || ""));
    if (m.edited_timestamp) content.append(" ", el("span", "edited", "(edited)"));
    if (m.content || m.edited_timestamp) body.append(content);
  }
  const shownInEmbeds = new Set();
  for (const embed of m.embeds || []) body.append(renderEmbed(embed, m, shownInEmbeds));
  const files = (m.attachments || []).filter((a) => !shownInEmbeds.has(a.filename));
  if (files.length) {
    const box = el("div", "attachments");
    for (const a of files) {
      if ((a.content_type || "").startsWith("image/")) {
        const img = el("img"); img.src = pathOf(a.url); img.alt = a.filename; img.title = a.filename;
        box.append(img);
      } else {
        const link = el("a", "file", a.filename); link.href = pathOf(a.url); link.download = a.filename;
        box.append(link);
      }
    }
    body.append(box);
  }
  if (m.components && m.components.length && !(m.flags & FLAG_LOADING)) body.append(renderComponents(m));
  if (m.reactions && m.reactions.length) body.append(renderReactions(m));
  if (m.flags & FLAG_EPHEMERAL) body.append(el("div", "only-you", "Only you can see this"));
  node.append(body, toolbar(m));
  return node;
}

function replyLine(m, ref) {
  const line = el("div", "reply-line");
  const target = state.messages.get(ref) || m.referenced_message;
  if (target) {
    line.append(el("span", "who", "@" + displayName(target.author)));
    const embed = target.embeds && target.embeds.length ? target.embeds[0].title : null;
    const snippet = target.content || embed || (target.attachments && target.attachments.length ? "[image] " + target.attachments[0].filename : "(embed)");
    line.append(el("span", "snippet", snippet.slice(0, 100)));
  } else line.append(el("span", "snippet", "Original message was deleted"));
  line.addEventListener("click", () => jumpTo(ref));
  return line;
}

function jumpTo(id) {
  const target = document.querySelector(`.message[data-id="${CSS.escape(id)}"]`);
  if (!target) return;
  target.scrollIntoView({ block: "center", behavior: "smooth" });
  target.classList.add("highlight");
  setTimeout(() => target.classList.remove("highlight"), 1500);
}

function renderEmbed(embed, m, shownInEmbeds) {
  const node = el("div", "embed");
  if (typeof embed.color === "number") node.style.borderLeftColor = "#" + embed.color.toString(16).padStart(6, "0");
  if (embed.author && embed.author.name) node.append(el("div", "embed-author", embed.author.name));
  if (embed.title) {
    const title = el("div", "embed-title");
    title.append(inline(embed.title));
    node.append(title);
  }
  if (embed.description) {
    const description = el("div", "embed-description");
    description.append(markdown(embed.description));
    node.append(description);
  }
  if (embed.fields && embed.fields.length) {
    const fields = el("div", "embed-fields");
    for (const field of embed.fields) {
      const box = el("div", field.inline ? "embed-field" : "embed-field wide");
      const name = el("div", "embed-field-name"); name.append(inline(field.name || ""));
      const value = el("div", "embed-field-value"); value.append(markdown(field.value || ""));
      box.append(name, value);
      fields.append(box);
    }
    node.append(fields);
  }
  const image = embed.image && embed.image.url;
  if (image) {
    let src = image;
    if (image.startsWith("attachment://")) {
      const name = image.slice("attachment://".length);
      const file = (m.attachments || []).find((a) => a.filename === name);
      shownInEmbeds.add(name);
      src = file ? pathOf(file.url) : "";
    } else src = pathOf(image);
    if (src) {
      const box = el("div", "embed-image");
      const img = el("img"); img.src = src; img.alt = embed.title || "embed image";
      box.append(img);
      node.append(box);
    }
  }
  if (embed.footer && embed.footer.text) node.append(el("div", "embed-footer", embed.footer.text));
  return node;
}

// Message components: action rows of buttons and string selects, drawn as Discord draws them.
const BUTTON_STYLES = { 1: "primary", 2: "secondary", 3: "success", 4: "danger", 5: "link" };

function renderComponents(m) {
  const box = el("div", "components");
  for (const row of m.components) {
    const line = el("div", "action-row");
    for (const c of row.components || []) {
      if (c.type === 2) line.append(renderButton(m, c));
      else if (c.type === 3) line.append(renderSelect(m, c));
    }
    box.append(line);
  }
  return box;
}

function renderButton(m, c) {
  const label = [c.emoji && c.emoji.name, c.label].filter(Boolean).join(" ");
  const style = BUTTON_STYLES[c.style] || "secondary";
  if (c.style === 5) {  // a link button opens its url; the bot hears nothing
    const link = el("a", "component-button link", label + " ↗");
    link.href = c.url; link.target = "_blank"; link.rel = "noopener noreferrer";
    if (c.disabled) link.classList.add("disabled");
    return link;
  }
  const button = el("button", `component-button ${style}`, label);
  button.type = "button"; button.disabled = Boolean(c.disabled); button.dataset.customId = c.custom_id;
  button.addEventListener("click", () => useComponent(m, c.custom_id, null, button));
  return button;
}

function renderSelect(m, c) {
  const select = el("select", "component-select");
  select.dataset.customId = c.custom_id; select.disabled = Boolean(c.disabled);
  const many = (c.max_values || 1) > 1;
  if (many) select.multiple = true;
  else {
    const placeholder = el("option", null, c.placeholder || "Make a selection");
    placeholder.value = ""; placeholder.disabled = true; placeholder.selected = true; placeholder.hidden = true;
    select.append(placeholder);
  }
  for (const o of c.options || []) {
    const option = el("option", null, o.description ? `${o.label} — ${o.description}` : o.label);
    option.value = o.value;
    select.append(option);
  }
  if (!many) {
    select.addEventListener("change", () => useComponent(m, c.custom_id, [select.value], select));
    return select;
  }
  const box = el("div", "select-many");
  const send = el("button", "component-button primary", "Choose"); send.type = "button";
  send.addEventListener("click", () => useComponent(m, c.custom_id, [...select.selectedOptions].map((o) => o.value), send));
  box.append(select, send);
  return box;
}

async function useComponent(m, customId, values, control) {
  control.disabled = true;  // until the bot answers (its update redraws the message)
  control.classList.add("waiting");
  try {
    await api("/components", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ user: state.identity, message_id: m.id, custom_id: customId, values }) });
    showError("");
  } catch (error) {
    showError(error.message);
  } finally {
    setTimeout(() => { if (control.isConnected) { control.disabled = false; control.classList.remove("waiting"); } }, 3000);
  }
}

function renderReactions(m) {
  const box = el("div", "reactions");
  for (const r of m.reactions) {
    const users = r.users || [];
    const mine = me() && users.includes(me().id);
    const button = el("button", mine ? "reaction me" : "reaction", `${r.emoji.name} ${r.count}`);
    button.type = "button";
    button.addEventListener("click", () => react(m.id, r.emoji.name, mine));
    box.append(button);
  }
  return box;
}

function toolbar(m) {
  const bar = el("div", "toolbar");
  const add = el("button", null, "+1"); add.type = "button"; add.title = "React with 👍";
  add.addEventListener("click", () => react(m.id, "👍", false));
  const reply = el("button", null, "↩"); reply.type = "button"; reply.title = "Reply";
  reply.addEventListener("click", () => { state.replyTo = m.id; $("text").placeholder = `Replying to ${displayName(m.author)}`; $("text").focus(); });
  const apps = el("button", "apps", "Apps"); apps.type = "button"; apps.title = "Apps";
  apps.addEventListener("click", (event) => { event.stopPropagation(); openAppsMenu(m, bar.parentNode); });
  bar.append(add, reply, apps);
  return bar;
}

function openAppsMenu(m, node) {
  document.querySelectorAll(".apps-menu").forEach((menu) => menu.remove());
  const menu = el("div", "apps-menu");
  menu.append(el("div", "menu-title", "Apps"));
  const commands = (state.info ? state.info.commands : []).filter((c) => c.type === 3);
  if (!commands.length) menu.append(el("div", "muted", "no message commands yet"));
  for (const command of commands) {
    const item = el("button", null, command.name); item.type = "button";
    item.addEventListener("click", async () => {
      menu.remove();
      const form = new FormData();
      form.append("user", state.identity); form.append("name", command.name); form.append("target_id", m.id);
      try { await api("/interactions", { method: "POST", body: form }); showError(""); } catch (error) { showError(error.message); }
    });
    menu.append(item);
  }
  node.append(menu);
}
document.addEventListener("click", () => document.querySelectorAll(".apps-menu").forEach((menu) => menu.remove()));

// -- the list: messages in id order, replaced in place when edited -------------------------------------

function visible(m) {
  if (m.flags & FLAG_EPHEMERAL) return m.viewer === undefined || m.viewer === (me() && me().id);
  return true;
}

function upsert(m) {
  const list = $("messages");
  const old = state.messages.get(m.id);
  if (old && old.reactions && !m.reactions) m.reactions = old.reactions;
  if (old && old.viewer !== undefined) m.viewer = old.viewer;
  state.messages.set(m.id, m);
  if (byId(m.id, state.lastId) > 0 && !(m.flags & FLAG_EPHEMERAL)) state.lastId = m.id;
  const existing = list.querySelector(`.message[data-id="${CSS.escape(m.id)}"]`);
  if (!visible(m)) { if (existing) existing.remove(); return; }
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  const node = renderMessage(m);
  if (existing) existing.replaceWith(node);
  else {
    const later = [...list.querySelectorAll(".message")].find((other) => byId(other.dataset.id, m.id) > 0);
    list.insertBefore(node, later || null);
  }
  hideAnsweredPlaceholder(m);
  group(node); if (node.nextElementSibling) group(node.nextElementSibling);
  if (atBottom || (me() && m.author.id === me().id)) {
    list.scrollTop = list.scrollHeight;
    node.querySelectorAll("img").forEach((img) => img.addEventListener("load", () => { list.scrollTop = list.scrollHeight; }, { once: true }));
  }
}

// A deferred answer ("is thinking…") is done once a follow-up to the same interaction arrives.
function hideAnsweredPlaceholder(m) {
  if (!m.interaction || m.flags & FLAG_LOADING) return;
  for (const other of state.messages.values()) {
    if (other.id !== m.id && other.flags & FLAG_LOADING && other.interaction && other.interaction.id === m.interaction.id) {
      const node = document.querySelector(`.message[data-id="${CSS.escape(other.id)}"]`);
      if (node) node.remove();
    }
  }
}

// Consecutive messages by one author within five minutes share one header, as on Discord.
function group(node) {
  const previous = node.previousElementSibling;
  const m = state.messages.get(node.dataset.id);
  const p = previous && previous.classList.contains("message") ? state.messages.get(previous.dataset.id) : null;
  const same = p && m && p.author.id === m.author.id && !m.message_reference && !m.interaction
    && new Date(m.timestamp) - new Date(p.timestamp) < 5 * 60 * 1000;
  node.classList.toggle("continued", Boolean(same));
}

function remove(id) {
  state.messages.delete(id);
  const node = document.querySelector(`.message[data-id="${CSS.escape(id)}"]`);
  if (node) node.remove();
}

function reacted(data, added) {
  const m = state.messages.get(data.message_id);
  if (!m) return;
  m.reactions = m.reactions || [];
  let r = m.reactions.find((x) => x.emoji.name === data.emoji.name);
  if (!r) { r = { emoji: data.emoji, count: 0, users: [] }; m.reactions.push(r); }
  r.users = r.users || [];
  if (added && !r.users.includes(data.user_id)) r.users.push(data.user_id);
  if (!added) r.users = r.users.filter((u) => u !== data.user_id);
  r.count = Math.max(r.users.length, added ? r.count + 1 : r.count - 1);
  m.reactions = m.reactions.filter((x) => x.count > 0);
  upsert(m);
}

async function react(messageId, emoji, remove) {
  try {
    await api("/reactions", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ user: state.identity, message_id: messageId, emoji, remove }) });
  } catch (error) { showError(error.message); }
}

// -- state, history and the live stream --------------------------------------------------------------

async function loadState() {
  state.info = await api("/state");
  const { channel, guild, bot, users } = state.info;
  for (const id of ["channel-name", "sidebar-channel", "welcome-channel"]) $(id).textContent = channel.name;
  $("guild-name").textContent = guild.name;
  $("guild-icon").textContent = guild.name.split(/[-\s]/).map((w) => w[0]).join("").slice(0, 3);
  $("text").placeholder = `Message #${channel.name}`;
  const members = $("member-list");
  members.replaceChildren();
  for (const [key, user] of [["bot", bot], ...Object.entries(users)]) {
    const row = el("div", "member");
    const face = avatar(user, true);
    face.append(el("span", key === "bot" && !bot.connected ? "status" : "status online"));
    const names = el("div");
    names.append(el("div", "author", displayName(user)));
    names.append(el("div", "role", key === "bot" ? (bot.connected ? "BOT · online" : "BOT · offline") : (user.admin ? "server admin" : "member")));
    row.append(face, names);
    members.append(row);
  }
  for (const option of $("identity").options) {
    const user = users[option.value];
    option.textContent = `${displayName(user)} (${user.admin ? "admin" : "member"})`;
  }
  $("identity").value = state.identity;
  showIdentity();
}

function showIdentity() {
  const user = me();
  if (!user) return;
  $("me-avatar").replaceWith(Object.assign(avatar(user, true), { id: "me-avatar" }));
  $("me-name").textContent = displayName(user);
  $("me-role").textContent = user.admin ? "server admin" : "member";
}

async function loadHistory() {
  const messages = await api(`/messages?after=${state.lastId}&limit=1000&user=${state.identity}`);
  for (const m of messages) {
    if (m.flags & FLAG_EPHEMERAL) m.viewer = me().id;  // asked for as this person: theirs
    upsert(m);
  }
}

function connect() {
  const events = new EventSource(`${API}/events`);
  const pill = $("connection");
  events.addEventListener("HELLO", () => {
    pill.textContent = "live"; pill.classList.add("live");
    loadState().then(loadHistory).catch((error) => showError(error.message));  // catch up after a reconnect
  });
  events.addEventListener("error", () => { pill.textContent = "reconnecting…"; pill.classList.remove("live"); });
  const on = (name, handler) => events.addEventListener(name, (event) => handler(JSON.parse(event.data)));
  on("MESSAGE_CREATE", upsert);
  on("MESSAGE_UPDATE", upsert);
  on("MESSAGE_DELETE", (data) => remove(data.id));
  on("MESSAGE_REACTION_ADD", (data) => reacted(data, true));
  on("MESSAGE_REACTION_REMOVE", (data) => reacted(data, false));
  on("EPHEMERAL", (data) => { data.message.viewer = data.viewer; upsert(data.message); });
  on("STATE", () => loadState().catch((error) => showError(error.message)));
}

// -- the composer: text, files, slash commands ---------------------------------------------------------

function addFiles(files) {
  const limits = state.info ? state.info.limits : { max_bytes: Infinity, max_files: 10 };
  for (const file of files) {
    if (file.size > limits.max_bytes) { showError(`${file.name} is larger than ${limits.max_bytes.toLocaleString()} bytes`); continue; }
    if (state.pending.length >= limits.max_files) { showError(`at most ${limits.max_files} files per message`); break; }
    state.pending.push({ file, url: URL.createObjectURL(file) });
  }
  showPending();
}

function showPending() {
  const box = $("pending");
  box.replaceChildren();
  state.pending.forEach((item, index) => {
    const chip = el("div", "chip");
    if (item.file.type.startsWith("image/")) { const img = el("img"); img.src = item.url; img.alt = item.file.name; chip.append(img); }
    chip.append(el("div", "name", item.file.name));
    const drop = el("button", null, "×"); drop.type = "button"; drop.title = "Remove";
    drop.addEventListener("click", () => { URL.revokeObjectURL(item.url); state.pending.splice(index, 1); showPending(); });
    chip.append(drop);
    box.append(chip);
  });
  box.hidden = state.pending.length === 0;
}

function clearComposer() {
  state.pending.forEach((item) => URL.revokeObjectURL(item.url));
  state.pending = [];
  state.replyTo = null;
  $("text").value = "";
  $("text").placeholder = `Message #${state.info ? state.info.channel.name : "digits"}`;
  showPending();
  closeCommand();
  autosize();
}

async function send() {
  showError("");
  if (state.command) return runCommand();
  const content = $("text").value;
  if (content.trim() === "" && state.pending.length === 0) return;
  if (/^\/\S/.test(content.trim()) && !state.pending.length) {
    const match = slashMatches(content.trim().slice(1).split(/\s/)[0]);
    if (match.length) { chooseCommand(match[0]); return; }
  }
  // The composer is emptied as the message leaves, as Discord's is: what is typed or attached while it is
  // on its way belongs to the next message. It is put back if the message is refused.
  const sending = { pending: state.pending, replyTo: state.replyTo };
  state.pending = [];
  clearComposer();
  const form = new FormData();
  form.append("user", state.identity);
  form.append("content", content);
  if (sending.replyTo) form.append("reply_to", sending.replyTo);
  for (const item of sending.pending) form.append("files", item.file, item.file.name);
  try {
    await api("/messages", { method: "POST", body: form });
    sending.pending.forEach((item) => URL.revokeObjectURL(item.url));
  } catch (error) {
    showError(error.message);
    state.pending = [...sending.pending, ...state.pending];
    state.replyTo = state.replyTo || sending.replyTo;
    if ($("text").value === "") $("text").value = content;
    showPending();
    autosize();
  }
}

// Slash commands: the bot's registered ones, subcommands listed as "/name sub".
function slashEntries() {
  const entries = [];
  for (const command of state.info ? state.info.commands : []) {
    if (command.type !== 1) continue;
    const subs = (command.options || []).filter((o) => o.type === 1);
    if (subs.length) for (const sub of subs) entries.push({ name: command.name, subcommand: sub.name, description: sub.description, options: sub.options || [] });
    else entries.push({ name: command.name, subcommand: null, description: command.description, options: command.options || [] });
  }
  return entries.sort((a, b) => (a.name + " " + (a.subcommand || "")).localeCompare(b.name + " " + (b.subcommand || "")));
}

function slashMatches(prefix) {
  return slashEntries().filter((e) => e.name.startsWith(prefix.toLowerCase()));
}

function updateSlashMenu() {
  const menu = $("slash-menu");
  const text = $("text").value;
  if (state.command || !/^\/\S*$/.test(text)) { menu.hidden = true; return; }
  const matches = slashMatches(text.slice(1));
  menu.replaceChildren();
  if (!matches.length) {
    menu.append(el("div", "slash-desc", state.info && state.info.bot.connected ? "No matching commands" : "The bot has not registered any commands yet"));
  }
  matches.forEach((entry, index) => {
    const item = el("div", index === 0 ? "slash-item selected" : "slash-item");
    item.setAttribute("role", "option");
    item.dataset.command = entry.subcommand ? `${entry.name} ${entry.subcommand}` : entry.name;
    item.append(el("span", "slash-name", "/" + item.dataset.command));
    const options = entry.options.map((o) => (o.required ? o.name : `[${o.name}]`)).join(" ");
    if (options) item.append(el("span", "slash-desc", options));
    item.append(el("span", "slash-desc", entry.description || ""));
    item.append(el("span", "slash-app", state.info.bot.username));
    item.addEventListener("mousedown", (event) => { event.preventDefault(); chooseCommand(entry); });
    menu.append(item);
  });
  menu.hidden = false;
}

const OPTION_TYPES = { 3: "text", 4: "whole number", 5: "true/false", 6: "user", 10: "number", 11: "file" };

function chooseCommand(entry) {
  state.command = entry;
  $("slash-menu").hidden = true;
  $("text").value = "";
  $("text").placeholder = entry.options.length ? "fill in the options, then press Enter" : "press Enter to send";
  const form = $("command-form");
  form.replaceChildren(el("span", "command-chip", "/" + (entry.subcommand ? `${entry.name} ${entry.subcommand}` : entry.name)));
  for (const option of entry.options) {
    const label = el("label", "option");
    label.title = option.description || "";
    label.append(el("span", null, option.name));
    if (option.required) label.append(el("span", "required", "*"));
    const input = el("input");
    input.name = option.name;
    input.dataset.type = option.type;
    if (option.type === 11) { input.type = "file"; input.accept = "image/*"; }
    else if (option.type === 5) input.type = "checkbox";
    else if (option.type === 4 || option.type === 10) { input.type = "number"; input.step = option.type === 4 ? "1" : "any"; }
    else input.type = "text";
    input.placeholder = OPTION_TYPES[option.type] || "";
    label.append(input);
    if (option.type === 11) label.append(el("span", "option-hint", "or attach/draw/paste"));
    form.append(label);
  }
  const cancel = el("button", null, "✕"); cancel.type = "button"; cancel.id = "command-cancel"; cancel.title = "Cancel the command";
  cancel.addEventListener("click", () => { closeCommand(); $("text").focus(); });
  form.append(cancel);
  form.hidden = false;
  const first = form.querySelector("input");
  (first && first.type !== "file" ? first : $("text")).focus();
}

function closeCommand() {
  state.command = null;
  $("command-form").hidden = true;
  $("command-form").replaceChildren();
}

async function runCommand() {
  const entry = state.command;
  const form = new FormData();
  const options = {};
  const pending = [...state.pending];
  form.append("user", state.identity);
  form.append("name", entry.name);
  if (entry.subcommand) form.append("subcommand", entry.subcommand);
  for (const input of $("command-form").querySelectorAll("input")) {
    const option = entry.options.find((o) => o.name === input.name);
    if (input.type === "file") {
      const file = input.files[0] || (pending.length ? pending.shift().file : null);
      if (file) form.append(input.name, file, file.name);
      else if (option.required) return showError(`/${entry.name} needs a file for ${input.name}: pick, drop, paste or draw one`);
    } else if (input.type === "checkbox") {
      if (input.checked) options[input.name] = true;
    } else if (input.value !== "") options[input.name] = input.value;
    else if (option.required) return showError(`/${entry.name} needs ${input.name}`);
  }
  form.append("options", JSON.stringify(options));
  try { await api("/interactions", { method: "POST", body: form }); clearComposer(); } catch (error) { showError(error.message); }
}

function autosize() {
  const text = $("text");
  text.style.height = "auto";
  text.style.height = text.scrollHeight + "px";
}

// -- the drawing pad: mouse, pen or finger (pointer events), sent as a PNG ------------------------------

function setupPad() {
  const dialog = $("pad-dialog");
  const canvas = $("pad");
  const ctx = canvas.getContext("2d");
  let last = null;
  const clear = () => { ctx.fillStyle = "black"; ctx.fillRect(0, 0, canvas.width, canvas.height); };
  const point = (event) => {
    const box = canvas.getBoundingClientRect();
    return { x: (event.clientX - box.left) * canvas.width / box.width, y: (event.clientY - box.top) * canvas.height / box.height };
  };
  const dot = (p) => { ctx.beginPath(); ctx.arc(p.x, p.y, ctx.lineWidth / 2, 0, 2 * Math.PI); ctx.fill(); };
  clear();
  Object.assign(ctx, { strokeStyle: "white", fillStyle: "white", lineWidth: 22, lineCap: "round", lineJoin: "round" });
  canvas.addEventListener("pointerdown", (event) => {
    canvas.setPointerCapture(event.pointerId);
    last = point(event);
    ctx.fillStyle = "white"; dot(last);
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!last) return;
    const p = point(event);
    ctx.beginPath(); ctx.moveTo(last.x, last.y); ctx.lineTo(p.x, p.y); ctx.stroke();
    last = p;
  });
  const end = () => { last = null; };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  const drawing = () => new Promise((resolve) => canvas.toBlob((blob) => resolve(new File([blob], "drawing.png", { type: "image/png" })), "image/png"));
  $("draw").addEventListener("click", () => { clear(); ctx.fillStyle = "white"; dialog.showModal(); });
  $("pad-clear").addEventListener("click", () => { clear(); ctx.fillStyle = "white"; });
  $("pad-cancel").addEventListener("click", () => dialog.close());
  $("pad-attach").addEventListener("click", async () => { addFiles([await drawing()]); dialog.close(); $("text").focus(); });
  $("pad-send").addEventListener("click", async () => {
    addFiles([await drawing()]);
    dialog.close();
    await send();
  });
}

// -- wiring ------------------------------------------------------------------------------------------

function setup() {
  const text = $("text");
  $("composer").addEventListener("submit", (event) => { event.preventDefault(); send(); });
  text.addEventListener("input", () => { autosize(); updateSlashMenu(); });
  text.addEventListener("keydown", (event) => {
    const menu = $("slash-menu");
    if (!menu.hidden && (event.key === "Tab" || event.key === "Enter")) {
      const selected = menu.querySelector(".slash-item.selected");
      if (selected) { event.preventDefault(); selected.dispatchEvent(new MouseEvent("mousedown")); return; }
    }
    if (!menu.hidden && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
      event.preventDefault();
      const items = [...menu.querySelectorAll(".slash-item")];
      const at = items.findIndex((i) => i.classList.contains("selected"));
      const next = items[(at + (event.key === "ArrowDown" ? 1 : items.length - 1)) % items.length];
      items.forEach((i) => i.classList.toggle("selected", i === next));
      return;
    }
    if (event.key === "Escape") { menu.hidden = true; closeCommand(); }
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); send(); }
  });
  $("command-form").addEventListener("keydown", (event) => { if (event.key === "Enter") { event.preventDefault(); send(); } });
  $("attach").addEventListener("click", () => $("file-input").click());
  $("file-input").addEventListener("change", (event) => { addFiles(event.target.files); event.target.value = ""; });
  document.addEventListener("paste", (event) => {
    const files = [...(event.clipboardData ? event.clipboardData.files : [])];
    if (files.length) { event.preventDefault(); addFiles(files); }
  });
  const overlay = $("drop-overlay");
  let depth = 0;
  document.addEventListener("dragenter", (event) => { if (event.dataTransfer.types.includes("Files")) { depth++; overlay.hidden = false; } });
  document.addEventListener("dragleave", () => { depth = Math.max(0, depth - 1); if (!depth) overlay.hidden = true; });
  document.addEventListener("dragover", (event) => event.preventDefault());
  document.addEventListener("drop", (event) => {
    event.preventDefault(); depth = 0; overlay.hidden = true;
    if (event.dataTransfer.files.length) addFiles(event.dataTransfer.files);
  });
  $("identity").addEventListener("change", (event) => {
    state.identity = event.target.value;
    localStorage.setItem("playground.identity", state.identity);
    showIdentity();
    // Ephemeral messages belong to one viewer: redraw the channel for the new identity.
    for (const m of [...state.messages.values()]) upsert(m);
  });
  setupPad();
  connect();
}

setup();
