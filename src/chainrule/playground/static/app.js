// chainrule playground: the page. Plain JavaScript, no libraries, nothing fetched from elsewhere.
// The server pushes its state (Server-Sent Events, at most 30 a second); the page draws the
// latest one at the next animation frame. Commands go back as JSON POSTs carrying the token.
"use strict";

const TOKEN = new URLSearchParams(location.search).get("token") || "";
const POS = [8, 119, 189], NEG = [232, 116, 12], WHITE = [255, 255, 255];
const PALETTE = ["#0877bd", "#e8740c", "#2da44e", "#8250df", "#cf222e", "#1b7c83", "#bf3989",
                 "#6e7781", "#9a6700", "#0550ae"];
const $ = (id) => document.getElementById(id);

let state = null;          // the latest state from the server
let problem = null;        // the current problem's points and names
let drawn = false;         // a frame is scheduled
let hovered = null;        // {x: [...], index: i | null}: the sample under the pointer
let hoveredUnit = null;    // {l, j}: the unit under the pointer, drawn over the input plane
let lastSample = -1;       // the sample of the last worked pass
let workedIndex = null;    // the sample shown in the worked panel
let formRun = -1, formSettings = "";
let shownMessage = "";     // the server's last message (divergence, errors), as shown
const stats = {updates: 0, times: []};
window.playground = {stats, get state() { return state; }};

// -- talking to the server ---------------------------------------------------------------------
async function api(path, body) {
  const response = await fetch(path, {
    method: body === undefined ? "GET" : "POST",
    headers: {"X-Chainrule-Token": TOKEN, "Content-Type": "application/json"},
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  let data = null;
  try { data = await response.json(); } catch (e) { data = {error: `${response.status} ${response.statusText}`}; }
  if (!response.ok) { const error = new Error(data.error || response.statusText); error.field = data.field; throw error; }
  return data;
}

function connect() {
  const source = new EventSource(`/api/events?token=${encodeURIComponent(TOKEN)}`);
  source.onmessage = (event) => receive(JSON.parse(event.data));
  source.onerror = () => {
    setStatus("disconnected");
    if (source.readyState === EventSource.CLOSED) setTimeout(connect, 1000);
  };
}

function receive(next) {
  const now = performance.now();
  stats.updates += 1;
  stats.times.push(now);
  while (stats.times.length && now - stats.times[0] > 2000) stats.times.shift();
  const newRun = !state || state.run !== next.run;
  state = next;
  if (newRun || !problem || problem.run !== next.run) loadProblem(next.run);
  schedule();
}

async function loadProblem(run) {
  const p = await api("/api/problem");
  if (p.run !== run && state && state.run !== p.run) return;
  problem = p;
  hovered = null;
  schedule();
}

function schedule() {
  if (drawn) return;
  drawn = true;
  requestAnimationFrame(() => { drawn = false; render(); });
}

function showMessage(text) {
  const box = $("message");
  box.textContent = text || "";
  box.hidden = !text;
}

async function command(action) {
  try { await api("/api/control", {action}); showMessage(state && state.message); }
  catch (error) { showMessage(error.message); }
}

// -- numbers ------------------------------------------------------------------------------------
function fmt(v, digits = 4) {
  if (v === null || v === undefined) return "–";
  if (!isFinite(v)) return String(v);
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a < 1e-4 || a >= 1e6) return v.toExponential(Math.max(digits - 1, 1)).replace("e+", "e");
  return String(Number(v.toPrecision(digits)));
}

function mix(a, b, t) { return a.map((x, i) => Math.round(x + (b[i] - x) * t)); }
function rgb(c, alpha = 1) { return `rgba(${c[0]},${c[1]},${c[2]},${alpha})`; }
// -1 .. 1 -> orange .. white .. blue
function diverging(v) { v = Math.max(-1, Math.min(1, v)); return v >= 0 ? mix(WHITE, POS, v) : mix(WHITE, NEG, -v); }

// -- the forward pass in the page, for shading units under a hovered sample ---------------------
const ACT = {
  sigmoid: (z) => 1 / (1 + Math.exp(-z)),
  tanh: Math.tanh,
  relu: (z) => Math.max(0, z),
  leaky_relu: (z) => (z > 0 ? z : 0.01 * z),
  elu: (z) => (z > 0 ? z : Math.expm1(z)),
  softplus: (z) => Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z))),
  identity: (z) => z,
  linear: (z) => z,
};

function forward(net, x) {
  const values = [x.slice()];
  let a = x;
  net.weights.forEach((W, l) => {
    const b = net.biases[l], name = net.activations[l];
    const z = b.map((bias, j) => a.reduce((s, ai, i) => s + ai * W[i][j], bias));
    let out;
    if (name === "softmax") {
      const top = Math.max(...z), e = z.map((v) => Math.exp(v - top)), s = e.reduce((p, q) => p + q, 0);
      out = e.map((v) => v / s);
    } else out = z.map(ACT[name] || ACT.identity);
    values.push(out);
    a = out;
  });
  return values;
}

