// rigfit's local page: forms over the JSON API, tables and plain-SVG charts. No libraries, no network
// beyond this server. Every number shown comes from the API's JSON (the CLI's --json documents).
"use strict";

const GIB = 1024 ** 3;
const COLORS = { weights: "#2563eb", kv_cache: "#16a34a", compute: "#f59e0b", overhead: "#9333ea" };
const HEADROOM_COLOR = "#d1d5db";
const SVG_NS = "http://www.w3.org/2000/svg";
let OPTIONS = null;

const $ = (id) => document.getElementById(id);
const gib = (b) => (b / GIB).toFixed(2) + " GiB";
const tps = (x) => (x === null || x === undefined ? "–" : x.toFixed(1) + " tok/s");
const secs = (x) => (x === null || x === undefined ? "–" : x.toFixed(2) + " s");
const usd = (x) => "$" + Math.round(x).toLocaleString("en-US");

function el(tag, attrs = {}, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function svgEl(tag, attrs = {}, text) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

async function getJSON(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of params) if (v !== "" && v !== null && v !== undefined) q.append(k, v);
  const resp = await fetch(path + (q.toString() ? "?" + q : ""));
  const doc = await resp.json();
  if (!resp.ok) throw new Error(doc.error || resp.statusText);
  return doc;
}

function showError(id, err) {
  const p = $(id);
  p.textContent = err ? String(err.message || err) : "";
  p.hidden = !err;
}

// ---------------------------------------------------------------- tabs and option lists

function switchTab(name) {
  for (const b of document.querySelectorAll("nav .tab[data-tab]")) b.classList.toggle("active", b.dataset.tab === name);
  for (const p of document.querySelectorAll(".pane")) p.classList.toggle("active", p.id === "pane-" + name);
}

function fillSelect(select, values, chosen, first) {
  select.replaceChildren();
  if (first) select.append(el("option", { value: first[0] }, first[1]));
  for (const v of values) {
    const o = el("option", { value: v }, v);
    if (v === chosen) o.selected = true;
    select.append(o);
  }
}

function engineInfo(name) {
  return OPTIONS.engines.find((e) => e.name === name);
}

function onEngineChange() {
  const e = engineInfo($("fit-engine").value);
  fillSelect($("fit-quant"), e.quants, "", ["", "best that fits"]);
  fillSelect($("fit-kv"), e.kv_types, e.default_kv);
  fillSelect($("fit-kv-v"), e.kv_split ? e.kv_types : [], "", ["", e.kv_split ? "same as K" : "one type for K and V"]);
  $("fit-kv-v").disabled = !e.kv_split;
  const launchable = OPTIONS.engines.filter((x) => x.launch).map((x) => x.name);
  fillSelect($("fit-command"), e.launch ? [e.name] : [], e.name, e.launch ? null : ["", "no launch command for " + e.name]);
  $("fit-command").disabled = !e.launch;
  $("fit-command").title = "launch commands: " + launchable.join(", ");
}

async function loadOptions() {
  OPTIONS = await getJSON("/api/options", []);
  fillSelect($("fit-engine"), OPTIONS.engines.map((e) => e.name), "llama.cpp");
  fillSelect($("fit-link"), OPTIONS.links.map((l) => l.name), "10gbe");
  onEngineChange();
  fillSelect($("rec-workload"), OPTIONS.workloads.map((w) => w.name), "chat");
  $("rec-models").placeholder = OPTIONS.default_stack.join(", ");
  $("guide-models").placeholder = OPTIONS.default_stack.join(", ");
  const models = await getJSON("/api/models", []);
  $("model-names").replaceChildren(...models.models.map((m) => el("option", { value: m.name })));
  const hw = await getJSON("/api/hardware", []);
  $("hardware-names").replaceChildren(...hw.devices.map((d) => el("option", { value: d.name })));
}

// ---------------------------------------------------------------- fit

