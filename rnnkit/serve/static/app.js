// rnnkit's web page: lists the served models and gives each task a form. No framework, no CDN: works offline.
"use strict";

const INPUT_LABELS = {
  classify: "Text to classify",
  lm: "Prompt to continue",
  sequence: "A sequence as JSON: a list of time steps, each a list of numbers",
  forecast: "A series: its values in order, separated by commas or spaces (or JSON: {\"values\": [...], \"freq\": \"monthly\"})",
  translate: "Text to translate",
  asr: "A recording to transcribe: a file, or record one from the microphone",
};
const SVG = "http://www.w3.org/2000/svg";

function el(tag, attrs = {}, text = "") {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text) e.textContent = text;
  return e;
}

async function errorText(response) {
  try {
    const body = await response.json();
    return body.error || JSON.stringify(body);
  } catch (e) {
    return `${response.status} ${response.statusText}`;
  }
}

function showBars(container, probabilities, labels) {
  container.replaceChildren();
  const entries = labels.map((label, i) => [String(label), probabilities[i]]);
  const best = Math.max(...entries.map(([, p]) => p));
  for (const [label, p] of entries) {
    const row = el("div", { class: "bar-row" + (p === best ? " top" : ""), "data-testid": "bar" });
    row.append(el("span", { class: "label" }, label));
    const bar = el("div", { class: "bar" });
    const fill = el("span");
    fill.style.width = `${(100 * p).toFixed(1)}%`;
    bar.append(fill);
    row.append(bar, el("span", { class: "value" }, `${(100 * p).toFixed(1)}%`));
    container.append(row);
  }
}

async function streamGeneration(model, prompt, options, out) {
  out.replaceChildren();
  const pre = el("pre", { class: "generated", "data-testid": "generated" });
  pre.append(el("span", { class: "prompt" }, prompt));
  const text = document.createTextNode("");
  pre.append(text);
  out.append(pre);
  const response = await fetch(`/v1/models/${encodeURIComponent(model.name)}/generate`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ prompt, options }),
  });
  if (!response.ok) throw new Error(await errorText(response));
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const kind = (event.match(/^event: (.*)$/m) || [])[1] || "message";
      const data = (event.match(/^data: (.*)$/m) || [])[1];
      if (kind === "error") throw new Error(JSON.parse(data).error);
      if (kind === "done") { pre.dataset.done = "true"; return; }
      text.textContent += JSON.parse(data).text;
    }
  }
}

function parseJSON(text) {
  try { return JSON.parse(text); } catch (e) { throw new Error(`not valid JSON: ${e.message}`); }
}

// A forecast card's input: numbers separated by commas, spaces or semicolons, or JSON (a list, or an object with
// "values" and optionally "freq", "horizon", "quantiles").
function parseSeries(text) {
  const t = text.trim();
  if (t.startsWith("[") || t.startsWith("{")) return parseJSON(t);
  const parts = t.split(/[\s,;]+/).filter(Boolean);
  const values = parts.map(Number);
  const bad = values.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new Error(`value ${bad + 1}: '${parts[bad]}' is not a number`);
  return values;
}