// -- rendering ------------------------------------------------------------------------------------
function render() {
  if (!state) return;
  setStatus(state.status);
  $("epoch").textContent = state.epoch.toLocaleString("en");
  $("rate").textContent = state.status === "playing" && state.epochs_per_second ? `${fmt(state.epochs_per_second, 3)} epochs/s` : "";
  $("updates").textContent = state.status === "playing" ? `${(stats.times.length / 2).toFixed(0)} updates/s` : "";
  if (state.message !== shownMessage) { shownMessage = state.message; showMessage(state.message); }
  $("notice").textContent = state.notice || "";
  $("notice").hidden = !state.notice;
  const play = $("play");
  const playing = state.status === "playing";
  play.innerHTML = playing ? "&#10074;&#10074; Pause" : "&#9654; Play";
  play.classList.toggle("pause", playing);
  fillForm();
  if (!problem || problem.run !== state.run) return;
  $("problem-title").textContent = problem.description.startsWith(problem.name) ?
    problem.description : `${problem.name}: ${problem.description}`;
  $("val-legend").hidden = !problem.n_val;
  $("problem-note").textContent = problem.note ? `Inputs: ${problem.note.replace(/^inputs:? ?/, "")}.` : "";
  renderRace();
  renderNetwork();
  renderScores();
  $("map-view").hidden = !state.map;
  $("curve-view").hidden = !state.curve;
  $("table-view").hidden = !state.table;
  if (state.map) renderMap();
  if (state.curve) renderCurve();
  if (state.table) renderTable();
  renderLoss();
  renderGradients();
  renderFindings();
}

function setStatus(status) {
  const pill = $("status");
  pill.textContent = status;
  pill.className = `pill ${status}`;
}

function renderRace() {
  const r = state.race;
  let text = "";
  if (r && r.running) text = `${r.copies} copies train together from different initial weights; showing the best so far (copy ${r.shown ?? 0}).`;
  else if (r) text = `${r.copies} copies trained together for ${r.epochs} epochs (${r.ended}); copy ${r.kept} was kept and trains on alone.`;
  $("race").textContent = text;
}

function renderScores() {
  const parts = [];
  const last = lastLoss();
  if (last[0] !== null) parts.push(`loss <b>${fmt(last[0])}</b>`);
  if (last[1] !== null && last[1] !== undefined) parts.push(`validation <b>${fmt(last[1])}</b>`);
  if (state.accuracy !== null) parts.push(`accuracy <b>${(100 * state.accuracy).toFixed(1)}%</b>`);
  if (state.val_accuracy !== null) parts.push(`validation <b>${(100 * state.val_accuracy).toFixed(1)}%</b>`);
  $("scores").innerHTML = parts.map((p) => `<span>${p}</span>`).join("");
  $("loss-now").textContent = last[0] === null ? "" : `now ${fmt(last[0])}${last[1] != null ? ` / ${fmt(last[1])}` : ""}`;
}

function lastLoss() {
  const y = state.loss.y;
  return y.length ? y[y.length - 1] : [null, null];
}

// the network: units in columns, edges coloured by sign and sized by |w|
let layout = null;
function renderNetwork() {
  const canvas = $("network"), net = state.network;
  const ctx = fitCanvas(canvas);
  const W = canvas.clientWidth, H = canvas.clientHeight;
  ctx.clearRect(0, 0, W, H);
  const sizes = net.sizes, L = sizes.length;
  const names = [...problem.features];
  const left = 64, right = 70, top = 22, bottom = 22;
  const xs = sizes.map((_, l) => left + (l * (W - left - right)) / Math.max(L - 1, 1));
  const gaps = sizes.map((n) => Math.min(58, (H - top - bottom) / Math.max(n, 1)));
  const radius = gaps.map((g) => Math.max(2.5, Math.min(19, g * 0.36)));
  const nodes = sizes.map((n, l) => Array.from({length: n}, (_, j) => ({x: xs[l], y: H / 2 + (j - (n - 1) / 2) * gaps[l], r: radius[l], l, j})));
  layout = {nodes, edges: []};
  const values = hovered ? forward(net, hovered.x) : null;
  $("network-title").textContent = `${sizes.join("-")} · ${net.activations.slice(0, -1)[0] || "no hidden layer"} hidden, ${net.activations[L - 2]} output, loss ${net.loss}`;
  // edges
  let wmax = 1e-9;
  net.weights.forEach((Wl) => Wl.forEach((row) => row.forEach((w) => { wmax = Math.max(wmax, Math.abs(w)); })));
  const thin = sizes.reduce((s, n, l) => (l ? s + n * sizes[l - 1] : s), 0) > 600;
  net.weights.forEach((Wl, l) => {
    Wl.forEach((row, i) => row.forEach((w, j) => {
      const a = nodes[l][i], b = nodes[l + 1][j], t = Math.abs(w) / wmax;
      ctx.strokeStyle = rgb(w >= 0 ? POS : NEG, thin ? 0.15 + 0.6 * t : 0.25 + 0.75 * t);
      ctx.lineWidth = thin ? 0.4 + 2 * t : 0.6 + 6 * t;
      ctx.beginPath(); ctx.moveTo(a.x, a.y); ctx.lineTo(b.x, b.y); ctx.stroke();
      layout.edges.push({a, b, w, l, i, j});
    }));
  });
  // units
  nodes.forEach((column, l) => column.forEach((node) => {
    const act = l ? net.activations[l - 1] : "input";
    let fill = "#f6f8fa", dark = false;
    if (values) {
      const v = values[l][node.j];
      const c = act === "sigmoid" || act === "softmax" ? mix(WHITE, POS, Math.max(0, Math.min(1, v))) : diverging(v);
      fill = rgb(c);
      dark = 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2] < 150;
      node.value = v;
    } else node.value = null;
    ctx.beginPath(); ctx.arc(node.x, node.y, node.r, 0, 2 * Math.PI);
    ctx.fillStyle = fill; ctx.fill();
    const health = l ? net.units[l - 1][node.j] : "";
    ctx.lineWidth = health ? 2.5 : 1.2;
    ctx.strokeStyle = health === "saturated" ? "#cf222e" : health === "dead" ? "#24292f" : "#57606a";
    ctx.setLineDash(health === "saturated" ? [3, 2] : []);
    ctx.stroke(); ctx.setLineDash([]);
    if (health === "dead") { ctx.fillStyle = "rgba(140,149,159,.55)"; ctx.fill(); }
    if (values && node.r >= 12) {
      ctx.fillStyle = dark ? "#ffffff" : "#1f2328"; ctx.font = "10px ui-monospace, monospace"; ctx.textAlign = "center"; ctx.textBaseline = "middle";
      const v = node.value;
      ctx.fillText(Math.abs(v) < 0.005 ? "0" : Math.abs(v) >= 100 ? v.toExponential(0) : v.toFixed(2), node.x, node.y);
    }
  }));
  // labels
  ctx.fillStyle = "#57606a"; ctx.font = "12px system-ui, sans-serif"; ctx.textBaseline = "middle";
  if (sizes[0] <= 16) {
    ctx.textAlign = "right";
    nodes[0].forEach((node, j) => ctx.fillText(names[j] || `x${j + 1}`, node.x - node.r - 6, node.y));
  }
  if (sizes[L - 1] <= 16) {
    ctx.textAlign = "left";
    nodes[L - 1].forEach((node, j) => ctx.fillText(problem.task === "multiclass" ? `p(${problem.classes[j]})` : "output", node.x + node.r + 6, node.y));
  }
  ctx.textAlign = "center"; ctx.fillStyle = "#8c959f"; ctx.font = "11px system-ui, sans-serif";
  xs.forEach((x, l) => ctx.fillText(l === 0 ? "inputs" : l === L - 1 ? "output layer" : `hidden ${l}`, x, H - 8));
}