function fitParams(withCurve) {
  const params = [["model", $("fit-model").value.trim()], ["engine", $("fit-engine").value],
    ["quant", $("fit-quant").value], ["ctx", $("fit-ctx").value.trim()], ["kv_cache", $("fit-kv").value],
    ["ram", $("fit-ram").value.trim()], ["headroom", $("fit-headroom").value.trim()]];
  if ($("fit-kv-v").value) params.push(["kv_cache_v", $("fit-kv-v").value]);
  if ($("fit-os").value !== "linux") params.push(["os", $("fit-os").value]);
  if ($("fit-display").checked) params.push(["display", "true"]);
  const nodes = Math.max(1, Math.min(8, parseInt($("fit-nodes").value, 10) || 1));
  const parts = $("fit-hardware").value.split("+").map((h) => h.trim()).filter((h) => h);
  if ($("fit-this-machine").checked) params.push(["this_machine", "true"]);
  else if (nodes > 1) {
    // a cluster of identical machines: each node is the hardware entries (and the RAM) of one machine
    const ram = $("fit-ram").value.trim();
    const spec = parts.join(", ") + (ram ? ", " + ram : "");
    for (let i = 0; i < nodes; i++) params.push(["node", spec]);
    params.push(["link", $("fit-link").value]);
  } else for (const h of parts) params.push(["hardware", h]);
  const e = engineInfo($("fit-engine").value);
  if (e.launch) params.push(["command", e.name]);
  if (withCurve) params.push(["curve", "true"]);
  return params;
}

async function runFit(ev) {
  if (ev) ev.preventDefault();
  showError("fit-error", null);
  try {
    const doc = await getJSON("/api/fit", fitParams(true));
    renderFit(doc);
    shareLink();
  } catch (err) {
    $("fit-result").hidden = true;
    showError("fit-error", err);
    document.body.dataset.fits = String(Number(document.body.dataset.fits || 0) + 1);
  }
}

// ---------------------------------------------------------------- shareable links: every input in the query

const FIT_FIELDS = { model: "fit-model", engine: "fit-engine", quant: "fit-quant", ctx: "fit-ctx", kv_cache: "fit-kv",
  kv_cache_v: "fit-kv-v", ram: "fit-ram", headroom: "fit-headroom", os: "fit-os" };

function shareLink() {
  const q = new URLSearchParams();
  for (const [k, v] of fitParams(false)) if (v !== "" && v !== null && v !== undefined && k !== "command") q.append(k, v);
  const url = location.pathname + "?" + q.toString();
  $("fit-share").setAttribute("href", url);
  history.replaceState(null, "", url);
}

function applyQuery() {
  // the page opened from a shared link: fill the fit form from its query string
  const q = new URLSearchParams(location.search);
  if (!q.has("model")) return;
  if (q.has("engine") && engineInfo(q.get("engine"))) { $("fit-engine").value = q.get("engine"); onEngineChange(); }
  for (const [k, id] of Object.entries(FIT_FIELDS)) {
    if (!q.has(k) || k === "engine") continue;
    const e = $(id);
    if (e.tagName === "SELECT" && ![...e.options].some((o) => o.value === q.get(k))) e.append(el("option", { value: q.get(k) }, q.get(k)));
    e.value = q.get(k);
  }
  const hw = q.getAll("hardware");
  if (hw.length) $("fit-hardware").value = hw.join(" + ");
  const nodes = q.getAll("node");
  if (nodes.length) {
    // a shared cluster plan: its machine's devices (the RAM size stays in the RAM field) and the link
    $("fit-nodes").value = String(nodes.length);
    $("fit-hardware").value = nodes[0].split(",").map((x) => x.trim()).filter((x) => x && !/^[0-9.]+\s*[kmgt]i?b?$/i.test(x)).join(" + ");
    if (q.has("link")) $("fit-link").value = q.get("link");
  }
  $("fit-this-machine").checked = q.get("this_machine") === "true";
  $("fit-hardware").disabled = $("fit-this-machine").checked;
  $("fit-display").checked = q.get("display") === "true";
}

