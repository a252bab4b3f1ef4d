// graphkit studio: the page. Plain JavaScript, no build step, no outside resources.
// Every value from the server is put in the page as text (textContent), never as HTML.
"use strict";

const TOKEN = document.querySelector('meta[name="graphkit-token"]').content;
const SVG_NS = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);

const state = {
  info: null,
  search: "",
  threadsShown: 0,
  thread: null,        // the thread shown in the history
  latest: null,        // its latest checkpoint id
  rows: [],            // its checkpoints loaded so far, newest first
  selected: null,      // the selected checkpoint's id
  detail: null,        // the selected checkpoint in full
  source: null,        // the EventSource of the live run
  steps: {},           // the superstep lit up in the graph, per graph level
  namespace: [],       // the store namespace shown
};

// ------------------------------------------------------------------ helpers
function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) {
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
  }
  return node;
}

function svg(tag, attrs, parent) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  if (parent) parent.append(node);
  return node;
}

function pretty(value) {
  return JSON.stringify(value, null, 2);
}

function short(text, n) {
  const s = typeof text === "string" ? text : JSON.stringify(text);
  return s.length > n ? s.slice(0, n - 1) + "…" : s;
}

function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toISOString().replace("T", " ").slice(0, 19);
}

function nodeName(name) {
  return name === "__start__" ? "START" : name === "__end__" ? "END" : name;
}

function showError(message) {
  $("error-text").textContent = message;
  $("error").hidden = false;
}

function clearError() {
  $("error").hidden = true;
}

async function api(path, options) {
  const opts = options || {};
  opts.headers = Object.assign({ "X-Graphkit-Token": TOKEN }, opts.headers || {});
  const response = await fetch(path, opts);
  let data = null;
  try {
    data = await response.json();
  } catch (e) {
    data = { error: `HTTP ${response.status}` };
  }
  if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
  return data;
}