function fitCanvas(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * ratio) || canvas.height !== Math.round(h * ratio)) {
    canvas.width = Math.round(w * ratio); canvas.height = Math.round(h * ratio);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  return ctx;
}

function networkTip(event) {
  if (!layout) return;
  const rect = $("network").getBoundingClientRect();
  const mx = event.clientX - rect.left, my = event.clientY - rect.top;
  const net = state.network;
  let text = null, unit = null;
  for (const column of layout.nodes) for (const node of column) {
    if (Math.hypot(node.x - mx, node.y - my) <= Math.max(node.r, 5) + 2) {
      if (node.l > 0) unit = {l: node.l, j: node.j};
      if (node.l === 0) text = `input ${problem.features[node.j] || node.j + 1}`;
      else {
        const health = net.units[node.l - 1][node.j];
        text = `layer ${node.l}, unit ${node.j + 1} (${net.activations[node.l - 1]})\nb = ${fmt(net.biases[node.l - 1][node.j], 5)}`;
        if (health) text += `\n${health}: ${health === "dead" ? "z <= 0 on every sample" : "f' below 7% of its maximum on 90% of samples"}`;
      }
      if (node.value !== null && node.value !== undefined) text += `\na = ${fmt(node.value, 5)} for the hovered sample`;
    }
  }
  if (!text) {
    let best = 4;
    for (const e of layout.edges) {
      const d = segmentDistance(mx, my, e.a, e.b);
      if (d < best) { best = d; text = `W_${e.l + 1}[${e.i + 1}, ${e.j + 1}] = ${fmt(e.w, 5)}\n(from ${e.l ? `unit ${e.i + 1} of layer ${e.l}` : `input ${problem.features[e.i] || e.i + 1}`} to unit ${e.j + 1} of layer ${e.l + 1})`; }
    }
  }
  showTip(text, mx, my);
  if (JSON.stringify(unit) !== JSON.stringify(hoveredUnit)) { hoveredUnit = unit; schedule(); }
}

function segmentDistance(px, py, a, b) {
  const dx = b.x - a.x, dy = b.y - a.y, len = dx * dx + dy * dy;
  const t = len ? Math.max(0, Math.min(1, ((px - a.x) * dx + (py - a.y) * dy) / len)) : 0;
  return Math.hypot(px - a.x - t * dx, py - a.y - t * dy);
}

function showTip(text, x, y) {
  const tip = $("tip");
  if (!text) { tip.hidden = true; return; }
  tip.textContent = text;
  tip.hidden = false;
  tip.style.left = `${Math.min(x + 14, $("network").clientWidth - 260)}px`;
  tip.style.top = `${y + 12}px`;
}

// the heat map of the output over two inputs, with the samples on top
const MAP_PAD = {left: 34, bottom: 26, top: 6, right: 6};
function mapGeometry(canvas) {
  const box = state.map.box, W = canvas.clientWidth, H = canvas.clientHeight;
  const w = W - MAP_PAD.left - MAP_PAD.right, h = H - MAP_PAD.top - MAP_PAD.bottom;
  return {
    box, w, h,
    px: (x) => MAP_PAD.left + ((x - box[0][0]) / (box[0][1] - box[0][0])) * w,
    py: (y) => MAP_PAD.top + ((box[1][1] - y) / (box[1][1] - box[1][0])) * h,
    ix: (px) => box[0][0] + ((px - MAP_PAD.left) / w) * (box[0][1] - box[0][0]),
    iy: (py) => box[1][1] - ((py - MAP_PAD.top) / h) * (box[1][1] - box[1][0]),
  };
}