function setCard(id, text, raw) {
  const e = $(id);
  e.textContent = text;
  e.dataset.value = raw === null || raw === undefined ? "" : String(raw);
}

function renderFit(doc) {
  const p = doc.placement, s = doc.speed && doc.speed.decode_tokens_per_s !== undefined ? doc.speed : null;
  setCard("out-verdict", p ? p.verdict : "no hardware", p ? p.verdict : null);
  $("out-verdict").className = "v" + (p ? " verdict-" + p.verdict : "");
  setCard("out-quant", doc.quant, doc.quant);
  setCard("out-total", gib(doc.memory.total_bytes), doc.memory.total_bytes);
  setCard("out-layers", p ? p.gpu_layers + " / " + (p.n_layers + 1) : "–", p ? p.gpu_layers : null);
  setCard("out-decode", s ? tps(s.decode_tokens_per_s) : "–", s ? s.decode_tokens_per_s : null);
  setCard("out-prefill", s ? tps(s.prefill_tokens_per_s) : "–", s ? s.prefill_tokens_per_s : null);
  setCard("out-ttft", s ? secs(s.time_to_first_token_s) : "–", s ? s.time_to_first_token_s : null);
  const rm = doc.room;
  setCard("out-room", rm ? gib(rm.free_bytes) : "–", rm ? rm.free_bytes : null);
  $("out-room-note").textContent = !rm ? "" : `${gib(rm.free_bytes)} free on ${rm.device}` +
    (rm.headroom_bytes ? ` beyond the ${gib(rm.headroom_bytes)} headroom` : "") +
    (rm.next_context_tokens ? `; context ${rm.next_context_tokens.toLocaleString("en-US")} needs ${gib(rm.next_context_extra_bytes)} more` +
      (rm.next_context_fits ? " and fits" : ", which does not fit") : "");

  const tbody = $("fit-items").querySelector("tbody");
  tbody.replaceChildren(...doc.memory.items.map((i) => {
    const tr = el("tr");
    tr.append(el("td", {}, i.component), el("td", {}, i.name), el("td", {}, i.location),
      el("td", { class: "num" }, (i.bytes / GIB).toFixed(2)), el("td", {}, i.note));
    return tr;
  }));
  $("fit-result").hidden = false;  // shown before drawing: the charts take the width they are shown at
  drawDevices($("chart-devices"), doc);
  drawCurve($("chart-curve"), doc.context_curve ? doc.context_curve.points : [], doc.settings.context_tokens);
  renderLaunch(doc.launch);
  const notes = [...doc.warnings, ...(p ? p.notes : []), ...(s ? s.notes : [])];
  if (doc.speed && doc.speed.unknown) notes.push("speed: " + doc.speed.unknown);
  $("fit-notes").replaceChildren(...notes.map((n) => el("li", {}, n)));
  $("fit-result").hidden = false;
  document.body.dataset.fits = String(Number(document.body.dataset.fits || 0) + 1);
}

function renderLaunch(lc) {
  const box = $("fit-launch");
  box.replaceChildren();
  if (!lc) { box.append(el("p", { class: "notes" }, "No launch command for this engine.")); return; }
  box.append(el("p", {}, lc.summary));
  for (const f of lc.files) {
    box.append(el("h4", {}, f.name));
    box.append(el("pre", { class: "launch-file" }, f.content));
  }
  if (lc.commands.length) box.append(el("pre", { id: "launch-commands" }, lc.commands.join("\n")));
  const keys = Object.keys(lc.settings);
  if (keys.length) {
    const t = el("table", { class: "data" });
    for (const k of keys) { const tr = el("tr"); tr.append(el("th", {}, k), el("td", {}, lc.settings[k])); t.append(tr); }
    box.append(scrollBox(t));
  }
  box.append(...lc.notes.map((n) => el("p", { class: "notes" }, n)));
}

