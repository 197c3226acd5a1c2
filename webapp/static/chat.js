// The chat page: streams an answer over Server-Sent Events and shows its checked citations.
// Everything from questions and documents goes into the page as text, never as HTML.
"use strict";

const words = JSON.parse(document.getElementById("words").dataset.words);
const form = document.getElementById("ask");
const input = document.getElementById("question");
const button = document.getElementById("ask-button");
const stopButton = document.getElementById("stop-button");
let stopping = null;  // aborts the answer being streamed: the server then stops the model and records it as cancelled
const statusLine = document.getElementById("status");
const conversation = document.getElementById("conversation");
const conversationTotal = document.getElementById("conversation-total");
const newConversation = document.getElementById("new-conversation");
let conversationId = null;  // the id of this conversation's first answer: later questions are follow-ups of it
const PAGES = document.body.dataset.pages;  // "" for the default event, "/e/<id>" for another, "/e/all" for all at once
const API = document.body.dataset.api;  // "/api", or "/api/e/<id>"

// Where a cited passage's page is: its own event's, when the answer drew on several events.
function passageBase(c) {
  return c.event ? `/e/${encodeURIComponent(c.event)}` : PAGES;
}

function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text) node.textContent = text;
  return node;
}

function locator(c) {
  const parts = c.event ? [c.event, c.document] : [c.document];
  if (c.page) parts.push(`${words.page} ${c.page}`);
  if (c.lines) parts.push(`${words.lines} ${c.lines[0]}–${c.lines[1]}`);
  if (c.speaker) parts.push(c.speaker);
  return parts.join(" · ");
}

// The checked answer, with each [n] turned into a link to the cited passage.
function renderAnswer(target, record) {
  target.textContent = "";
  const byN = new Map(record.citations.map((c) => [c.n, c]));
  for (const piece of record.answer.split(/(\[\d+\])/)) {
    const match = piece.match(/^\[(\d+)\]$/);
    const c = match && byN.get(Number(match[1]));
    if (c) {
      target.append(el("a", { href: `${passageBase(c)}/passage/${encodeURIComponent(c.id)}#passage`, class: "cite", title: locator(c) }, `[${c.n}]`));
    } else {
      target.append(document.createTextNode(piece));
    }
  }
}

// A passage as people read it: the layout's line breaks and end-of-line hyphens removed, paragraphs kept (display only).
function reflow(text) {
  return text.split(/\n\s*\n/).map((para) => para.replace(/(\p{Ll})-\n(\p{Ll})/gu, "$1$2").replace(/(\w)-\n(\w)/gu, "$1-$2").split(/\s+/).join(" ").trim())
    .filter(Boolean).join("\n\n");
}

// The cited passage, with the sentence the answer was chosen from (when there is one) highlighted.
function quoteWithSentence(text, sentence) {
  const box = el("blockquote", {});
  const flat = text.split(/\s+/).join(" ");
  const at = sentence ? flat.indexOf(sentence) : -1;
  if (at < 0) {
    box.textContent = text;
    return box;
  }
  box.append(document.createTextNode(flat.slice(0, at)), el("mark", { class: "chosen" }, sentence),
             document.createTextNode(flat.slice(at + sentence.length)));
  return box;
}