// one hidden unit's activation over the input plane, while the unit is hovered (as in
// TensorFlow Playground): what does this unit respond to?
let unitCache = {key: "", values: null};
function unitGrid(m, unit) {
  const key = `${state.version}:${unit.l}:${unit.j}`;
  if (unitCache.key === key) return unitCache.values;
  const net = state.network, n = m.size, box = m.box, values = new Float64Array(n * n);
  const part = {weights: net.weights.slice(0, unit.l), biases: net.biases.slice(0, unit.l), activations: net.activations.slice(0, unit.l)};
  let top = 1e-12;
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) {
    const x = [box[0][0] + ((c + 0.5) * (box[0][1] - box[0][0])) / n, box[1][1] - ((r + 0.5) * (box[1][1] - box[1][0])) / n];
    const a = forward(part, x)[unit.l][unit.j];
    values[r * n + c] = a;
    top = Math.max(top, Math.abs(a));
  }
  const name = net.activations[unit.l - 1];
  const scale = name === "sigmoid" || name === "softmax" ? (v) => 2 * v - 1 : name === "tanh" ? (v) => v : (v) => v / top;
  unitCache = {key, values: Array.from(values, scale)};
  return unitCache.values;
}

const cells = document.createElement("canvas");
function renderMap() {
  const canvas = $("map"), ctx = fitCanvas(canvas), m = state.map, g = mapGeometry(canvas);
  const n = m.size, unit = hoveredUnit && hoveredUnit.l < state.network.sizes.length ? hoveredUnit : null;
  cells.width = n; cells.height = n;
  const cctx = cells.getContext("2d"), image = cctx.createImageData(n, n);
  const unitValues = unit ? unitGrid(m, unit) : null;
  $("map-caption").textContent = unit
    ? `Unit ${unit.j + 1} of ${unit.l === state.network.sizes.length - 1 ? "the output layer" : `hidden layer ${unit.l}`}: its activation over the inputs (blue high, orange low).`
    : `The network's output over the inputs; points: training samples${problem.n_val ? ", rings: validation samples" : ""}.`;
  for (let k = 0; k < n * n; k++) {
    const v = m.values[k] / 1000;
    let c;
    if (unitValues) c = diverging(unitValues[k] * 0.85);
    else if (m.kind === "multiclass") c = mix(WHITE, hex(PALETTE[m.cls[k] % PALETTE.length]), Math.max(0, (v - 1 / problem.classes.length) / (1 - 1 / problem.classes.length)) * 0.75);
    else c = diverging((2 * v - 1) * 0.85);
    image.data.set([...c, 255], 4 * k);
  }
  cctx.putImageData(image, 0, 0);
  ctx.clearRect(0, 0, canvas.clientWidth, canvas.clientHeight);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(cells, MAP_PAD.left, MAP_PAD.top, g.w, g.h);
  ctx.strokeStyle = "#d0d7de"; ctx.strokeRect(MAP_PAD.left, MAP_PAD.top, g.w, g.h);
  axes(ctx, g, problem.features);
  const point = (p, hollow) => {
    const x = g.px(p[0]), y = g.py(p[1]), label = p[p.length - 1];
    const color = problem.task === "multiclass" ? PALETTE[label % PALETTE.length] : problem.task === "regression" ? rgb(diverging(Math.tanh(label))) : label > 0.5 ? "#0877bd" : "#e8740c";
    ctx.beginPath(); ctx.arc(x, y, problem.train.length > 300 ? 2.6 : 4, 0, 2 * Math.PI);
    if (hollow) { ctx.strokeStyle = color; ctx.lineWidth = 1.6; ctx.stroke(); }
    else { ctx.fillStyle = color; ctx.fill(); ctx.strokeStyle = "#fff"; ctx.lineWidth = 1; ctx.stroke(); }
  };
  problem.train.forEach((p) => point(p, false));
  problem.val.forEach((p) => point(p, true));
  if (hovered) {
    ctx.beginPath(); ctx.arc(g.px(hovered.x[0]), g.py(hovered.x[1]), 8, 0, 2 * Math.PI);
    ctx.strokeStyle = "#1f2328"; ctx.lineWidth = 2; ctx.stroke();
  }
}

function hex(color) { return [1, 3, 5].map((i) => parseInt(color.slice(i, i + 2), 16)); }

function axes(ctx, g, names) {
  ctx.fillStyle = "#57606a"; ctx.font = "11px system-ui, sans-serif";
  ctx.textAlign = "center"; ctx.textBaseline = "top";
  for (const t of ticks(g.box[0][0], g.box[0][1], 5)) ctx.fillText(fmt(t, 2), g.px(t), MAP_PAD.top + g.h + 3);
  ctx.fillText(names[0] || "x1", MAP_PAD.left + g.w - 12, MAP_PAD.top + g.h + 13);
  ctx.textAlign = "right"; ctx.textBaseline = "middle";
  for (const t of ticks(g.box[1][0], g.box[1][1], 5)) ctx.fillText(fmt(t, 2), MAP_PAD.left - 4, g.py(t));
  ctx.save(); ctx.translate(10, MAP_PAD.top + 14); ctx.rotate(-Math.PI / 2); ctx.textAlign = "right"; ctx.fillText(names[1] || "x2", 0, 0); ctx.restore();
}

function ticks(low, high, count) {
  const step0 = (high - low) / count, mag = Math.pow(10, Math.floor(Math.log10(step0)));
  const step = [1, 2, 5, 10].map((s) => s * mag).find((s) => s >= step0) || step0;
  const out = [];
  for (let t = Math.ceil(low / step) * step; t <= high + 1e-9; t += step) out.push(Math.abs(t) < 1e-12 ? 0 : t);
  return out;
}