function devicesOf(doc) {
  const cluster = doc.placement && doc.placement.cluster_mode;
  if (doc.placement) return doc.placement.devices.map((d) => ({ name: (cluster && d.role !== "cpu" ? "node " + d.node + " · " : "") + d.name, usable: d.usable_bytes,
    headroom: d.headroom_bytes || 0, parts: { weights: d.weights_bytes, kv_cache: d.kv_cache_bytes, compute: d.compute_bytes, overhead: d.overhead_bytes } }));
  const parts = { weights: 0, kv_cache: 0, compute: 0, overhead: 0 };
  for (const i of doc.memory.items) parts[i.component] += i.bytes;
  return [{ name: "model (no hardware given)", usable: null, parts }];
}

function chartWidth(svg, natural) {
  // a chart is drawn at the width it is shown at (up to its natural width), so its 11 px text stays 11 px on
  // a phone instead of shrinking with the whole picture
  const box = svg.parentElement ? svg.parentElement.clientWidth - 16 : natural;
  return Math.round(Math.max(300, Math.min(natural, box > 0 ? box : natural)));
}

function legendRows(items, W, step) {
  // [x, row] for each legend entry, wrapping to a new row where the chart is narrow
  const perRow = Math.max(1, Math.floor((W - 4) / step));
  return items.map((_, i) => [4 + (i % perRow) * step, Math.floor(i / perRow)]);
}

function drawDevices(svg, doc) {
  // one bar per device, each scaled to its own usable memory (the dashed line); overflow runs past it
  const devs = devicesOf(doc);
  const W = chartWidth(svg, 560), rowH = 34, left = W < 450 ? 96 : 150, right = W < 450 ? 78 : 96, top = 10;
  const legend = [...Object.entries(COLORS).map(([k, c]) => [k.replace("_", " "), c]), ["headroom", HEADROOM_COLOR], ["┆ usable", null]];
  const spots = legendRows(legend, W, 90);
  const H = top + devs.length * rowH + 16 + 16 * (spots[spots.length - 1][1] + 1);
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.replaceChildren();
  devs.forEach((d, i) => {
    const y = top + i * rowH;
    const used = Object.values(d.parts).reduce((a, b) => a + b, 0);
    const scale = Math.max((d.usable || 0) + (d.headroom || 0), used) || 1;
    const x = (b) => left + (b / scale) * (W - left - right);
    const room = W < 450 ? 14 : 24;
    const name = svgEl("text", { x: 4, y: y + 17 }, d.name.length > room ? d.name.slice(0, room - 1) + "…" : d.name);
    name.append(svgEl("title", {}, d.name));
    svg.append(name);
    let at = 0;
    for (const [k, v] of Object.entries(d.parts)) {
      if (v <= 0) continue;
      const r = svgEl("rect", { x: x(at), y: y + 4, width: Math.max(0.5, x(at + v) - x(at)), height: rowH - 12, fill: COLORS[k] });
      r.append(svgEl("title", {}, `${d.name}, ${k.replace("_", " ")}: ${gib(v)}`));
      svg.append(r);
      at += v;
    }
    if (d.usable && d.headroom) {
      const h = svgEl("rect", { x: x(d.usable), y: y + 4, width: Math.max(0.5, x(d.usable + d.headroom) - x(d.usable)), height: rowH - 12, fill: HEADROOM_COLOR, class: "headroom" });
      h.append(svgEl("title", {}, `${d.name}, headroom kept free: ${gib(d.headroom)}`));
      svg.append(h);
    }
    if (d.usable) {
      svg.append(svgEl("line", { x1: x(d.usable), x2: x(d.usable), y1: y + 1, y2: y + rowH - 5, stroke: used > d.usable ? "#dc2626" : "#111", "stroke-width": 2, "stroke-dasharray": "3,2" }));
    }
    const label = d.usable ? `${(used / GIB).toFixed(1)} / ${(d.usable / GIB).toFixed(1)} GiB` : `${(used / GIB).toFixed(1)} GiB`;
    svg.append(svgEl("text", { x: W - right + 6, y: y + 17, class: "bar-label" }, label));
  });
  legend.forEach(([label, color], i) => {
    const [lx, row] = spots[i];
    const ly = top + devs.length * rowH + 16 + row * 16;
    if (color) svg.append(svgEl("rect", { x: lx, y: ly - 9, width: 10, height: 10, fill: color }));
    svg.append(svgEl("text", { x: color ? lx + 14 : lx, y: ly }, label));
  });
}

