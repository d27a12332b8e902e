// The memory inspector: a client of the REST API, run in the browser.
//
// Every value the API returns is put on the page with textContent (through el()),
// never as HTML: a stored "<script>" shows as those characters. The API key lives in
// this tab's sessionStorage and travels only in the Authorization header.
"use strict";

(() => {
  const KEY_STORAGE = "memory-inspector.api-key";
  const PAGE = 50;
  const PRESETS = [
    // memory_service/services/recall/presets.py; "" lets the service pick its default.
    "", "hybrid", "hybrid-graph", "fast", "gated", "hybrid-window", "hybrid-window2",
    "gated-window", "gated-window2", "fast-window", "sparse", "sparse2", "distinct-window2",
    "sparse-distinct2", "focus-window2", "sparse-focus2", "sparse-value2", "splade-focus2",
    "gated-focus2",
    "memories-hybrid", "episodes-hybrid", "episodes-vector", "episodes-text", "episodes-sparse",
  ];

  const state = {
    key: null,
    scope: null, // {user_id, agent_id, session_id}
    view: "scopes",
    cursors: {},
    search: null, // the last SearchOut and its query
    cy: null,
    graph: null,
  };

  // ---------------------------------------------------------------- DOM helpers

  const $ = (id) => document.getElementById(id);

  /** An element with attributes, event handlers (on: {...}) and children; strings
   *  become text nodes, so nothing passed here is ever parsed as HTML. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "on") {
        for (const [event, handler] of Object.entries(value)) node.addEventListener(event, handler);
      } else if (name === "class") {
        node.className = value;
      } else if (name === "text") {
        node.textContent = String(value);
      } else if (name === "dataset") {
        Object.assign(node.dataset, value);
      } else if (name.startsWith("on")) {
        throw new Error("event handlers go in on: {...}");
      } else {
        node.setAttribute(name, value === true ? "" : String(value));
      }
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function clear(node) {
    node.replaceChildren();
    return node;
  }

  /** Stored text: wraps anywhere, keeps its own direction (Arabic, Hebrew). */
  const textBlock = (value, tag = "div", cls = "text") =>
    el(tag, { class: cls, dir: "auto", text: value ?? "" });

  function fmtTime(value) {
    if (!value) return "—";
    const d = new Date(value);
    if (Number.isNaN(d.getTime())) return String(value);
    return d.toISOString().replace("T", " ").slice(0, 16) + " UTC";
  }

  const fmtNum = (v, digits = 3) =>
    typeof v === "number" && Number.isFinite(v) ? v.toFixed(digits) : v == null ? "—" : String(v);

  const shortId = (id) => String(id || "").slice(0, 8);

  function badge(value) {
    return el("span", { class: `badge is-${String(value).replace(/[^a-z-]/gi, "")}`, text: value });
  }

  function setStatus(message, kind = "muted") {
    const node = $("status");
    node.className = `status ${kind}`;
    node.textContent = message || "";
    node.hidden = !message;
  }

  // ---------------------------------------------------------------- API

  class ApiError extends Error {
    constructor(status, body, text) {
      const detail = body && body.detail !== undefined ? body.detail : text;
      super(`${status} ${body && body.error ? body.error : ""} ${describe(detail)}`.trim());
      this.status = status;
      this.body = body;
    }
  }

  function describe(detail) {
    if (detail === null || detail === undefined) return "";
    if (typeof detail === "string") return detail;
    return JSON.stringify(detail);
  }

  function scopeParams(scope) {
    const out = {};
    for (const name of ["user_id", "agent_id", "session_id"]) {
      if (scope && scope[name]) out[name] = scope[name];
    }
    return out;
  }

  async function api(method, path, { query, body, key } = {}) {
    const url = new URL(path, window.location.origin);
    for (const [name, value] of Object.entries(query || {})) {
      if (value === null || value === undefined || value === "") continue;
      for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(name, item);
    }
    const headers = { Accept: "application/json", Authorization: `Bearer ${key || state.key}` };
    const init = { method, headers, cache: "no-store", credentials: "omit", referrerPolicy: "no-referrer" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, init);
    } catch (err) {
      throw new ApiError(0, { error: "NetworkError", detail: `the service did not answer (${err.message})` });
    }
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (_) {
      data = null;
    }
    if (!response.ok) {
      const error = new ApiError(response.status, data, text);
      if (response.status === 401 && !key) signOut(loginMessage(error));
      throw error;
    }
    return data;
  }

  function loginMessage(error) {
    if (error.status === 401) {
      const why = error.body && typeof error.body.detail === "string" ? ` (${error.body.detail})` : "";
      return `This API key was not accepted: it is wrong or has been revoked${why}. Check the key and sign in again.`;
    }
    if (error.status === 429) return "Too many attempts from this address; wait a minute and try again.";
    if (error.status === 0) return "The service did not answer. Is it running?";
    return `The service answered ${error.message}.`;
  }

  /** Runs an async action for a view; a failure shows in the status line. */
  async function guarded(action) {
    try {
      await action();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return; // back on the login screen
      setStatus(`Error: ${err.message}`, "error");
    }
  }

  // ---------------------------------------------------------------- login

  function showLogin(message) {
    $("app").hidden = true;
    $("login").hidden = false;
    const error = $("login-error");
    error.textContent = message || "";
    error.hidden = !message;
    $("login-key").value = "";
    $("login-key").focus();
  }

  function signOut(message) {
    sessionStorage.removeItem(KEY_STORAGE);
    state.key = null;
    state.scope = null;
    if (state.cy) {
      state.cy.destroy();
      state.cy = null;
    }
    for (const id of ["scopes-rows", "timeline-rows", "facts-rows", "jobs-rows", "search-out", "detail-body"]) {
      clear($(id));
    }
    $("detail").hidden = true;
    $("context-out").hidden = true;
    showLogin(message);
  }

  /** Which tenant a key belongs to (GET /v1/whoami); also the check that the key works. */
  async function whoAmI(key) {
    const me = await api("GET", "/v1/whoami", { key });
    return String((me && me.tenant) || "?");
  }

  async function signIn(key) {
    const tenant = await whoAmI(key);
    sessionStorage.setItem(KEY_STORAGE, key);
    state.key = key;
    $("tenant-name").textContent = tenant;
    $("login").hidden = true;
    $("app").hidden = false;
    showScope();
    show("scopes");
  }

  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = $("login-key").value.trim();
    if (!key) return;
    $("login-submit").disabled = true;
    try {
      await signIn(key);
    } catch (err) {
      showLogin(err instanceof ApiError ? loginMessage(err) : String(err));
    } finally {
      $("login-submit").disabled = false;
    }
  });

  $("logout").addEventListener("click", () => signOut("Logged out."));

  // ---------------------------------------------------------------- views

  const LOADERS = {
    scopes: () => loadScopes(false),
    timeline: () => loadTimeline(false),
    facts: () => loadFacts(false),
    graph: () => loadGraph(),
    search: () => {},
    jobs: () => loadJobs(false),
  };
  const NEEDS_SCOPE = new Set(["timeline", "facts", "graph"]);

  function show(view) {
    state.view = view;
    for (const button of document.querySelectorAll(".tabs button")) {
      button.setAttribute("aria-selected", String(button.dataset.view === view));
    }
    for (const section of document.querySelectorAll(".view")) {
      section.hidden = section.id !== `view-${view}`;
    }
    setStatus("");
    if (NEEDS_SCOPE.has(view) && !state.scope) {
      setStatus("Pick a scope first (Scopes tab).", "notice");
      return;
    }
    guarded(LOADERS[view]);
  }

  for (const button of document.querySelectorAll(".tabs button")) {
    button.addEventListener("click", () => show(button.dataset.view));
  }

  function scopeName(scope) {
    if (!scope) return "none picked";
    const parts = [];
    if (scope.user_id) parts.push(`user ${scope.user_id}`);
    if (scope.agent_id) parts.push(`agent ${scope.agent_id}`);
    if (scope.session_id) parts.push(`session ${scope.session_id}`);
    return parts.join(" · ") || "(no ids)";
  }

  function showScope() {
    $("scope-name").textContent = scopeName(state.scope);
  }

  function pick(scope) {
    state.scope = {
      user_id: scope.user_id || null,
      agent_id: scope.agent_id || null,
      session_id: scope.session_id || null,
    };
    state.graph = null;
    showScope();
    closeDetail();
    show("timeline");
  }

  /** Pages through a list endpoint: `more` false starts over. */
  async function page(name, path, query, more) {
    const cursor = more ? state.cursors[name] : null;
    const data = await api("GET", path, { query: { ...query, cursor, limit: PAGE } });
    state.cursors[name] = data.next_cursor || null;
    $(`${name}-more`).hidden = !data.next_cursor;
    return data.items || [];
  }

  // Scopes ------------------------------------------------------------------

  async function loadScopes(more) {
    const rows = $("scopes-rows");
    const items = await page("scopes", "/v1/scopes", {}, more);
    if (!more) clear(rows);
    for (const s of items) {
      const picked =
        state.scope &&
        state.scope.user_id === (s.user_id || null) &&
        state.scope.agent_id === (s.agent_id || null) &&
        state.scope.session_id === (s.session_id || null);
      rows.append(
        el(
          "tr",
          { class: picked ? "clickable selected" : "clickable", on: { click: () => pick(s) } },
          el("td", { dir: "auto", text: s.user_id ?? "—" }),
          el("td", { dir: "auto", text: s.agent_id ?? "—" }),
          el("td", { dir: "auto", text: s.session_id ?? "—" }),
          el("td", { class: "num", text: s.episodes ?? 0 }),
          el("td", { class: "num", text: s.facts ?? 0 }),
          el("td", { class: "num", text: s.entities ?? 0 }),
          el("td", { class: "nowrap", text: fmtTime(s.last_activity) }),
          el("td", {}, el("button", { type: "button", class: "small", text: "Open" })),
        ),
      );
    }
    if (!rows.children.length) {
      rows.append(el("tr", {}, el("td", { colspan: 8, class: "muted", text: "This tenant has stored nothing yet." })));
    }
  }
  $("scopes-more").addEventListener("click", () => guarded(() => loadScopes(true)));

  // Timeline ----------------------------------------------------------------

  async function factsOfEpisodes(ids) {
    if (!ids.length) return [];
    const facts = [];
    let cursor = null;
    for (let pages = 0; pages < 10; pages += 1) {
      const data = await api("GET", "/v1/memories", {
        query: { ...scopeParams(state.scope), episode_id: ids, include_inactive: true, cursor, limit: 100 },
      });
      facts.push(...(data.items || []));
      cursor = data.next_cursor;
      if (!cursor) break;
    }
    return facts;
  }

  function factChip(fact) {
    const closed = fact.status !== "active";
    return el("button", {
      type: "button",
      class: closed ? "chip closed" : "chip",
      dir: "auto",
      title: `${fact.status} · Q ${fmtNum(fact.utility)}`,
      text: fact.text,
      on: { click: () => guarded(() => openFact(fact.id)) },
    });
  }

  async function loadTimeline(more) {
    const rows = $("timeline-rows");
    const episodes = await page("timeline", "/v1/episodes", { ...scopeParams(state.scope), order: "asc" }, more);
    const facts = await factsOfEpisodes(episodes.map((e) => e.id));
    const byEpisode = new Map();
    for (const fact of facts) {
      for (const id of fact.source_episode_ids || []) {
        if (!byEpisode.has(id)) byEpisode.set(id, []);
        byEpisode.get(id).push(fact);
      }
    }
    if (!more) clear(rows);
    for (const e of episodes) {
      const own = byEpisode.get(e.id) || [];
      rows.append(
        el(
          "article",
          { class: "episode", id: `episode-${e.id}`, dataset: { id: e.id } },
          el(
            "div",
            {},
            el(
              "div",
              { class: "meta" },
              el("b", { dir: "auto", text: e.speaker || e.role }),
              ` · ${fmtTime(e.occurred_at)} · ${e.role} · Q ${fmtNum(e.utility)}`,
            ),
            textBlock(e.content),
          ),
          el(
            "div",
            { class: "facts" },
            own.length ? own.map(factChip) : el("span", { class: "muted", text: "no facts from this episode" }),
          ),
        ),
      );
    }
    if (!rows.children.length) rows.append(el("p", { class: "muted", text: "No episodes in this scope." }));
  }
  $("timeline-more").addEventListener("click", () => guarded(() => loadTimeline(true)));

  // Facts -------------------------------------------------------------------

  async function loadFacts(more) {
    const rows = $("facts-rows");
    const facts = await page(
      "facts",
      "/v1/memories",
      { ...scopeParams(state.scope), include_inactive: $("facts-closed").checked },
      more,
    );
    if (!more) clear(rows);
    for (const f of facts) {
      rows.append(
        el(
          "tr",
          { class: "clickable", dataset: { id: f.id }, on: { click: () => guarded(() => openFact(f.id)) } },
          el("td", { class: "fact-text" }, textBlock(f.text)),
          el("td", {}, badge(f.status)),
          el("td", { class: "nowrap", text: fmtTime(f.valid_from) }),
          el("td", { class: "nowrap", text: fmtTime(f.valid_to) }),
          el("td", { class: "num", text: fmtNum(f.utility) }),
        ),
      );
    }
    if (!rows.children.length) {
      rows.append(el("tr", {}, el("td", { colspan: 5, class: "muted", text: "No facts in this scope." })));
    }
  }
  $("facts-more").addEventListener("click", () => guarded(() => loadFacts(true)));
  $("facts-closed").addEventListener("change", () => guarded(() => loadFacts(false)));

  // Detail panel: a fact, an entity ----------------------------------------------

  function openDetail(...children) {
    const body = clear($("detail-body"));
    append(body, children);
    $("detail").hidden = false;
    $("detail").scrollTop = 0;
    refitGraph();
  }

  function closeDetail() {
    $("detail").hidden = true;
    clear($("detail-body"));
    refitGraph();
  }

  /** The panel narrows or widens the graph's box: cytoscape must measure it again. */
  function refitGraph() {
    window.requestAnimationFrame(() => {
      const cy = state.cy;
      if (!cy || cy.width() === $("graph").clientWidth) return;
      cy.resize();
      cy.fit(undefined, 40);
    });
  }
  $("detail-close").addEventListener("click", closeDetail);

  function kv(pairs) {
    return el("dl", { class: "kv" }, pairs.map(([k, v]) => [el("dt", { text: k }), el("dd", {}, v)]));
  }

  async function sourceEpisodes(ids) {
    const out = [];
    for (const id of ids.slice(0, 20)) {
      try {
        out.push(await api("GET", `/v1/episodes/${encodeURIComponent(id)}`));
      } catch (err) {
        if (err.status !== 404) throw err;
        out.push({ id, content: "(episode deleted)", role: "", speaker: null, occurred_at: null });
      }
    }
    return out;
  }

  function episodeItem(e) {
    return el(
      "li",
      { dataset: { id: e.id } },
      el("div", { class: "muted" }, el("b", { dir: "auto", text: e.speaker || e.role || "" }), ` · ${fmtTime(e.occurred_at)}`),
      textBlock(e.content),
    );
  }

  async function openFact(id) {
    const [fact, history] = await Promise.all([
      api("GET", `/v1/memories/${encodeURIComponent(id)}`),
      api("GET", `/v1/memories/${encodeURIComponent(id)}/history`),
    ]);
    const sources = await sourceEpisodes(fact.source_episode_ids || []);
    const editor = el("textarea", { id: "fact-edit-text", dir: "auto" });
    editor.value = fact.text;
    const editBox = el(
      "div",
      { id: "fact-edit", hidden: true },
      editor,
      el(
        "div",
        { class: "actions" },
        el("button", {
          type: "button",
          id: "fact-save",
          text: "Save",
          on: {
            click: () =>
              guarded(async () => {
                await api("PATCH", `/v1/memories/${encodeURIComponent(id)}`, { body: { text: editor.value } });
                await afterChange(id, "Fact updated.");
              }),
          },
        }),
        el("button", { type: "button", class: "secondary", text: "Cancel", on: { click: () => (editBox.hidden = true) } }),
      ),
    );
    const confirmDelete = el("button", {
      type: "button",
      id: "fact-delete-confirm",
      class: "danger",
      hidden: true,
      text: "Really delete",
      on: {
        click: () =>
          guarded(async () => {
            await api("DELETE", `/v1/memories/${encodeURIComponent(id)}`);
            await afterChange(id, "Fact deleted: it left search, its validity closed, its history stays.");
          }),
      },
    });
    const active = fact.status === "active";
    openDetail(
      el("h3", { text: "Fact" }),
      textBlock(fact.text, "p", "text fact-detail-text"),
      kv([
        ["id", el("span", { class: "mono", text: fact.id })],
        ["status", badge(fact.status)],
        ["valid from", fmtTime(fact.valid_from)],
        ["valid to", fmtTime(fact.valid_to)],
        ["utility Q", fmtNum(fact.utility)],
        ["created", fmtTime(fact.created_at)],
        ["updated", fmtTime(fact.updated_at)],
      ]),
      el(
        "div",
        { class: "actions" },
        el("button", {
          type: "button",
          id: "fact-edit-open",
          text: "Edit",
          disabled: !active,
          on: { click: () => (editBox.hidden = false) },
        }),
        el("button", {
          type: "button",
          id: "fact-delete",
          class: "secondary",
          text: "Delete",
          disabled: !active,
          on: { click: () => (confirmDelete.hidden = false) },
        }),
        confirmDelete,
      ),
      editBox,
      el("h4", { text: "History" }),
      el(
        "table",
        { class: "history", id: "fact-history" },
        el("thead", {}, el("tr", {}, ["op", "old text", "new text", "cause", "when"].map((h) => el("th", { text: h })))),
        el(
          "tbody",
          {},
          history.map((c) =>
            el(
              "tr",
              {},
              el("td", { class: `op ${c.op}`, text: c.op }),
              el("td", {}, textBlock(c.old_text ?? "—")),
              el("td", {}, textBlock(c.new_text ?? "—")),
              el("td", { class: "cause", dir: "auto", text: c.cause }),
              el("td", { class: "nowrap", text: fmtTime(c.created_at) }),
            ),
          ),
        ),
      ),
      el("h4", { text: `Source episodes (${(fact.source_episode_ids || []).length})` }),
      sources.length
        ? el("ul", { class: "list", id: "fact-sources" }, sources.map(episodeItem))
        : el("p", { class: "muted", text: "Added directly, not consolidated from an episode." }),
    );
  }

  async function afterChange(id, message) {
    await openFact(id);
    if (state.view === "facts") await loadFacts(false);
    if (state.view === "timeline") await loadTimeline(false);
    setStatus(message, "notice");
  }

  // Graph -------------------------------------------------------------------

  async function loadGraph() {
    const query = {
      ...scopeParams(state.scope),
      kinds: $("graph-kinds").value,
      max_edges: $("graph-max").value,
    };
    const data = await api("GET", "/v1/graph/export", { query });
    state.graph = data;
    drawGraph(data);
  }
  $("graph-load").addEventListener("click", () => guarded(loadGraph));

  function drawGraph(data) {
    const container = $("graph");
    if (state.cy) state.cy.destroy();
    state.cy = null;
    const kinds = $("graph-kinds").value;
    const entities = new Map((data.entities || []).map((e) => [e.id, e]));
    const edges = (data.hyperedges || []).filter((h) => kinds === "all" || h.kind === kinds);
    const elements = [];
    for (const e of entities.values()) {
      elements.push({ group: "nodes", data: { id: `n-${e.id}`, ref: e.id, kind: "entity", label: e.name } });
    }
    for (const h of edges) {
      const hid = `h-${h.kind}-${h.id}`;
      const label = (h.text || "").length > 40 ? `${h.text.slice(0, 39)}…` : h.text || "";
      elements.push({ group: "nodes", data: { id: hid, ref: h.id, kind: h.kind, label } });
      for (const m of h.members || []) {
        if (!entities.has(m.entity_id)) continue;
        elements.push({ group: "edges", data: { id: `${hid}-${m.entity_id}-${m.role}`, source: hid, target: `n-${m.entity_id}` } });
      }
    }
    const truncated = data.truncated ? " — truncated: raise the limit to see more" : "";
    $("graph-summary").textContent = `${entities.size} entities, ${edges.length} hyperedges${truncated}`;
    container.dataset.nodes = String(elements.filter((x) => x.group === "nodes").length);
    if (typeof window.cytoscape !== "function") {
      setStatus("The graph library did not load.", "error");
      return;
    }
    state.cy = window.cytoscape({
      container,
      elements,
      wheelSensitivity: 0.3,
      maxZoom: 2,
      minZoom: 0.1,
      style: [
        {
          selector: "node",
          style: {
            label: "data(label)",
            "font-size": 10,
            "text-wrap": "ellipsis",
            "text-max-width": 140,
            "text-valign": "bottom",
            "text-margin-y": 3,
            color: "#1d2330",
          },
        },
        { selector: 'node[kind = "entity"]', style: { "background-color": "#2457c5", width: 22, height: 22, "font-size": 11, "font-weight": "bold" } },
        { selector: 'node[kind = "memory"]', style: { "background-color": "#e08a00", shape: "round-rectangle", width: 10, height: 10, color: "#7a5400" } },
        { selector: 'node[kind = "episode"]', style: { "background-color": "#8a94a6", shape: "diamond", width: 10, height: 10, color: "#5b6475", "font-size": 9 } },
        { selector: "edge", style: { width: 1, "line-color": "#c4cad4", "curve-style": "straight" } },
        { selector: ":selected", style: { "border-width": 3, "border-color": "#b3261e" } },
      ],
      layout: { name: "cose", animate: false, randomize: false, padding: 40, nodeRepulsion: () => 9000, idealEdgeLength: () => 60 },
    });
    state.cy.on("tap", "node", (event) => {
      const node = event.target.data();
      if (node.kind === "entity") openEntity(node.ref);
      else if (node.kind === "memory") guarded(() => openFact(node.ref));
      else guarded(() => openEpisode(node.ref));
    });
  }

  function openEntity(id) {
    const data = state.graph;
    const entity = (data.entities || []).find((e) => e.id === id);
    if (!entity) return;
    const edges = (data.hyperedges || []).filter((h) => (h.members || []).some((m) => m.entity_id === id));
    const facts = edges.filter((h) => h.kind === "memory");
    const episodes = edges.filter((h) => h.kind === "episode");
    const item = (h) =>
      el(
        "li",
        {},
        el("button", {
          type: "button",
          class: "chip",
          dir: "auto",
          text: h.text ?? "(deleted)",
          on: { click: () => guarded(() => (h.kind === "memory" ? openFact(h.id) : openEpisode(h.id))) },
        }),
      );
    openDetail(
      el("h3", { dir: "auto", text: entity.name, id: "entity-name" }),
      kv([
        ["type", entity.type],
        ["aliases", (entity.aliases || []).join(", ") || "—"],
        ["id", el("span", { class: "mono", text: entity.id })],
      ]),
      el("h4", { text: `Facts (${facts.length})` }),
      facts.length ? el("ul", { class: "list plain", id: "entity-facts" }, facts.map(item)) : el("p", { class: "muted", text: "none" }),
      el("h4", { text: `Episodes (${episodes.length})` }),
      episodes.length ? el("ul", { class: "list plain", id: "entity-episodes" }, episodes.map(item)) : el("p", { class: "muted", text: "none" }),
    );
  }

  async function openEpisode(id) {
    const [episode] = await sourceEpisodes([id]);
    const facts = (await factsOfEpisodes([id])).filter((f) => (f.source_episode_ids || []).includes(id));
    openDetail(
      el("h3", { text: "Episode" }),
      kv([
        ["speaker", episode.speaker || episode.role || "—"],
        ["when", fmtTime(episode.occurred_at)],
        ["id", el("span", { class: "mono", text: id })],
      ]),
      textBlock(episode.content, "p"),
      el("h4", { text: `Facts from it (${facts.length})` }),
      facts.length
        ? el("ul", { class: "list plain" }, facts.map((f) => el("li", {}, factChip(f))))
        : el("p", { class: "muted", text: "none" }),
    );
  }

  // Search ------------------------------------------------------------------

  for (const name of PRESETS) {
    $("search-preset").append(el("option", { value: name, text: name || "(service default)" }));
  }

  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(runSearch);
  });

  async function runSearch() {
    const query = $("search-query").value;
    const body = {
      ...scopeParams(state.scope),
      query,
      mode: $("search-mode").value,
      limit: Number($("search-limit").value) || 10,
    };
    if ($("search-preset").value) body.preset = $("search-preset").value;
    const out = $("search-out");
    clear(out).append(el("p", { class: "muted", text: "Searching…" }));
    const result = await api("POST", "/v1/search", { body });
    state.search = { query, result };
    renderSearch(result);
  }

  function numbersTable(title, values, unit, id) {
    const entries = Object.entries(values || {});
    return el(
      "div",
      { class: "panel", id },
      el("h4", { text: title }),
      entries.length
        ? el("table", {}, el("tbody", {}, entries.map(([k, v]) => el("tr", {}, el("td", { text: k }), el("td", { class: "num", text: `${fmtNum(v, unit === "ms" ? 1 : 4)}${unit ? ` ${unit}` : ""}` })))))
        : el("p", { class: "muted", text: "none" }),
    );
  }

  function gatePanel(gate) {
    if (!gate) return el("div", { class: "panel", id: "search-gate" }, el("h4", { text: "Gate" }), el("p", { class: "muted", text: "not run for this search (ungated preset, fast route)" }));
    const scores = gate.scores || {};
    const routing = gate.routing || {};
    const marks = routing.score === "learned" ? { learned: routing.threshold } : routing.thresholds || {};
    const rows = Object.entries(scores).map(([name, score]) => {
      const mark = marks[name];
      const verdict = typeof mark === "number" ? (score >= mark ? "pass" : "fail") : "";
      return el(
        "tr",
        {},
        el("td", { text: name }),
        el("td", { class: "num", text: fmtNum(score) }),
        el("td", { class: "num muted", text: typeof mark === "number" ? `≥ ${fmtNum(mark)}` : "" }),
        el("td", { class: verdict, text: verdict }),
      );
    });
    const learned =
      routing.score === "learned" && typeof scores.learned === "number"
        ? el("p", { class: "learned" }, "learned probability ", el("b", { text: fmtNum(scores.learned) }), ` vs threshold ${fmtNum(routing.threshold)}`)
        : el("p", { class: "muted", text: routing.score ? `routed by: ${routing.score}` : "" });
    return el(
      "div",
      { class: "panel", id: "search-gate" },
      el("h4", { text: `Gate (overall ${fmtNum(gate.overall)})` }),
      learned,
      el("table", {}, el("tbody", {}, rows)),
      (gate.reasons || []).length ? el("ul", {}, gate.reasons.map((r) => el("li", { dir: "auto", text: r }))) : null,
    );
  }

  function renderSearch(result) {
    const out = clear($("search-out"));
    out.append(
      el(
        "div",
        { class: "route" },
        "route ",
        badge(result.route),
        el("span", { class: "muted mono", text: `retrieval ${result.retrieval_id}` }),
        el("span", { class: "muted", text: `${result.results.length} hits` }),
      ),
      el(
        "div",
        { class: "panels" },
        gatePanel(result.gate),
        numbersTable("Timings", result.timings_ms, "ms", "search-timings"),
        numbersTable("Cost", result.cost, "", "search-cost"),
      ),
      el("ol", { class: "hits", id: "search-hits" }, result.results.map((hit, i) => hitItem(result, hit, i))),
    );
  }

  function hitItem(result, hit, i) {
    const utility = el("span", { class: "utility", dataset: { id: hit.id } });
    const send = (reward) =>
      guarded(async () => {
        const answer = await api("POST", "/v1/feedback", {
          body: { retrieval_id: result.retrieval_id, reward, memory_ids: [hit.id] },
        });
        const q = (answer.utilities || {})[hit.id];
        utility.textContent = q === undefined ? (answer.applied ? "sent" : "not applied") : `Q = ${fmtNum(q)}`;
      });
    const turns = (hit.context || []).map((t) =>
      el("div", { class: t.position === 0 ? "turn self" : "turn" }, el("b", { dir: "auto", text: `${t.speaker || "?"} (${t.position > 0 ? "+" : ""}${t.position}): ` }), el("span", { class: "turn-text", dir: "auto", text: t.text })),
    );
    return el(
      "li",
      { class: "hit", dataset: { id: hit.id, kind: hit.kind } },
      el(
        "div",
        { class: "hit-head" },
        el("span", { text: `#${i + 1}` }),
        badge(hit.kind),
        el("span", { class: "score", text: `score ${fmtNum(hit.score, 4)}` }),
        hit.speaker ? el("span", { dir: "auto", text: hit.speaker }) : null,
        el("span", { text: fmtTime(hit.occurred_at) }),
      ),
      el("div", { class: "hit-scores" }, Object.entries(hit.scores || {}).map(([k, v]) => el("span", { text: `${k} ${fmtNum(v, 4)}` }))),
      textBlock(hit.text, "div", "hit-text"),
      turns.length ? el("div", { class: "turns" }, turns) : null,
      el(
        "div",
        { class: "feedback" },
        el("button", { type: "button", class: "small secondary", title: "useful", text: "+1", on: { click: () => send(1) } }),
        el("button", { type: "button", class: "small secondary", title: "harmful", text: "−1", on: { click: () => send(-1) } }),
        utility,
      ),
    );
  }

  $("context-form").addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(async () => {
      const body = {
        ...scopeParams(state.scope),
        query: $("search-query").value || null,
        token_budget: Number($("context-budget").value) || 500,
      };
      const answer = await api("POST", "/v1/context", { body });
      const out = $("context-out");
      out.textContent = answer.context || "(empty)";
      out.hidden = false;
      setStatus(`Context: ${answer.tokens} tokens, ${answer.memory_ids.length} facts, ${answer.episode_ids.length} episodes.`, "muted");
    });
  });

  // Jobs --------------------------------------------------------------------

  async function loadJobs(more) {
    const rows = $("jobs-rows");
    const query = { state: $("jobs-state").value };
    if (!$("jobs-all").checked) Object.assign(query, scopeParams(state.scope));
    const jobs = await page("jobs", "/v1/jobs", query, more);
    if (!more) clear(rows);
    for (const j of jobs) {
      rows.append(
        el(
          "tr",
          { dataset: { id: j.id } },
          el("td", { class: "mono", title: j.id, text: shortId(j.id) }),
          el("td", { text: j.kind }),
          el("td", {}, badge(j.state)),
          el("td", { class: "num", text: j.attempts }),
          el("td", {}, textBlock(j.last_error ?? "—")),
          el("td", { dir: "auto", text: scopeName(j) }),
          el("td", { class: "nowrap", text: fmtTime(j.created_at) }),
          el("td", { class: "nowrap", text: fmtTime(j.updated_at) }),
        ),
      );
    }
    if (!rows.children.length) rows.append(el("tr", {}, el("td", { colspan: 8, class: "muted", text: "No jobs." })));
  }
  $("jobs-more").addEventListener("click", () => guarded(() => loadJobs(true)));
  $("jobs-load").addEventListener("click", () => guarded(() => loadJobs(false)));
  $("jobs-state").addEventListener("change", () => guarded(() => loadJobs(false)));
  $("jobs-all").addEventListener("change", () => guarded(() => loadJobs(false)));

  // ---------------------------------------------------------------- start

  const saved = sessionStorage.getItem(KEY_STORAGE);
  if (saved) {
    signIn(saved).catch((err) => signOut(err instanceof ApiError ? loginMessage(err) : String(err)));
  } else {
    showLogin("");
  }
})();