function nearestSample(points, dist) {
  let best = null, bestD = 9;
  points.forEach((p, index) => { const d = dist(p); if (d < bestD) { bestD = d; best = index; } });
  return best;
}

function mapHover(event, click) {
  if (!state || !state.map || !problem) return;
  const canvas = $("map"), rect = canvas.getBoundingClientRect(), g = mapGeometry(canvas);
  const mx = event.clientX - rect.left, my = event.clientY - rect.top;
  const d = (p) => Math.hypot(g.px(p[0]) - mx, g.py(p[1]) - my);
  const i = nearestSample(problem.train, d);
  if (i !== null) hovered = {x: problem.train[i].slice(0, -1), index: i};
  else {
    const v = nearestSample(problem.val, d);
    hovered = v !== null ? {x: problem.val[v].slice(0, -1), index: null} : {x: [g.ix(mx), g.iy(my)], index: null};
  }
  if (click && hovered.index !== null) openWorked(hovered.index);
  schedule();
}

// the output over one input
function renderCurve() {
  const canvas = $("curve"), ctx = fitCanvas(canvas), c = state.curve;
  const W = canvas.clientWidth, H = canvas.clientHeight, pad = {l: 34, r: 8, t: 8, b: 24};
  const box = state.curveBox = [[c.x[0], c.x[c.x.length - 1]]];
  const ys = [...c.y.flat(), ...problem.train.map((p) => p[1])];
  let lo = Math.min(...ys), hi = Math.max(...ys);
  if (problem.task !== "regression") { lo = Math.min(lo, 0); hi = Math.max(hi, 1); }
  const px = (x) => pad.l + ((x - box[0][0]) / (box[0][1] - box[0][0])) * (W - pad.l - pad.r);
  const py = (y) => pad.t + ((hi - y) / (hi - lo || 1)) * (H - pad.t - pad.b);
  state.curveMap = {px, py};
  ctx.clearRect(0, 0, W, H);
  ctx.strokeStyle = "#d0d7de"; ctx.strokeRect(pad.l, pad.t, W - pad.l - pad.r, H - pad.t - pad.b);
  if (problem.task !== "regression") {
    ctx.setLineDash([4, 3]); ctx.beginPath(); ctx.moveTo(pad.l, py(0.5)); ctx.lineTo(W - pad.r, py(0.5)); ctx.stroke(); ctx.setLineDash([]);
  }
  c.y.forEach((series, k) => {
    ctx.strokeStyle = c.y.length > 1 ? PALETTE[k % PALETTE.length] : "#0877bd"; ctx.lineWidth = 2; ctx.beginPath();
    series.forEach((y, i) => (i ? ctx.lineTo(px(c.x[i]), py(y)) : ctx.moveTo(px(c.x[i]), py(y))));
    ctx.stroke();
  });
  problem.train.forEach((p, i) => {
    ctx.beginPath(); ctx.arc(px(p[0]), py(problem.task === "multiclass" ? 1 : p[1]), hovered && hovered.index === i ? 6 : 4, 0, 2 * Math.PI);
    ctx.fillStyle = p[1] > 0.5 ? "#0877bd" : "#e8740c"; ctx.fill(); ctx.strokeStyle = "#fff"; ctx.stroke();
  });
  ctx.fillStyle = "#57606a"; ctx.font = "11px system-ui, sans-serif"; ctx.textAlign = "right"; ctx.textBaseline = "middle";
  for (const t of ticks(lo, hi, 4)) ctx.fillText(fmt(t, 2), pad.l - 4, py(t));
  ctx.textAlign = "center"; ctx.textBaseline = "top";
  for (const t of ticks(box[0][0], box[0][1], 5)) ctx.fillText(fmt(t, 2), px(t), H - pad.b + 3);
}

function curveHover(event, click) {
  if (!state || !state.curveMap || !problem) return;
  const rect = $("curve").getBoundingClientRect(), mx = event.clientX - rect.left, my = event.clientY - rect.top;
  const {px, py} = state.curveMap;
  const i = nearestSample(problem.train, (p) => Math.hypot(px(p[0]) - mx, py(p[1]) - my));
  hovered = i !== null ? {x: [problem.train[i][0]], index: i} : null;
  if (click && i !== null) openWorked(i);
  schedule();
}

// the truth table: every training row, its target, the output, right or not
function renderTable() {
  const table = $("truth"), t = state.table, net = state.network;
  const nIn = net.sizes[0], outs = t.outputs;
  if (table.dataset.run !== String(state.run)) {
    const cols = problem.features.map((f) => `<th>${escape(f)}</th>`).join("");
    const outHead = problem.task === "multiclass" ? "class (p)" : "output";
    let html = `<thead><tr><th>#</th>${cols}<th>target</th><th>${outHead}</th><th>right</th></tr></thead><tbody>`;
    problem.train.forEach((p, i) => {
      const xs = p.slice(0, nIn).map((v) => `<td>${fmt(v, 3)}</td>`).join("");
      const target = problem.task === "regression" ? fmt(p[nIn], 3) : problem.classes[p[nIn]] ?? fmt(p[nIn]);
      html += `<tr class="row" data-index="${i}"><td class="muted">${i}</td>${xs}<td>${escape(String(target))}</td><td class="out"></td><td class="right"></td></tr>`;
    });
    table.innerHTML = html + "</tbody>";
    table.dataset.run = String(state.run);
  }
  const rows = table.tBodies[0].rows;
  for (let i = 0; i < rows.length; i++) {
    const o = outs[i], cellOut = rows[i].cells[nIn + 2], cellRight = rows[i].cells[nIn + 3];
    if (problem.task === "multiclass") {
      const k = o.indexOf(Math.max(...o));
      cellOut.textContent = `${problem.classes[k]} (${o[k].toFixed(3)})`;
    } else {
      cellOut.textContent = o[0].toFixed(3);
      const bar = document.createElement("span");
      bar.className = "bar";
      bar.style.width = `${Math.round(30 * Math.max(0, Math.min(1, o[0])))}px`;  // (CSP: no inline style attributes)
      cellOut.appendChild(bar);
    }
    const right = t.right[i];
    cellRight.textContent = right ? "yes" : "no";
    cellRight.className = `right right-${right ? "yes" : "no"}`;
    rows[i].classList.toggle("hovered", !!hovered && hovered.index === i);
  }
  table.dataset.allRight = String(t.all_right);
}