function drawCurve(svg, points, planned) {
  const W = chartWidth(svg, 560), H = 260, L = 50, R = 50, T = 16, B = 40;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.replaceChildren();
  if (!points.length) { svg.append(svgEl("text", { x: 10, y: 20 }, "give hardware to see speed vs context")); return; }
  const xs = points.map((p) => Math.log2(p.context_tokens));
  const x0 = Math.min(...xs), x1 = Math.max(...xs) === x0 ? x0 + 1 : Math.max(...xs);
  const ys = points.map((p) => p.decode_tokens_per_s || 0);
  const yMax = Math.max(1, ...ys) * 1.1;
  const mMax = Math.max(...points.map((p) => p.total_bytes)) / GIB * 1.1;
  const X = (v) => L + ((v - x0) / (x1 - x0)) * (W - L - R);
  const Y = (v) => H - B - (v / yMax) * (H - T - B);
  const YM = (v) => H - B - (v / mMax) * (H - T - B);
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    svg.append(svgEl("line", { x1: L, x2: W - R, y1: Y(v), y2: Y(v), class: "grid-line" }));
    svg.append(svgEl("text", { x: L - 6, y: Y(v) + 4, "text-anchor": "end" }, v.toFixed(0)));
    svg.append(svgEl("text", { x: W - R + 6, y: Y(v) + 4 }, ((mMax * i) / 4).toFixed(0)));
  }
  svg.append(svgEl("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, class: "axis" }));
  for (const p of points) {
    const k = p.context_tokens;
    svg.append(svgEl("text", { x: X(Math.log2(k)), y: H - B + 14, "text-anchor": "middle" }, k >= 1024 ? Math.round(k / 1024) + "k" : k));
  }
  svg.append(svgEl("text", { x: W / 2, y: H - 6, "text-anchor": "middle" }, "context tokens (log scale)"));
  svg.append(svgEl("text", { x: 4, y: 12, fill: COLORS.weights }, "decode tok/s"));
  svg.append(svgEl("text", { x: W - 4, y: 12, "text-anchor": "end", fill: "#667085" }, "memory GiB"));
  const mem = points.map((p) => `${X(Math.log2(p.context_tokens))},${YM(p.total_bytes / GIB)}`).join(" ");
  svg.append(svgEl("polyline", { points: mem, fill: "none", stroke: "#98a2b3", "stroke-width": 2, "stroke-dasharray": "5,3" }));
  const line = points.filter((p) => p.decode_tokens_per_s !== null).map((p) => `${X(Math.log2(p.context_tokens))},${Y(p.decode_tokens_per_s)}`).join(" ");
  svg.append(svgEl("polyline", { points: line, fill: "none", stroke: COLORS.weights, "stroke-width": 2 }));
  const vc = { gpu: "#16a34a", partial_offload: "#f59e0b", cpu: "#f59e0b", does_not_fit: "#dc2626" };
  for (const p of points) {
    const c = svgEl("circle", { cx: X(Math.log2(p.context_tokens)), cy: Y(p.decode_tokens_per_s || 0), r: p.context_tokens === planned ? 6 : 4,
      fill: vc[p.verdict] || "#999", stroke: p.context_tokens === planned ? "#111" : "none" });
    c.append(svgEl("title", {}, `${p.context_tokens.toLocaleString("en-US")} tokens: ${p.verdict}, ${tps(p.decode_tokens_per_s)}, ${gib(p.total_bytes)}`));
    svg.append(c);
  }
}

// ---------------------------------------------------------------- recommend

function listParam(name, text) {
  return text.split(",").map((t) => t.trim()).filter(Boolean).map((t) => [name, t]);
}

async function runRecommend(ev) {
  if (ev) ev.preventDefault();
  showError("rec-error", null);
  const params = [...listParam("model", $("rec-models").value), ["workload", $("rec-workload").value],
    ["budget", $("rec-budget").value.trim()], ["max_ttft", $("rec-max-ttft").value.trim()], ["have", $("rec-have").value.trim()], ["platform", $("rec-platform").value], ["form", $("rec-form-factor").value],
    ["condition", $("rec-condition").value], ["vendor", $("rec-vendor").value], ["top", $("rec-top").value.trim()]];
  try {
    renderRecommend(await getJSON("/api/recommend", params));
  } catch (err) {
    $("rec-result").hidden = true;
    showError("rec-error", err);
  }
}

function slowest(b) {
  return Math.min(...b.models.map((m) => m.decode_tokens_per_s || 0));
}

function missText(n) {
  if (n.target === "decode_speed") return `slowest model decodes ${n.got.toFixed(1)} tokens/s vs ${n.want}`;
  if (n.target === "first_token") return `first token after ${n.got.toFixed(1)} s vs ${n.want} s`;
  if (n.target === "epoch_time") return `an epoch takes ${n.got.toFixed(1)} h vs ${n.want} h`;
  return `${usd(n.got)} vs the ${usd(n.want)} budget`;
}

function renderRecommend(doc) {
  $("rec-summary").textContent = `${doc.qualifying} of ${doc.considered} builds meet the ${doc.workload.name} targets ` +
    `(at least ${doc.min_tokens_per_s} tok/s) for ${doc.request.models.join(", ")}.`;
  const tbody = $("rec-builds").querySelector("tbody");
  tbody.replaceChildren(...doc.builds.map((b) => {
    const tr = el("tr");
    const parts = b.parts.map((p) => (p.count > 1 ? p.count + "x " : "") + p.name).join("; ");
    const ttft = Math.max(...b.models.map((m) => m.time_to_first_token_s || 0));
    tr.append(el("td", {}, String(b.rank) + (b.pareto ? " ★" : "")), el("td", {}, b.name + " (" + b.condition + ")"),
      el("td", { class: "num" }, usd(b.price_usd)), el("td", { class: "num" }, slowest(b).toFixed(1)),
      el("td", { class: "num" }, ttft.toFixed(2)), el("td", {}, parts), el("td", {}, b.reason));
    return tr;
  }));
  $("rec-near").replaceChildren(...doc.near_misses.map((n) => el("li", {}, `${n.name} (${n.condition}) — ${usd(n.price_usd)}: ` +
    `${missText(n)}; passes with ${n.fix}`)));
  $("rec-near-box").hidden = !doc.near_misses.length;
  $("rec-clusters").querySelector("tbody").replaceChildren(...(doc.clusters || []).map((c) => {
    const tr = el("tr");
    const slow = Math.min(...c.models.map((m) => m.decode_tokens_per_s || 0));
    tr.append(el("td", {}, c.name), el("td", { class: "num" }, usd(c.price_usd)),
      el("td", { class: "num" }, slow.toFixed(1)), el("td", {}, c.engine), el("td", {}, c.why));
    return tr;
  }));
  $("rec-clusters-box").hidden = !(doc.clusters || []).length;
  $("rec-result").hidden = false;
  drawPareto($("chart-pareto"), doc);
  $("rec-limits").replaceChildren(...doc.cheapest_limits.map((l) => el("li", {}, typeof l === "string" ? l : (l.text || JSON.stringify(l)))));
  $("rec-result").hidden = false;
}

function drawPareto(svg, doc) {
  const W = chartWidth(svg, 720), H = 300, L = 60, R = 20, T = 14, B = 40;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.replaceChildren();
  const pts = doc.builds.map((b) => ({ name: b.name, price: b.price_usd, speed: slowest(b), front: b.pareto }));
  for (const p of doc.pareto) if (!pts.some((q) => q.name === p.name && q.price === p.price_usd))
    pts.push({ name: p.name, price: p.price_usd, speed: p.slowest_decode_tokens_per_s, front: true });
  if (!pts.length) return;
  const pMin = Math.min(...pts.map((p) => p.price)) * 0.9, pMax = Math.max(...pts.map((p) => p.price)) * 1.05;
  const sMax = Math.max(...pts.map((p) => p.speed)) * 1.1 || 1;
  const X = (v) => L + ((v - pMin) / (pMax - pMin || 1)) * (W - L - R);
  const Y = (v) => H - B - (v / sMax) * (H - T - B);
  for (let i = 0; i <= 4; i++) {
    const v = (sMax * i) / 4, pv = pMin + ((pMax - pMin) * i) / 4;
    svg.append(svgEl("line", { x1: L, x2: W - R, y1: Y(v), y2: Y(v), class: "grid-line" }));
    svg.append(svgEl("text", { x: L - 6, y: Y(v) + 4, "text-anchor": "end" }, v.toFixed(0)));
    if (W >= 500 || i % 2 === 0) svg.append(svgEl("text", { x: X(pv), y: H - B + 14, "text-anchor": "middle" }, usd(pv)));
  }
  svg.append(svgEl("text", { x: W / 2, y: H - 6, "text-anchor": "middle" }, "build price (USD)"));
  svg.append(svgEl("text", { x: 4, y: 10 }, "slowest model, decode tok/s"));
  const front = pts.filter((p) => p.front).sort((a, b) => a.price - b.price);
  svg.append(svgEl("polyline", { points: front.map((p) => `${X(p.price)},${Y(p.speed)}`).join(" "), fill: "none", stroke: "#2563eb", "stroke-width": 2 }));
  for (const p of pts) {
    const c = svgEl("circle", { cx: X(p.price), cy: Y(p.speed), r: 5, fill: p.front ? "#2563eb" : "#98a2b3", class: p.front ? "front" : "dominated" });
    c.append(svgEl("title", {}, `${p.name}: ${usd(p.price)}, ${p.speed.toFixed(1)} tok/s`));
    svg.append(c);
  }
}

// ---------------------------------------------------------------- guide

function md(tag, text) {
  // the guide's Markdown inline marks (**bold**, `code`) as elements, never as HTML: text stays text
  const e = el(tag);
  for (const part of String(text).split(/(\*\*[^*]+\*\*|`[^`]+`)/)) {
    if (!part) continue;
    if (part.startsWith("**") && part.endsWith("**") && part.length > 4) e.append(el("strong", {}, part.slice(2, -2)));
    else if (part.startsWith("`") && part.endsWith("`") && part.length > 2) e.append(el("code", {}, part.slice(1, -1)));
    else e.append(document.createTextNode(part));
  }
  return e;
}

function scrollBox(child) {
  // a wide table scrolls inside its box, so the page itself never scrolls sideways on a phone
  const box = el("div", { class: "scroll" });
  box.append(child);
  return box;
}

async function runGuide(ev) {
  if (ev) ev.preventDefault();
  showError("guide-error", null);
  const body = $("guide-body");
  try {
    const g = await getJSON("/api/guide", listParam("model", $("guide-models").value));
    body.replaceChildren(el("h1", {}, g.title));
    for (const s of g.sections) {
      body.append(el("h2", {}, s.title));
      for (const para of s.paragraphs) body.append(md("p", para));
      for (const t of s.tables) {
        const table = el("table", { class: "data" });
        const head = el("tr");
        head.append(...t.headers.map((h) => md("th", h)));
        table.append(head);
        for (const row of t.rows) { const tr = el("tr"); tr.append(...row.map((c) => md("td", c))); table.append(tr); }
        body.append(scrollBox(table));
      }
      if (s.bullets.length) { const ul = el("ul"); ul.append(...s.bullets.map((b) => md("li", b))); body.append(ul); }
    }
  } catch (err) {
    body.replaceChildren();
    showError("guide-error", err);
  }
}

// ---------------------------------------------------------------- compare

function compareRows(doc) {
  // one row per figure, one column per machine (the CLI's rigfit compare, from the same JSON)
  const m = doc.machines;
  const cell = (f) => m.map(f);
  const fmt = (x, d) => (x === null || x === undefined ? "–" : x.toLocaleString("en-US", { maximumFractionDigits: d }));
  return [
    ["machine", cell((x) => x.hardware.devices.map((d) => (d.count > 1 ? d.count + "x " : "") + d.name).join(" + "))],
    ["verdict", cell((x) => x.fit.placement.verdict)],
    ["quant", cell((x) => x.fit.quant)],
    ["memory", cell((x) => {
      const acc = x.fit.placement.devices.filter((d) => d.role !== "cpu");
      const used = acc.reduce((a, d) => a + d.used_bytes, 0), usable = acc.reduce((a, d) => a + d.usable_bytes, 0);
      return `${(used / GIB).toFixed(1)} of ${(usable / GIB).toFixed(1)} GiB`;
    })],
    ["prefill", cell((x) => (x.fit.speed && x.fit.speed.prefill_tokens_per_s ? fmt(x.fit.speed.prefill_tokens_per_s, 0) + " tok/s" : "–"))],
    ["decode", cell((x) => (x.fit.speed && x.fit.speed.decode_tokens_per_s ? x.fit.speed.decode_tokens_per_s.toFixed(1) + " tok/s" : "–"))],
    ["first token", cell((x) => (x.fit.speed && x.fit.speed.time_to_first_token_s !== null && x.fit.speed.time_to_first_token_s !== undefined ? x.fit.speed.time_to_first_token_s.toFixed(2) + " s" : "–"))],
    ["max context", cell((x) => fmt(x.max_context_tokens, 0))],
    ["price", cell((x) => (x.price_usd ? usd(x.price_usd) : "–"))],
    ["running cost", cell((x) => { const c = x.fit.running_cost; return c && c.tokens_per_wh ? `${fmt(c.tokens_per_wh, 0)} tok/Wh, $${c.usd_per_million_tokens.toFixed(2)}/M` : "–"; })],
  ];
}

async function runCompare(ev) {
  if (ev) ev.preventDefault();
  showError("cmp-error", null);
  const params = [["model", $("cmp-model").value.trim()], ["quant", $("cmp-quant").value.trim()],
    ["ctx", $("cmp-ctx").value.trim()], ["kwh_price", $("cmp-kwh").value.trim()]];
  for (const id of ["cmp-hw1", "cmp-hw2", "cmp-hw3", "cmp-hw4"]) if ($(id).value.trim()) params.push(["hardware", $(id).value.trim()]);
  try {
    const doc = await getJSON("/api/compare", params);
    const table = $("cmp-table");
    table.replaceChildren();
    const head = el("tr");
    head.append(el("th", {}, ""), ...doc.machines.map((_, i) => el("th", {}, "#" + (i + 1))));
    table.append(head);
    for (const [label, cells] of compareRows(doc)) {
      const tr = el("tr");
      tr.append(el("th", {}, label), ...cells.map((c) => el("td", {}, c)));
      table.append(tr);
    }
    $("cmp-result").hidden = false;
  } catch (err) {
    $("cmp-result").hidden = true;
    showError("cmp-error", err);
  }
}

// ---------------------------------------------------------------- wiring

document.addEventListener("DOMContentLoaded", async () => {
  for (const b of document.querySelectorAll("nav .tab[data-tab]")) b.addEventListener("click", () => switchTab(b.dataset.tab));
  $("fit-form").addEventListener("submit", runFit);
  $("rec-form").addEventListener("submit", runRecommend);
  $("guide-form").addEventListener("submit", runGuide);
  $("cmp-form").addEventListener("submit", runCompare);
  $("fit-this-machine").addEventListener("change", () => { $("fit-hardware").disabled = $("fit-this-machine").checked; });
  try {
    await loadOptions();
    applyQuery();
    $("fit-engine").addEventListener("change", onEngineChange);
    document.body.dataset.ready = "1";
    await runFit();
  } catch (err) {
    showError("fit-error", err);
  }
});