function renderRecord(turn, record) {
  const answer = turn.querySelector(".answer");
  renderAnswer(answer, record);
  answer.classList.toggle("abstained", record.abstained);
  if (record.abstained) turn.append(el("p", { class: "notice" }, words.abstained));
  const left = record.sentences.filter((s) => !s.supported);
  if (left.length && !record.abstained) {
    const box = el("details", { class: "unsupported" });
    box.append(el("summary", {}, words.unsupported));
    for (const s of left) box.append(el("p", {}, `${s.text} (${s.problems.join("; ")})`));
    turn.append(box);
  }
  if (record.citations.length) {
    turn.append(el("h3", {}, words.sources));
    const list = el("ol", { class: "citations" });
    for (const c of record.citations) {
      const item = el("li", { value: String(c.n) });
      const chosen = c.sentence ? `?sentence=${encodeURIComponent(c.sentence)}` : "";
      item.append(el("a", { href: `${passageBase(c)}/passage/${encodeURIComponent(c.id)}${chosen}#passage` }, locator(c)));
      item.append(quoteWithSentence(reflow(c.text), c.sentence));
      list.append(item);
    }
    turn.append(list);
  }
  const e = record.energy;
  const chatgpt = e.comparisons.find((x) => x.label === "ChatGPT request");
  const lang = document.documentElement.lang || "en";
  const fixed = (value, digits) => value.toLocaleString(lang, { minimumFractionDigits: digits, maximumFractionDigits: digits });
  let line = `${words.energy}: ${fixed(e.wh, 4)} Wh (${fixed(e.wh_low, 4)}–${fixed(e.wh_high, 4)}, ${e.method}), ${fixed(e.gco2e, 5)} gCO2e`;
  if (chatgpt && chatgpt.ratio) {  // "166 times less than a ChatGPT request", or "1.5 times more" should it ever use more
    line += chatgpt.ratio >= 1
      ? ` · ${Math.round(chatgpt.ratio).toLocaleString(lang)} ${words.vs_chatgpt}`
      : ` · ${(1 / chatgpt.ratio).toLocaleString(lang, { maximumFractionDigits: 1 })} ${words.vs_chatgpt_more}`;
  }
  line += ` · ${equivalentsLine(e)}`;
  if (record.cached) turn.append(el("p", { class: "notice" }, words.cached.replace("{wh}", fixed(record.original_energy.wh, 4))));
  const meta = el("p", { class: "meta" });
  if (e.label) meta.append(el("span", { class: `energy-class class-${e.label.class}`, title: e.label.source }, words.energy_class.replace("{c}", e.label.class)), " ");
  meta.append(document.createTextNode(line + " · "));
  meta.append(el("a", { href: `${PAGES}/audit/${encodeURIComponent(record.id)}` }, words.audit));
  turn.append(meta);
  turn.append(feedbackForm(record.id));
}

// The answer's energy as things people can picture: seconds of a 10 W LED bulb, share of a phone charge, metres by electric car.
function equivalentsLine(energy) {
  const lang = document.documentElement.lang || "en";
  const by = Object.fromEntries((energy.equivalents || []).map((x) => [x.key, x.amount]));
  const n = (value) => value.toLocaleString(lang, { maximumSignificantDigits: 2 });
  return [words.equiv_led.replace("{n}", n(by.led_minutes * 60)), words.equiv_phone.replace("{n}", n(by.phone_charge_share * 100)),
          words.equiv_ev.replace("{n}", n(by.ev_metres))].join(", ");
}

// Thumbs up or down, with an optional comment, stored with the answer's audit record.
function feedbackForm(id) {
  const form = el("form", { class: "feedback" });
  const comment = el("input", { type: "text", name: "comment", maxlength: "1000", placeholder: words.comment, "aria-label": words.comment });
  const done = el("span", { class: "thanks", role: "status" });
  for (const [rating, label, mark] of [["up", words.helpful, "\u{1F44D}"], ["down", words.not_helpful, "\u{1F44E}"]]) {
    const button = el("button", { type: "button", class: `rate-${rating}`, "aria-label": label, title: label }, mark);
    button.addEventListener("click", async () => {
      const response = await fetch(`${API}/answers/${encodeURIComponent(id)}/feedback`, {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ rating, comment: comment.value.trim() }),
      });
      let payload = {};
      try { payload = await response.json(); } catch (_) { /* not JSON */ }
      done.textContent = response.ok ? words.thanks : words.failed.replace("{m}", (payload.error || {}).message || response.statusText);
      if (response.ok) for (const b of form.querySelectorAll("button")) b.disabled = true;
    });
    form.append(button);
  }
  form.append(comment, done);
  return form;
}

// Nothing provisional survives an error: the sentences shown so far were checked, but the answer is not complete.
function showError(turn, payload) {
  const message = payload.code === "busy" ? words.busy.replace("{n}", payload.retry_after || 10) : words.failed.replace("{m}", payload.message);
  statusLine.textContent = message;
  const answer = turn.querySelector(".answer");
  answer.textContent = "";
  answer.removeAttribute("aria-busy");
  answer.classList.remove("pending");
  answer.classList.add("failed");
  turn.append(el("p", { class: "error", role: "alert" }, message));
}