function escape(text) { return text.replace(/[&<>"]/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c])); }

// line charts with a log scale: the losses, the gradient norms
function chart(canvas, series, options) {
  const ctx = fitCanvas(canvas), W = canvas.clientWidth, H = canvas.clientHeight;
  const pad = {l: 52, r: 10, t: 8, b: 24};
  ctx.clearRect(0, 0, W, H);
  const xs = series.x;
  const all = series.lines.flatMap((line) => line.values.filter((v) => v !== null && v > 0));
  if (!xs.length || !all.length) {
    ctx.fillStyle = "#8c959f"; ctx.font = "12px system-ui, sans-serif"; ctx.textAlign = "center";
    ctx.fillText(options.empty, W / 2, H / 2);
    return;
  }
  let lo = Math.log10(Math.min(...all)), hi = Math.log10(Math.max(...all));
  if (hi - lo < 0.5) { lo -= 0.25; hi += 0.25; }
  const x0 = Math.min(0, xs[0]), x1 = Math.max(xs[xs.length - 1], 1);
  const px = (x) => pad.l + ((x - x0) / (x1 - x0 || 1)) * (W - pad.l - pad.r);
  const py = (v) => pad.t + ((hi - Math.log10(v)) / (hi - lo)) * (H - pad.t - pad.b);
  ctx.strokeStyle = "#eef0f2"; ctx.fillStyle = "#57606a"; ctx.font = "11px system-ui, sans-serif";
  ctx.textAlign = "right"; ctx.textBaseline = "middle";
  const every = Math.max(1, Math.ceil((Math.floor(hi) - Math.ceil(lo)) / 5));
  for (let e = Math.ceil(lo); e <= Math.floor(hi); e += every) {
    ctx.beginPath(); ctx.moveTo(pad.l, py(10 ** e)); ctx.lineTo(W - pad.r, py(10 ** e)); ctx.stroke();
    ctx.fillText(e === 0 ? "1" : `1e${e}`, pad.l - 5, py(10 ** e));
  }
  ctx.textAlign = "center"; ctx.textBaseline = "top";
  for (const t of new Set(ticks(x0, x1, 5).map(Math.round))) ctx.fillText(t.toLocaleString("en"), px(t), H - pad.b + 4);
  ctx.fillText("epoch", W - pad.r - 16, H - 11);
  ctx.strokeStyle = "#d0d7de"; ctx.strokeRect(pad.l, pad.t, W - pad.l - pad.r, H - pad.t - pad.b);
  for (const line of series.lines) {
    ctx.strokeStyle = line.color; ctx.lineWidth = 1.8; ctx.setLineDash(line.dash || []);
    ctx.beginPath();
    let started = false;
    line.values.forEach((v, i) => {
      if (v === null || !(v > 0)) { started = false; return; }
      if (started) ctx.lineTo(px(xs[i]), py(v)); else { ctx.moveTo(px(xs[i]), py(v)); started = true; }
    });
    ctx.stroke(); ctx.setLineDash([]);
    if (line.values.filter((v) => v > 0).length === 1) {  // a single point: a dot
      const i = line.values.findIndex((v) => v > 0);
      ctx.fillStyle = line.color; ctx.beginPath(); ctx.arc(px(xs[i]), py(line.values[i]), 2.5, 0, 2 * Math.PI); ctx.fill();
    }
  }
}

function renderLoss() {
  const s = state.loss;
  chart($("loss"), {x: s.x, lines: [
    {values: s.y.map((v) => v[0]), color: "#24292f"},
    {values: s.y.map((v) => v[1]), color: "#e8740c", dash: [5, 3]},
  ]}, {empty: "press Play or One epoch to train"});
}

function renderGradients() {
  const g = state.gradient_norms, L = state.network.sizes.length - 1;
  const lines = Array.from({length: L}, (_, l) => ({values: g.y.map((v) => v[l]), color: PALETTE[l % PALETTE.length]}));
  chart($("gradients"), {x: g.x, lines}, {empty: "gradient norms appear while training"});
  const legend = $("gradient-legend");
  const key = `${state.run}:${L}`;
  if (legend.dataset.key !== key) {
    legend.innerHTML = lines.map((_, l) => `<span><i class="swatch"></i>layer ${l + 1}</span>`).join("") + '<span class="muted">log scale; at the last step of each epoch</span>';
    legend.querySelectorAll(".swatch").forEach((swatch, l) => { swatch.style.background = lines[l].color; });
    legend.dataset.key = key;
  }
}

function renderFindings() {
  const f = state.findings;
  const group = (title, part, waiting) => {
    let body;
    if (part.status === "running") body = `<p class="muted">${waiting}</p>`;
    else if (part.status === "waiting") body = `<p class="muted">${waiting}</p>`;
    else if (part.status === "failed") body = `<p class="muted">the doctor could not run: ${escape(part.message || "")}</p>`;
    else body = part.items.map((item) => `<div class="finding ${item.severity}"><span class="severity">${item.severity}</span><span class="code">${escape(item.code)}</span><div class="msg">${escape(item.message)}</div><div class="fix">${escape(item.hint)}</div></div>`).join("");
    return `<div class="findings-group"><h3>${title}</h3>${body}</div>`;
  };
  const html = group("Before training: data, network, short probes on a copy", f.before, "examining the data and probing a copy of the network…") +
    group(`During this run${f.run.epoch ? ` (at epoch ${f.run.epoch.toLocaleString("en")})` : ""}`, f.run, "the doctor looks at the run every few seconds of training");
  const box = $("findings");
  if (box.dataset.html !== html) { box.innerHTML = html; box.dataset.html = html; }
}

// -- the settings form -------------------------------------------------------------------------------
const form = $("settings");
function fillForm() {
  const s = state.settings, key = JSON.stringify(s);
  if (formRun === state.run && formSettings === key) return;
  if (form.contains(document.activeElement) && formRun === state.run) return;  // being edited
  formRun = state.run; formSettings = key;
  const problems = form.elements.problem;
  problems.innerHTML = state.problems.map((p) => `<option>${escape(p)}</option>`).join("");
  problems.value = s.problem;
  form.elements.layers.value = s.layers.join(",");
  form.elements.activation.value = s.activation;
  const losses = problem && problem.run === state.run ? problem.losses : [s.loss];
  form.elements.loss.innerHTML = losses.map((l) => `<option>${l}</option>`).join("");
  form.elements.loss.value = s.loss;
  form.elements.optimizer.value = s.optimizer;
  form.elements.learning_rate.value = s.learning_rate ?? "";
  form.elements.batch_size.value = s.batch_size ?? "";
  form.elements.restarts.value = s.restarts;
  form.elements.seed.value = s.seed;
  form.elements.speed.value = s.speed === null ? "max" : String(s.speed);
  if (form.elements.speed.value === "") form.elements.speed.value = "max";
  clearErrors();
}

function clearErrors() {
  form.querySelectorAll("[data-error]").forEach((e) => { e.textContent = ""; });
  form.querySelectorAll(".invalid").forEach((e) => e.classList.remove("invalid"));
}

async function applySetting(name) {
  const value = form.elements[name].value;
  const payload = {[name]: value};
  clearErrors();
  try {
    await api("/api/settings", payload);
    showMessage("");
    formSettings = "";  // take the server's settings at the next update
    if (name === "problem") { formRun = -1; }
  } catch (error) {
    const field = error.field || "";
    const box = form.querySelector(`[data-error="${field}"]`) || form.querySelector('[data-error=""]');
    box.textContent = error.message;
    if (form.elements[field]) form.elements[field].classList.add("invalid");
  }
}

form.addEventListener("change", (event) => { if (event.target.name) applySetting(event.target.name); });
form.addEventListener("submit", (event) => event.preventDefault());
form.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && event.target.name) { event.preventDefault(); event.target.blur(); }
});

