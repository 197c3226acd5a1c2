// The page that adds an event: create it, upload its documents, review the people and the manifest, ingest it.
// The admin token stays in this tab (sessionStorage) and goes with each request as a Bearer token.
"use strict";

const words = JSON.parse(document.getElementById("admin-words").dataset.words);
const API = document.body.dataset.api.replace(/\/e\/[^/]+$/, "");  // the admin API is the home's, whatever the event
const statusLine = document.getElementById("admin-status");
const token = document.getElementById("token");
let eventId = null;

token.value = sessionStorage.getItem("eventkb-admin-token") || "";
token.addEventListener("change", () => {
  sessionStorage.setItem("eventkb-admin-token", token.value);
  listDrafts();
});

function say(text, failed = false) {
  statusLine.textContent = text;
  statusLine.classList.toggle("error", failed);
}

function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text) node.textContent = text;
  return node;
}

// One call of the admin API; its JSON, or an Error carrying the server's sentence (and the reasons files were refused).
async function call(method, path, body) {
  if (!token.value) throw new Error(words.no_token);
  const headers = { Authorization: `Bearer ${token.value}` };
  if (body !== undefined && !(body instanceof FormData)) headers["Content-Type"] = "application/json";
  const response = await fetch(`${API}/admin/events${path}`, {
    method, headers, body: body === undefined ? undefined : body instanceof FormData ? body : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({ error: { message: `${response.status} ${response.statusText}` } }));
  if (!response.ok) {
    const error = new Error(data.error ? data.error.message : `${response.status}`);
    error.reasons = data.error && data.error.reasons;
    throw error;
  }
  return data;
}

// The events added from the browser, each to continue (or, until it is served, to discard).
async function listDrafts() {
  let found;
  try {
    found = await call("GET", "");
  } catch (error) {
    return;  // no token yet, or a wrong one: the steps below say so when used
  }
  const items = found.events.map((d) => {
    const item = el("li", { "data-event": d.id }, `${d.title || d.id} (${d.id}${d.served ? `, ${words.served}` : ""}) `);
    const more = el("button", { type: "button", class: "continue" }, words.continue);
    more.addEventListener("click", () => resume(d));
    item.append(more);
    if (!d.served) {
      const drop = el("button", { type: "button", class: "discard" }, words.discard);
      drop.addEventListener("click", async () => {
        try {
          await call("DELETE", `/${encodeURIComponent(d.id)}`);
          say(words.discarded.replace("{id}", d.id));
          listDrafts();
        } catch (error) {
          say(error.message, true);
        }
      });
      item.append(" ", drop);
    }
    return item;
  });
  document.getElementById("drafts").replaceChildren(...items);
  document.getElementById("step-drafts").hidden = items.length === 0;
}

async function resume(draft) {
  eventId = draft.id;
  document.getElementById("event-id").textContent = `(${eventId})`;
  document.getElementById("step-upload").hidden = false;
  fill(document.getElementById("uploaded"), draft.files);
  try {
    if (draft.files.length) await review();
  } catch (error) {
    say(error.message, true);
  }
}

function fill(list, items) {
  list.replaceChildren(...items.map((item) => el("li", {}, item)));
}

document.getElementById("create").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const made = await call("POST", "", {
      title: document.getElementById("title").value, date: document.getElementById("date").value,
      organiser: document.getElementById("organiser").value,
    });
    await resume({ id: made.id, files: [] });
    say(words.created.replace("{id}", eventId));
    listDrafts();
  } catch (error) {
    say(error.message, true);
  }
});

document.getElementById("upload").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData();
  for (const file of document.getElementById("files").files) form.append("files", file, file.name);
  const refused = document.getElementById("refused");
  try {
    const kept = await call("POST", `/${encodeURIComponent(eventId)}/files`, form);
    fill(document.getElementById("uploaded"), kept.files);
    refused.replaceChildren();
    say(words.uploaded.replace("{n}", kept.files.length));
    await review();
  } catch (error) {
    fill(refused, error.reasons || []);
    say(error.message, true);
  }
});

async function review() {
  const found = await call("GET", `/${encodeURIComponent(eventId)}/review`);
  const rows = found.people.map((p) => {
    const row = el("tr");
    row.append(el("td", {}, p.name), el("td", {}, p.role || "—"), el("td", {}, String(p.turns)));
    return row;
  });
  document.querySelector("#people-found tbody").replaceChildren(...rows);
  document.getElementById("manifest").value = found.manifest;
  document.getElementById("step-review").hidden = false;
  document.getElementById("step-ingest").hidden = false;
}

document.getElementById("save-button").addEventListener("click", async () => {
  try {
    await call("PUT", `/${encodeURIComponent(eventId)}/manifest`, { manifest: document.getElementById("manifest").value });
    say(words.saved);
  } catch (error) {
    say(error.message, true);
  }
});

document.getElementById("ingest-button").addEventListener("click", async () => {
  const bar = document.getElementById("ingest-progress");
  const stage = document.getElementById("ingest-stage");
  const button = document.getElementById("ingest-button");
  button.disabled = true;
  try {
    await call("PUT", `/${encodeURIComponent(eventId)}/manifest`, { manifest: document.getElementById("manifest").value });
    let job = await call("POST", `/${encodeURIComponent(eventId)}/ingest`);
    bar.hidden = false;
    while (job.state === "running") {
      // Reading is the first tenth of the bar, embedding the passages the next two thirds, embedding new words the rest.
      const share = job.total ? job.done / job.total : 0;
      const [start, span] = { read: [0, 10], embed: [10, 65], words: [75, 25] }[job.stage] || [10, 90];
      bar.value = Math.round(start + span * share);
      stage.textContent = `${words[job.stage] || job.stage} ${job.total ? `${job.done}/${job.total}` : ""}`;
      await new Promise((resolve) => setTimeout(resolve, 500));
      job = await call("GET", `/${encodeURIComponent(eventId)}/ingest`);
    }
    if (job.state === "failed") throw new Error(words.failed.replace("{m}", job.error));
    bar.value = 100;
    stage.textContent = "";
    showOutcome(job.outcome);
    say(job.outcome.status === "unchanged" ? words.unchanged : words.done);
  } catch (error) {
    say(error.message, true);
  } finally {
    button.disabled = false;
  }
});

function showOutcome(outcome) {
  const list = document.getElementById("outcome");
  const empty = Object.entries(outcome.empty_pages).map(([doc, pages]) => `${doc}: ${pages.join(", ")}`);
  const entries = [
    [words.passages, String(outcome.passages)],
    [words.people, outcome.people.map((p) => `${p.name} (${p.passages})`).join(", ") || words.none],
    [words.empty_pages, empty.join("; ") || words.none],
    [words.refused, outcome.refused.join("; ") || words.none],
  ];
  list.replaceChildren();
  for (const [term, value] of entries) list.append(el("dt", {}, term), el("dd", {}, value));
  const link = el("a", { href: `/e/${encodeURIComponent(outcome.event)}/`, id: "open-event" }, words.open);
  const open = el("dd");
  open.append(link);
  list.append(el("dt"), open);
  list.hidden = false;
}

if (token.value) listDrafts();