function post(path, body) {
  return api(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

function parseJson(text, what) {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${what} is not valid JSON: ${e.message}`);
  }
}

function guarded(fn) {
  return async (event) => {
    if (event && event.preventDefault) event.preventDefault();
    try {
      clearError();
      await fn(event);
    } catch (e) {
      showError(e.message);
    }
  };
}

const enc = encodeURIComponent;

// -------------------------------------------------------------------- graph
function drawGraph(layout) {
  const root = $("graph");
  root.replaceChildren();
  const m = 12;
  root.setAttribute("viewBox", `${-m} ${-m} ${layout.width + 2 * m} ${layout.height + 2 * m}`);
  const defs = svg("defs", {}, root);
  const marker = svg("marker", {
    id: "arrow", viewBox: "0 0 10 10", refX: "10", refY: "5",
    markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse",
  }, defs);
  svg("path", { d: "M0,0 L10,5 L0,10 z", fill: "#6b6880" }, marker);
  for (const c of layout.clusters) {
    const g = svg("g", { class: "g-cluster", "data-cluster": c.id }, root);
    svg("rect", { x: c.x, y: c.y, width: c.w, height: c.h, rx: 8 }, g);
    svg("text", { x: c.x + 8, y: c.y + 15 }, g).textContent = c.name;
  }
  for (const e of layout.edges) {
    const d = e.points.map((p, i) => `${i ? "L" : "M"}${p[0]},${p[1]}`).join(" ");
    svg("path", { d, class: `g-edge ${e.style}`, "marker-end": "url(#arrow)",
      "data-source": e.source, "data-target": e.target }, root);
    if (e.label) {
      const [a, b] = [e.points[0], e.points[e.points.length - 1]];
      const t = svg("text", { x: (a[0] + b[0]) / 2 + 4, y: (a[1] + b[1]) / 2, class: "g-label" }, root);
      t.textContent = e.label;
    }
  }
  for (const n of layout.nodes) {
    const nested = n.w < 20 ? " nested" : "";
    const g = svg("g", { class: `g-node ${n.kind}${nested}`, "data-node": n.id }, root);
    if (n.kind === "start" || n.kind === "end") {
      svg("ellipse", { cx: n.x + n.w / 2, cy: n.y + n.h / 2, rx: n.w / 2, ry: n.h / 2 }, g);
    } else {
      svg("rect", { x: n.x, y: n.y, width: n.w, height: n.h, rx: 8 }, g);
    }
    if (!nested) {
      const label = n.kind === "start" ? "START" : n.kind === "end" ? "END"
        : n.kind === "note" ? "any node (dynamic)" : n.name;
      svg("text", { x: n.x + n.w / 2, y: n.y + n.h / 2 }, g).textContent = label;
    }
    const title = svg("title", {}, g);
    title.textContent = n.id;
  }
}

function graphNode(id) {
  for (const g of document.querySelectorAll("#graph .g-node, #graph .g-cluster")) {
    if (g.dataset.node === id || g.dataset.cluster === id) return g;
  }
  return null;
}

function levelOf(id) {
  return id.includes(":") ? id.slice(0, id.lastIndexOf(":")) : "";
}

function light(id, on, cls) {
  const g = graphNode(id);
  if (g) g.classList.toggle(cls || "active", on);
}

function clearLights() {
  for (const g of document.querySelectorAll("#graph .g-node, #graph .g-cluster")) {
    g.classList.remove("active", "ran", "failed", "next");
  }
}

// ------------------------------------------------------------------ threads
async function loadThreads(append) {
  const offset = append ? state.threadsShown : 0;
  const data = await api(`/api/threads?search=${enc(state.search)}&offset=${offset}&limit=50`);
  const body = $("threads").tBodies[0];
  if (!append) body.replaceChildren();
  for (const t of data.threads) {
    const row = el("tr", {
      "data-thread": t.thread_id, title: `${t.checkpoints} checkpoints`,
      onclick: guarded(() => openThread(t.thread_id)),
    },
      el("td", { text: t.thread_id, class: "tid" }),
      el("td", { text: t.step === null || t.step === undefined ? "" : String(t.step) }),
      el("td", { text: when(t.updated) }),
      el("td", {}, el("span", { class: `badge ${t.status}`, text: t.status })));
    if (t.thread_id === state.thread) row.classList.add("selected");
    body.append(row);
  }
  state.threadsShown = offset + data.threads.length;
  $("threads-more").hidden = state.threadsShown >= data.total;
  $("threads-empty").hidden = data.total > 0;
}

// ------------------------------------------------------------------ history
async function openThread(threadId, select) {
  state.thread = threadId;
  state.rows = [];
  for (const row of $("threads").tBodies[0].rows) {
    row.classList.toggle("selected", row.dataset.thread === threadId);
  }
  $("thread-title").textContent = `History of ${threadId}`;
  $("history-hint").hidden = true;
  $("run-thread").value = threadId;
  await loadHistory(false);
  await selectCheckpoint(select || state.latest);
}

async function loadHistory(older) {
  let path = `/api/threads/${enc(state.thread)}/history?limit=50`;
  if (older && state.rows.length) path += `&before=${enc(state.rows[state.rows.length - 1].checkpoint_id)}`;
  const data = await api(path);
  state.latest = data.latest_id;
  state.rows = older ? state.rows.concat(data.checkpoints) : data.checkpoints;
  $("history-more").hidden = !data.more;
  drawHistory();
}

// Lanes of the fork tree, like `git log --graph`: rows newest first, each lane waits
// for the parent of the checkpoint drawn above it; a checkpoint several lanes wait
// for is where they forked.
function lanes(rows) {
  const waiting = [];
  return rows.map((r) => {
    const above = waiting.slice();
    let lane = waiting.indexOf(r.checkpoint_id);
    if (lane < 0) {
      lane = waiting.indexOf(null);
      if (lane < 0) { lane = waiting.length; waiting.push(null); }
    }
    const forks = [];
    waiting.forEach((id, i) => {
      if (id === r.checkpoint_id && i !== lane) { forks.push(i); waiting[i] = null; }
    });
    waiting[lane] = r.parent_id || null;
    while (waiting.length && waiting[waiting.length - 1] === null) waiting.pop();
    return { lane, forks, above, below: waiting.slice() };
  });
}

function drawHistory() {
  const box = $("history");
  box.replaceChildren();
  const placed = lanes(state.rows);
  const width = 14 * Math.max(1, ...placed.map((p) => Math.max(p.above.length, p.below.length, p.lane + 1)));
  const x = (i) => 7 + 14 * i;
  state.rows.forEach((r, index) => {
    const p = placed[index];
    const pic = svg("svg", { width, height: 28, class: "lane" });
    p.above.forEach((id, i) => {
      if (id === null) return;
      if (i === p.lane || p.forks.includes(i)) {
        svg("line", { x1: x(i), y1: 0, x2: x(p.lane), y2: 14 }, pic);
      } else {
        svg("line", { x1: x(i), y1: 0, x2: x(i), y2: 28 }, pic);
      }
    });
    if (p.below[p.lane]) svg("line", { x1: x(p.lane), y1: 14, x2: x(p.lane), y2: 28 }, pic);
    p.below.forEach((id, i) => {
      if (id !== null && i !== p.lane && (p.above[i] === undefined || p.above[i] === null)) {
        svg("line", { x1: x(i), y1: 14, x2: x(i), y2: 28 }, pic);
      }
    });
    const dot = svg("circle", { cx: x(p.lane), cy: 14, r: 5 }, pic);
    if (r.interrupts) dot.setAttribute("class", "int");
    if (r.error) dot.setAttribute("class", "err");
    const ran = r.ran.length ? r.ran.map(nodeName).join(", ") : "–";
    const row = el("div", {
      class: "hrow", role: "listitem", "data-checkpoint": r.checkpoint_id,
      title: `${r.checkpoint_id}\n${when(r.created_at)}`,
      onclick: guarded(() => selectCheckpoint(r.checkpoint_id)),
    }, pic,
    el("span", { class: "step", text: r.step === null ? "" : String(r.step) }),
    el("span", { class: "src", text: r.source || "" }),
    el("span", { class: "ran", text: ran }),
    el("span", { class: "next", text: r.next.length ? `→ ${r.next.map(nodeName).join(", ")}` : "" }));
    if (r.checkpoint_id === state.selected) row.classList.add("selected");
    box.append(row);
  });
}

// --------------------------------------------------------------- checkpoint
async function selectCheckpoint(checkpointId) {
  if (!checkpointId) return;
  const detail = await api(`/api/threads/${enc(state.thread)}/checkpoints/${enc(checkpointId)}`);
  state.selected = checkpointId;
  state.detail = detail;
  for (const row of document.querySelectorAll(".hrow")) {
    row.classList.toggle("selected", row.dataset.checkpoint === checkpointId);
  }
  drawDetail(detail);
  if (!state.source) {  // between runs the graph shows the checkpoint's step
    clearLights();
    for (const node of detail.ran) light(node, true, "ran");
    for (const node of detail.next) light(node, true, "next");
  }
}

function section(title, ...children) {
  return el("div", { class: "section" }, el("h3", { text: title }), ...children);
}

function drawDetail(d) {
  const box = $("detail");
  box.replaceChildren();
  const kv = el("dl", { class: "kv" });
  const pairs = [
    ["checkpoint", d.checkpoint_id], ["parent", d.parent_id || "–"], ["step", String(d.step)],
    ["source", d.source || ""], ["saved", when(d.created_at)],
    ["ran", d.ran.map(nodeName).join(", ") || "–"],
    ["next", d.next.map(nodeName).join(", ") || "– (finished)"],
  ];
  for (const [k, v] of pairs) kv.append(el("dt", { text: k }), el("dd", { text: v }));
  box.append(el("h2", { text: "Checkpoint" }), kv);
  for (const task of d.tasks) {
    if (task.error) box.append(section(`Error in ${task.name}`, el("pre", { class: "error", text: task.error })));
  }
  if (d.interrupts.length) {
    const list = d.interrupts.map((i) => el("div", { class: "interrupt" },
      el("div", { class: "muted", text: `interrupt ${i.id}` }), el("pre", { text: pretty(i.value) })));
    box.append(section("Pending interrupts", ...list));
  }
  const writes = Object.entries(d.writes);
  if (writes.length) {
    box.append(section("Writes", ...writes.map(([node, w]) =>
      el("div", { class: "write", "data-node": node },
        el("div", { class: "muted", text: nodeName(node) }), el("pre", { text: pretty(w) })))));
  }
  const diff = el("table", { class: "diff" }, el("thead", {}, el("tr", {},
    el("th", { text: "key" }), el("th", { text: "change" }), el("th", { text: "now" }))));
  const tbody = el("tbody");
  for (const c of d.diff) {
    const shown = c.change === "appended" ? c.appended : c.change === "removed" ? c.before : c.after;
    const was = c.change === "changed" ? el("div", { class: "muted", text: `was ${short(c.before, 200)}` }) : null;
    tbody.append(el("tr", { "data-key": c.key },
      el("td", { text: c.key }),
      el("td", {}, el("span", { class: `chg ${c.change}`, text: c.change })),
      el("td", {}, el("pre", { text: pretty(shown) }), was)));
  }
  diff.append(tbody);
  const title = d.source === "update" || d.source === "fork" ? "The edit (diff against parent)"
    : "What the step changed (diff against parent)";
  box.append(section(title, d.diff.length ? diff : el("p", { class: "muted", text: "no change" })));
  box.append(section("State", el("pre", { id: "state-values", text: pretty(d.values) })));
  const isLatest = d.checkpoint_id === state.latest;
  $("resume-form").hidden = !(isLatest && d.interrupts.length);
  $("resume-which").hidden = d.interrupts.length < 2;  // several: answer one at a time
  $("resume-id").replaceChildren(...d.interrupts.map((i) =>
    el("option", { value: i.id, text: `${i.id}: ${short(i.value, 60)}` })));
  $("fork-form").hidden = false;
  // keys with a reducer are left out: writing them merges (a list reducer appends)
  const reducers = new Set(state.info.reducers);
  const plain = Object.fromEntries(Object.entries(d.values).filter(([k]) => !reducers.has(k)));
  $("fork-values").value = pretty(plain);
  $("fork-hint").textContent = "values go through the state's reducers, as if the node had returned them"
    + (reducers.size ? `; ${[...reducers].join(", ")} ${reducers.size > 1 ? "merge" : "merges"} (e.g. a list appends)` : "");
}

// -------------------------------------------------------------------- steer
function follow(runId, threadId) {
  if (state.source) state.source.close();
  clearLights();
  state.steps = {};
  $("run-box").hidden = false;
  $("events").replaceChildren();
  setRunStatus("running");
  const source = new EventSource(`/api/runs/${enc(runId)}/events?token=${enc(TOKEN)}`);
  state.source = source;
  const log = (cls, text) => {
    const li = el("li", { class: cls, text });
    $("events").append(li);
    li.scrollIntoView({ block: "nearest" });
  };
  source.addEventListener("task", (m) => {
    const e = JSON.parse(m.data);
    // a new superstep at this level (the root graph, or inside one subgraph) ends the last
    const level = levelOf(e.node);
    if (state.steps[level] !== e.step) {
      for (const g of document.querySelectorAll("#graph .active, #graph .ran")) {
        if (levelOf(g.dataset.node || g.dataset.cluster) === level) g.classList.remove("active", "ran");
      }
      state.steps[level] = e.step;
    }
    light(e.node, true);
    log("task", `step ${e.step}: ${e.node} runs`);
  });
  source.addEventListener("task_result", (m) => {
    const e = JSON.parse(m.data);
    light(e.node, false);
    light(e.node, true, e.error ? "failed" : "ran");
    if (e.error) log("error", `step ${e.step}: ${e.node} failed: ${e.error}`);
  });
  source.addEventListener("update", (m) => {
    const e = JSON.parse(m.data);
    log("update", `${e.node} wrote ${short(e.update, 160)}`);
  });
  source.addEventListener("message", (m) => {  // tokens: one line per message, growing
    const e = JSON.parse(m.data);
    const text = typeof e.text === "string" ? e.text : JSON.stringify(e.text);
    const line = e.id ? [...$("events").children].find((li) => li.dataset.msg === e.id) : null;
    if (line) {
      line.textContent += text;
    } else {
      const role = e.type.replace(/MessageChunk$/, "").toLowerCase();
      const li = el("li", { class: "message", text: `${e.node} (${role}): ${text}` });
      if (e.id) li.dataset.msg = e.id;
      $("events").append(li);
    }
  });
  source.addEventListener("custom", (m) => {
    const e = JSON.parse(m.data);
    log("custom", `${e.namespace || "graph"} streamed ${short(e.data, 160)}`);
  });
  source.addEventListener("checkpoint", (m) => {
    const e = JSON.parse(m.data);
    log("checkpoint", `checkpoint saved (step ${e.step})`);
  });
  source.addEventListener("interrupt", (m) => {
    const e = JSON.parse(m.data);
    log("interrupt", `interrupt: ${short(e.interrupts.map((i) => i.value), 160)}`);
  });
  source.addEventListener("end", guarded(async (m) => {
    const e = JSON.parse(m.data);
    source.close();
    state.source = null;
    for (const g of document.querySelectorAll("#graph .active")) g.classList.remove("active");
    setRunStatus(e.status);
    log(e.status === "failed" ? "end error" : "end", e.error ? `failed: ${e.error}` : `run ${e.status}`);
    await loadThreads(false);
    await openThread(threadId);
  }));
  source.onerror = () => {
    if (state.source === source && source.readyState === EventSource.CLOSED) {
      showError("lost the connection to the run's event stream");
    }
  };
}

function setRunStatus(status) {
  const badge = $("run-status");
  badge.textContent = status;
  badge.className = `badge ${status}`;
}

async function startRun() {
  const threadId = $("run-thread").value.trim();
  if (!threadId) throw new Error("give the run a thread id");
  const input = parseJson($("run-input").value, "the input");
  const started = await post("/api/runs", { thread_id: threadId, input });
  state.thread = threadId;
  follow(started.run_id, threadId);
}

async function resume() {
  const value = parseJson($("resume-value").value, "the resume value");
  const several = !$("resume-which").hidden;
  const started = await post(`/api/threads/${enc(state.thread)}/resume`,
    { value, interrupt_id: several ? $("resume-id").value : null });
  follow(started.run_id, state.thread);
}

async function fork() {
  const values = parseJson($("fork-values").value, "the values");
  const asNode = $("fork-as-node").value || null;
  const run = $("fork-run").checked;
  const forked = await post(`/api/threads/${enc(state.thread)}/fork`, {
    checkpoint_id: state.selected, values, as_node: asNode, run,
  });
  if (forked.run) {
    follow(forked.run, state.thread);
  } else {
    await loadThreads(false);
    await openThread(state.thread, forked.checkpoint_id);
  }
}

// -------------------------------------------------------------------- store
async function loadNamespaces() {
  const data = await api("/api/store/namespaces");
  const tree = $("ns-tree");
  tree.replaceChildren();
  if (!data.store) {
    tree.append(el("li", { class: "muted", text: "the graph has no memory store (--store PATH)" }));
    return;
  }
  const root = new Map();
  for (const ns of data.namespaces) {
    let level = root;
    for (const label of ns) {
      if (!level.has(label)) level.set(label, new Map());
      level = level.get(label);
    }
  }
  const all = el("li", {}, nsLabel([], "(all namespaces)"));
  tree.append(all);
  const build = (level, path) => {
    const ul = el("ul", { class: "tree" });
    for (const [label, children] of [...level.entries()].sort()) {
      const here = path.concat([label]);
      const li = el("li", {}, nsLabel(here, label));
      if (children.size) li.append(build(children, here));
      ul.append(li);
    }
    return ul;
  };
  all.append(build(root, []));
  await loadItems();
}

function nsLabel(path, text) {
  return el("span", {
    class: "ns", "data-ns": JSON.stringify(path), text,
    onclick: guarded(async () => { state.namespace = path; await loadItems(); }),
  });
}

const ITEMS_PAGE = 50;

async function loadItems(append) {
  const more = append === true;
  const ns = JSON.stringify(state.namespace);
  for (const span of document.querySelectorAll("#ns-tree .ns")) {
    span.classList.toggle("selected", span.dataset.ns === ns);
  }
  $("ns-current").textContent = state.namespace.length ? state.namespace.join(" / ") : "(all)";
  const query = $("store-query").value.trim();
  const offset = more ? $("items").tBodies[0].rows.length : 0;
  let path = `/api/store/items?ns=${enc(ns)}&limit=${ITEMS_PAGE}&offset=${offset}`;
  if (query) path += `&query=${enc(query)}`;
  const data = await api(path);
  const body = $("items").tBodies[0];
  if (!more) body.replaceChildren();
  for (const item of data.items) {
    body.append(el("tr", { "data-key": item.key },
      el("td", { text: item.namespace.join(" / ") }),
      el("td", { text: item.key }),
      el("td", { class: "score", text: item.score === null ? "–" : item.score.toFixed(3) }),
      el("td", {}, el("pre", { text: pretty(item.value) })),
      el("td", { text: when(item.updated_at) })));
  }
  $("items-empty").hidden = body.rows.length > 0;
  $("items-more").hidden = data.items.length < ITEMS_PAGE;
}

// --------------------------------------------------------------------- tabs
function showView(name) {
  $("view-threads").hidden = name !== "threads";
  $("view-store").hidden = name !== "store";
  $("tab-threads").classList.toggle("active", name === "threads");
  $("tab-store").classList.toggle("active", name === "store");
}

// --------------------------------------------------------------------- boot
async function boot() {
  const threads = loadThreads(false);  // in parallel with the graph
  const info = await api("/api/info");
  state.info = info;
  $("graph-name").textContent = info.name;
  $("backend").textContent = `checkpoints: ${info.saver}` + (info.store ? ` · store: ${info.store}` : "");
  drawGraph(info.layout);
  for (const node of info.nodes) $("fork-as-node").append(el("option", { value: node, text: node }));
  $("run-thread").value = `thread-${Math.random().toString(36).slice(2, 8)}`;
  $("store-search").disabled = false;
  $("store-query").placeholder = info.search ? "semantic search (empty: list items)" : "no vector index: list only";
  $("store-query").disabled = !info.search;
  await threads;
  const first = $("threads").tBodies[0].rows[0];
  if (first) await openThread(first.dataset.thread);
}

let searchTimer = null;
document.addEventListener("DOMContentLoaded", () => {
  $("error-close").addEventListener("click", clearError);
  $("tab-threads").addEventListener("click", () => showView("threads"));
  $("tab-store").addEventListener("click", guarded(async () => { showView("store"); await loadNamespaces(); }));
  $("thread-search").addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(guarded(async () => {
      state.search = $("thread-search").value.trim();
      await loadThreads(false);
    }), 200);
  });
  $("threads-more").addEventListener("click", guarded(() => loadThreads(true)));
  $("threads-refresh").addEventListener("click", guarded(async () => {
    await loadThreads(false);  // other processes may have written to the saver
    if (state.thread) await openThread(state.thread, state.selected);
  }));
  $("history-more").addEventListener("click", guarded(() => loadHistory(true)));
  $("run-form").addEventListener("submit", guarded(startRun));
  $("resume-form").addEventListener("submit", guarded(resume));
  $("fork-form").addEventListener("submit", guarded(fork));
  $("store-form").addEventListener("submit", guarded(() => loadItems(false)));
  $("items-more").addEventListener("click", guarded(() => loadItems(true)));
  guarded(boot)();
});