// -- the worked backward pass -------------------------------------------------------------------------
async function openWorked(index) {
  workedIndex = index;
  lastSample = index;
  const panel = $("worked");
  panel.hidden = false;
  try {
    const data = await api("/api/sample", {index});
    renderWorked(data);
  } catch (error) {
    $("worked-body").innerHTML = `<p class="check failed">${escape(error.message)}</p>`;
  }
}

function nums(values, q, l, cls = "") {
  // a row vector or a matrix, each number with its full value in data-value
  const matrix = Array.isArray(values[0]);
  const rows = matrix ? values : [values];
  const limit = 12, shownRows = rows.slice(0, limit);
  let html = `<table class="nums ${cls}" data-q="${q}" data-l="${l}">`;
  if (matrix) html += `<tr><th></th>${shownRows[0].slice(0, limit).map((_, j) => `<th>${j + 1}</th>`).join("")}</tr>`;
  shownRows.forEach((row, i) => {
    html += "<tr>" + (matrix ? `<th>${i + 1}</th>` : "");
    row.slice(0, limit).forEach((v, j) => {
      html += `<td class="${v < 0 ? "neg" : v > 0 ? "pos" : ""}" data-i="${matrix ? i : 0}" data-j="${j}" data-value="${v}" title="${q}[${matrix ? `${i + 1}, ` : ""}${j + 1}] = ${v}">${fmt(v, 6)}</td>`;
    });
    html += "</tr>";
  });
  html += "</table>";
  if (rows.length > limit || rows[0].length > limit) html += `<div class="truncated">showing ${Math.min(rows.length, limit)} x ${Math.min(rows[0].length, limit)} of ${rows.length} x ${rows[0].length}</div>`;
  return html;
}

function step(formula, note, values, q, l) {
  return `<div class="step"><div class="formula">${escape(formula)}${note ? `<small>${escape(note)}</small>` : ""}</div><div>${nums(values, q, l)}</div></div>`;
}