// The conversation's running total, against the same questions asked of ChatGPT at the published figure.
function showTotal(totals) {
  const lang = document.documentElement.lang || "en";
  const n = (value, digits) => value.toLocaleString(lang, { minimumFractionDigits: digits, maximumFractionDigits: digits });
  conversationTotal.textContent = words.conversation_total.replace("{n}", totals.answers).replace("{wh}", n(totals.wh, 4))
    .replace("{cloud}", n(totals.cloud_wh, 1)).replace("{ratio}", totals.ratio ? Math.round(totals.ratio).toLocaleString(lang) : "–");
  conversationTotal.hidden = false;
}

function follow(turn) {
  turn.scrollIntoView({ block: "end" });
}

// Stopped by the user: what was shown was checked, but the answer is incomplete, so none of it stays.
function stopped(turn) {
  const answer = turn.querySelector(".answer");
  answer.textContent = "";
  answer.removeAttribute("aria-busy");
  answer.classList.remove("pending");
  turn.append(el("p", { class: "notice stopped", role: "status" }, words.stopped));
  statusLine.textContent = "";
}

async function ask(question) {
  const turn = el("article", { class: "turn" });
  turn.append(el("p", { class: "question" }, question));
  turn.append(el("p", { class: "answer pending", "aria-busy": "true" }));
  conversation.append(turn);  // in order, newest at the bottom, the view following it
  follow(turn);
  statusLine.textContent = words.thinking;
  stopping = new AbortController();
  let response;
  try {
    response = await fetch(`${API}/ask/stream`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify(conversationId ? { question, conversation: conversationId } : { question }),
      signal: stopping.signal,
    });
  } catch (err) {
    if (stopping.signal.aborted) return stopped(turn);
    throw err;
  }
  if (!response.ok) {
    let payload = { message: response.statusText };
    try { payload = (await response.json()).error; } catch (_) { /* not JSON */ }
    payload.retry_after = payload.retry_after || response.headers.get("Retry-After");
    showError(turn, payload);
    return;
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  const answer = turn.querySelector(".answer");
  let buffer = "";
  let settled = false;
  for (;;) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch (err) {
      if (stopping.signal.aborted) return stopped(turn);
      throw err;
    }
    const { value, done } = chunk;
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const type = (block.match(/^event: (.*)$/m) || [])[1];
      const data = (block.match(/^data: (.*)$/m) || [])[1];
      if (!type || !data) continue;
      const payload = JSON.parse(data);
      // The server sends only sentences that passed their check, then the answer as shown, which replaces them.
      if (type === "retrieval") {
        statusLine.textContent = payload.sources.length ? words.checking : words.thinking;
        if (payload.searched && payload.searched !== question) {  // a follow-up, made standalone: what was searched
          const also = (payload.also_searched || []).length ? ` (${words.searched_also})` : "";
          turn.querySelector(".question").after(el("p", { class: "searched" }, words.searched_as.replace("{q}", payload.searched) + also));
        }
      } else if (type === "sentence") {
        answer.classList.remove("pending");
        answer.append(document.createTextNode((answer.textContent ? " " : "") + payload.text));
      } else if (type === "answer") {
        answer.classList.remove("pending");
        renderAnswer(answer, { answer: payload.text, citations: payload.citations });
      } else if (type === "record") {
        settled = true;
        answer.classList.remove("pending");
        answer.removeAttribute("aria-busy");
        renderRecord(turn, payload.record);
        conversationId = payload.record.conversation;
        newConversation.hidden = false;
        statusLine.textContent = "";
      } else if (type === "conversation") {
        showTotal(payload);
      } else if (type === "error") {
        settled = true;
        showError(turn, payload);
      }
      follow(turn);
    }
  }
  if (!settled) showError(turn, { message: words.cut });
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const question = input.value.trim();
  if (!question) return;
  button.disabled = true;
  stopButton.hidden = false;
  input.value = "";
  try {
    await ask(question);
  } catch (err) {
    const turn = conversation.querySelector(".turn:last-of-type");
    if (turn) showError(turn, { message: String(err) });
    else statusLine.textContent = words.failed.replace("{m}", String(err));
  } finally {
    button.disabled = false;
    stopButton.hidden = true;
    input.focus();
  }
});

newConversation.addEventListener("click", () => {
  conversationId = null;
  conversation.textContent = "";
  conversationTotal.hidden = true;
  newConversation.hidden = true;
  statusLine.textContent = "";
  input.focus();
});

stopButton.addEventListener("click", () => {
  if (stopping) stopping.abort();
});

input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    form.requestSubmit();
  }
});