function svgEl(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

// The history (its last 60 values), the point forecast and the band between the outermost quantiles, as an SVG
// chart, then a table of the forecast steps.
function showForecast(container, history, output) {
  container.replaceChildren();
  const levels = Object.keys(output.quantiles || {}).sort((a, b) => Number(a) - Number(b));
  const past = history.slice(-60);
  const h = output.forecast.length;
  const low = levels.length ? output.quantiles[levels[0]] : output.forecast;
  const high = levels.length ? output.quantiles[levels[levels.length - 1]] : output.forecast;
  const all = past.concat(output.forecast, low, high).filter(Number.isFinite);
  let lo = Math.min(...all), hi = Math.max(...all);
  if (hi === lo) { hi += 1; lo -= 1; }
  const W = 640, H = 220, pad = 8, n = past.length + h;
  const x = (i) => pad + (W - 2 * pad) * (n > 1 ? i / (n - 1) : 0.5);
  const y = (v) => pad + (H - 2 * pad) * (1 - (v - lo) / (hi - lo));
  const line = (vals, start) => vals.map((v, i) => `${x(start + i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
  const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, class: "forecast-chart", "data-testid": "forecast-chart",
                             role: "img", "aria-label": `history and a ${h}-step forecast` });
  const lowBack = low.map((v, i) => `${x(past.length + i).toFixed(1)},${y(v).toFixed(1)}`).reverse().join(" ");
  if (levels.length) svg.append(svgEl("polygon", { points: `${line(high, past.length)} ${lowBack}`, class: "band" }));
  if (past.length) svg.append(svgEl("polyline", { points: line(past, 0), class: "history" }));
  const joined = past.length ? [past[past.length - 1]].concat(output.forecast) : output.forecast;
  svg.append(svgEl("polyline", { points: line(joined, past.length ? past.length - 1 : 0), class: "forecast" }));
  container.append(svg);
  const table = el("table", { class: "forecast-table" });
  const head = el("tr");
  for (const name of ["step", "forecast", ...levels.map((l) => `q${l}`)]) head.append(el("th", {}, name));
  table.append(head);
  output.forecast.forEach((v, i) => {
    const row = el("tr", { "data-testid": "forecast-row" });
    row.append(el("td", {}, String(output.steps[i])), el("td", {}, v.toPrecision(6)));
    for (const l of levels) row.append(el("td", {}, output.quantiles[l][i].toPrecision(6)));
    table.append(row);
  });
  container.append(table);
}

function optionInputs(model, container) {
  if (model.task === "forecast") {
    const horizon = el("input", { type: "number", name: "horizon", min: "1", step: "1", placeholder: "default" });
    const hl = el("label", {}, "horizon ");
    hl.append(horizon);
    container.append(hl);
    // a model trained on dated series reads the season's phase from the dates: the first value's date is asked for
    let start = null;
    if (model.needs_dates) {
      start = el("input", { type: "text", name: "start", placeholder: "e.g. 2024-01-01", size: "16",
                            "aria-label": "the first value's date" });
      const sl = el("label", {}, "first value's date ");
      sl.append(start);
      container.append(sl);
    }
    const freqs = model.frequencies || [];
    let freq = null;
    if (freqs.length > 1) {
      freq = el("select", { name: "freq" });
      for (const f of freqs) freq.append(el("option", { value: f }, f));
      const fl = el("label", {}, "frequency ");
      fl.append(freq);
      container.append(fl);
    }
    return () => {
      const o = {};
      if (horizon.value !== "") o.horizon = Number(horizon.value);
      if (freq) o.freq = freq.value;
      if (start && start.value.trim() !== "") o.start = start.value.trim();
      return o;
    };
  }
  if (model.task !== "lm") return () => ({});
  const fields = [["length", 200, "1"], ["temperature", 0.8, "0.1"], ["seed", 0, "1"]];
  const inputs = {};
  for (const [name, value, step] of fields) {
    const label = el("label", {}, `${name} `);
    const input = el("input", { type: "number", name, value: String(value), step, min: "0" });
    label.append(input);
    container.append(label);
    inputs[name] = input;
  }
  return () => Object.fromEntries(Object.entries(inputs).map(([k, i]) => [k, Number(i.value)]));
}

function renderCard(model) {
  const card = document.getElementById("card").content.firstElementChild.cloneNode(true);
  card.dataset.model = model.name;
  card.dataset.task = model.task;
  card.querySelector(".name").textContent = model.name;
  card.querySelector(".task").textContent = model.task;
  card.querySelector(".summary").textContent = `${model.summary}: ${model.input} → ${model.output}.`;
  card.querySelector(".input-label").textContent = INPUT_LABELS[model.task] || "Input";
  const textarea = card.querySelector("textarea");
  if (model.task === "sequence") textarea.placeholder = "[[0.1, 0.2], [0.3, 0.4]]";
  if (model.task === "forecast") textarea.placeholder = "112, 118, 132, 129, 121, 135, 148, 148, 136, 119, 104, 118";
  let audio = null, recorder = null;
  if (model.task === "asr") {  // a recording instead of text: a file, or the microphone (recorder.js)
    textarea.hidden = true;
    textarea.required = false;
    audio = el("input", { type: "file", name: "audio", accept: "audio/*,.wav,.flac,.ogg,.mp3,.webm,.m4a" });
    recorder = recorderControls(() => { audio.value = ""; });  // a new recording replaces a chosen file
    audio.addEventListener("change", () => recorder.clear());
    textarea.after(audio, recorder.element);
  }
  const options = optionInputs(model, card.querySelector(".options"));
  const error = card.querySelector(".error");
  const result = card.querySelector(".result");
  const button = card.querySelector("button[type=submit]");
  button.textContent = { classify: "Classify", lm: "Generate", sequence: "Predict", forecast: "Forecast",
                         translate: "Translate", asr: "Transcribe" }[model.task] || "Run";

  card.querySelector("form").addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    button.disabled = true;
    try {
      if (model.task === "lm") {
        await streamGeneration(model, textarea.value, options(), result);
      } else {
        let input = textarea.value;
        if (model.task === "sequence") {
          input = parseJSON(input);
        } else if (model.task === "forecast") {
          input = parseSeries(input);
        } else if (audio) {
          if (audio.files.length) {
            input = await audioFileBase64(audio.files[0]);
          } else if (recorder.recording()) {
            input = recorder.recording();
          } else {
            throw new Error("choose a recording (WAV, FLAC, OGG, MP3, M4A, WebM …) or record one");
          }
        }
        const response = await fetch(`/v1/models/${encodeURIComponent(model.name)}/predict`, {
          method: "POST", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ inputs: [input], options: options() }),
        });
        if (!response.ok) throw new Error(await errorText(response));
        const output = (await response.json()).outputs[0];
        if (model.task === "forecast" && Array.isArray(output.forecast)) {
          showForecast(result, Array.isArray(input) ? input : input.values || [], output);
        } else if (typeof output.text === "string" || Array.isArray(output.translations)) {  // a transcript, a translation
          const text = typeof output.text === "string" ? output.text : output.translations[0].text;
          result.replaceChildren(el("pre", { class: "generated", "data-testid": "text" }, text));
        } else if (output.probabilities) {
          const labels = model.labels || output.probabilities.map((_, i) => i);
          const probs = Array.isArray(output.probabilities) ? output.probabilities
            : labels.map((l) => output.probabilities[l]);
          showBars(result, probs, labels);
        } else {  // values, or any other task's output: shown as it came
          const shown = output.prediction !== undefined ? output.prediction : output;
          result.replaceChildren(el("pre", { class: "generated" }, JSON.stringify(shown, null, 1)));
        }
      }
    } catch (e) {
      error.textContent = e.message;
      error.hidden = false;
    } finally {
      button.disabled = false;
    }
  });

  const table = card.querySelector(".metrics");
  for (const [k, v] of Object.entries(model.metrics)) {
    const row = el("tr");
    row.append(el("td", {}, k), el("td", {}, Number.isInteger(v) ? String(v) : Number(v).toPrecision(4)));
    table.append(row);
  }
  const figures = card.querySelector(".figures");
  for (const [name, url] of Object.entries(model.figures)) {
    figures.append(el("img", { src: url, alt: `${model.name}: ${name}`, loading: "lazy" }));
  }
  return card;
}

async function main() {
  const main = document.getElementById("models");
  try {
    const response = await fetch("/v1/models");
    if (!response.ok) throw new Error(await errorText(response));
    const { models } = await response.json();
    main.replaceChildren(...models.map(renderCard));
    document.body.dataset.ready = "true";
  } catch (e) {
    main.replaceChildren(el("p", { class: "error" }, `Could not list the models: ${e.message}`));
  }
}

main();