function renderWorked(data) {
  const w = data.worked, L = w.layers.length;
  $("worked-which").textContent = `sample ${data.index} of ${data.n}`;
  const names = problem ? problem.features : [];
  let html = `<div class="notation">forward:   Z_l = A_{l-1} W_l + b_l,   A_l = f_l(Z_l)          (A_0 = x)
output:    dZ_L = dLoss/dZ_L                                  (from the loss)
backward:  dW_l = A_{l-1}^T dZ_l,     db_l = sum_i dZ_l
           dZ_{l-1} = (dZ_l W_l^T) * f'_{l-1}(Z_{l-1})
           (with W_l as it was in the forward pass)</div>`;
  html += `<p>Sample ${data.index}: x = (${w.x.map((v, i) => `${names[i] || `x${i + 1}`} = ${fmt(v, 6)}`).join(", ")}), target Y = (${w.target.map((v) => fmt(v, 6)).join(", ")}); weights at epoch ${data.epoch.toLocaleString("en")}. One sample: every Z, A and dZ is a row vector.</p>`;
  html += "<h3>Forward pass</h3>";
  html += step("A_0 = x", "the inputs", w.x, "A0", 0);
  w.layers.forEach((layer) => {
    const l = layer.index;
    html += `<h3>Layer ${l} <span class="muted">${layer.activation}, ${layer.W.length} → ${layer.b.length} units</span></h3>`;
    html += step(`W_${l}`, `weights (${layer.W.length} x ${layer.b.length}), row i: from input i`, layer.W, "W", l);
    html += step(`b_${l}`, "biases", layer.b, "b", l);
    html += step(layer.formulas.Z, "net input of each unit", layer.Z, "Z", l);
    html += step(layer.formulas.A, "its activation", layer.A, "A", l);
  });
  html += `<h3>Loss <span class="muted">${w.loss_name}</span></h3>`;
  html += step("Y", "the target", w.target, "Y", L);
  html += step(w.loss_formula, "the loss of this sample", [w.loss], "loss", L);
  html += "<h3>Backward pass</h3>";
  for (let k = L - 1; k >= 0; k--) {
    const layer = w.layers[k], l = layer.index;
    html += `<h3>Layer ${l} <span class="muted">${layer.activation}</span></h3>`;
    if (l === L && layer.fprime) html += step(layer.formulas.fprime, "the output's slope", layer.fprime, "fprime", l);
    if (l < L) {
      html += step(w.layers[k + 1].formulas.dA_prev, "error reaching this layer's outputs", w.layers[k + 1].dA_prev, "dA", l);
      html += step(layer.formulas.fprime, "slope of the activation", layer.fprime, "fprime", l);
    }
    html += step(layer.formulas.dZ, l === L ? `the output error (delta), from the loss: ${w.note}` : "the error of each unit (delta)", layer.dZ, "dZ", l);
    html += step(layer.formulas.dW, "gradient of the weights", layer.dW, "dW", l);
    html += step(layer.formulas.db, "gradient of the biases", layer.db, "db", l);
  }
  const exact = data.difference === 0;
  html += `<div class="check ${data.difference < 1e-9 ? "" : "failed"}" id="worked-check">Check: these dW and db are net.gradients(x, y) for this one sample${exact ? ", exactly" : `, to within ${fmt(data.difference, 2)}`}.</div>`;
  html += '<p class="hint">Then the optimizer updates every W_l and b_l at once (SGD: W_l ← W_l − learning rate × dW_l; with a batch, the gradients are averaged over its samples).</p>';
  const body = $("worked-body");
  body.innerHTML = html;
  body.dataset.index = String(data.index);
  body.dataset.epoch = String(data.epoch);
  window.playground.worked = data;
}

// -- events ---------------------------------------------------------------------------------------
$("play").addEventListener("click", () => command(state && state.status === "playing" ? "pause" : "play"));
$("epoch-button").addEventListener("click", () => command("epoch"));
$("reset").addEventListener("click", () => command("reset"));
$("sample-button").addEventListener("click", () => {
  const n = problem ? problem.train.length : 1;
  openWorked(hovered && hovered.index !== null ? hovered.index : (lastSample + 1) % n);
});
$("worked-close").addEventListener("click", () => { $("worked").hidden = true; });
$("worked-prev").addEventListener("click", () => { if (problem && workedIndex !== null) openWorked((workedIndex - 1 + problem.train.length) % problem.train.length); });
$("worked-next").addEventListener("click", () => { if (problem && workedIndex !== null) openWorked((workedIndex + 1) % problem.train.length); });
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") $("worked").hidden = true;
  if (event.key === " " && !["INPUT", "SELECT", "BUTTON"].includes(document.activeElement.tagName)) {
    event.preventDefault(); $("play").click();
  }
});
$("network").addEventListener("mousemove", networkTip);
$("network").addEventListener("mouseleave", () => { showTip(null); hoveredUnit = null; schedule(); });
$("map").addEventListener("mousemove", (e) => mapHover(e, false));
$("map").addEventListener("click", (e) => mapHover(e, true));
$("map").addEventListener("mouseleave", () => { hovered = null; schedule(); });
$("curve").addEventListener("mousemove", (e) => curveHover(e, false));
$("curve").addEventListener("click", (e) => curveHover(e, true));
$("truth").addEventListener("mouseover", (event) => {
  const row = event.target.closest("tr.row");
  if (!row || !problem) return;
  const i = Number(row.dataset.index);
  hovered = {x: problem.train[i].slice(0, state.network.sizes[0]), index: i};
  schedule();
});
$("truth").addEventListener("mouseleave", () => { hovered = null; schedule(); });
$("truth").addEventListener("click", (event) => {
  const row = event.target.closest("tr.row");
  if (row) openWorked(Number(row.dataset.index));
});
window.addEventListener("resize", schedule);
connect();
