// The review page: list files, show a photo with its face boxes, let a person remove, draw and
// resize boxes, and export through the server (which calls the same functions as `unseen redact`).
// Every address is relative, so every request carries the run's token in its path.
"use strict";

const $ = (id) => document.getElementById(id);
const MIN_BOX = 4; // pixels of the photo, as the server requires

const view = {
  files: [],
  current: null,   // detail of the open photo (from the server)
  boxes: [],       // {x1, y1, x2, y2, detected, removed}
  flags: [],
  zoom: 1,
  selected: -1,
  saving: null,
  busy: false,
};

async function api(path, options = {}) {
  const response = await fetch("api/" + path, { cache: "no-store", ...options });
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch (_) { body = { error: text }; }
  if (!response.ok) throw new Error((body && body.error) || `${response.status} ${response.statusText}`);
  return body;
}

function showError(message) {
  const box = $("error");
  box.textContent = message || "";
  box.hidden = !message;
}

// ---- files --------------------------------------------------------------------------------
async function refresh() {
  const state = await api("state");
  view.files = state.files;
  renderFiles();
  renderOptions(state.options);
  if (state.folder) {
    $("folder").textContent = `Served folder: ${state.folder}`;
    $("folder").hidden = false;
    $("rescan").hidden = false;
  }
  if (state.out_dir) {
    $("out-dir").textContent = `Exports are also written to ${state.out_dir}`;
    $("out-dir").hidden = false;
  }
  const exported = state.files.some((f) => f.output);
  $("download-zip").hidden = !exported;
  $("download-record").hidden = !exported;
  $("export-all").disabled = view.busy || !state.files.length;
  return state;
}

function renderFiles() {
  const list = $("files");
  list.replaceChildren();
  for (const file of view.files) {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.id = file.id;
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = file.name;
    const state = document.createElement("span");
    state.className = "state " + file.state.replace(" ", "-");
    state.textContent = file.state + (file.verified === false ? ", check failed" : "");
    button.append(name, state);
    button.title = file.message || file.name;
    button.setAttribute("aria-label", `${file.name}: ${state.textContent}${file.message ? ": " + file.message : ""}`);
    if (view.current && view.current.id === file.id) button.setAttribute("aria-current", "true");
    button.addEventListener("click", () => openFile(file.id));
    item.append(button);
    list.append(item);
  }
}

async function upload(fileList) {
  showError("");
  let last = null;
  for (const file of fileList) {
    setWork(`receiving ${file.name}`, null, "");
    try {
      last = await api("upload?name=" + encodeURIComponent(file.name), { method: "POST", body: file });
    } catch (error) {
      showError(error.message);
    }
  }
  setWork(null);
  await refresh();
  if (last) await openFile(last.id);
}

// ---- long work ----------------------------------------------------------------------------
function setWork(stage, fraction, note) {
  const work = $("work");
  work.hidden = stage === null;
  if (stage === null) return;
  $("work-stage").textContent = stage;
  const bar = $("work-bar");
  if (fraction === null || fraction === undefined) bar.removeAttribute("value");
  else bar.value = fraction;
  $("work-note").textContent = note || "";
}

async function runTask(start) {
  view.busy = true;
  updateButtons();
  const began = performance.now();
  try {
    let task = await start();
    while (task.state === "queued" || task.state === "running") {
      const seconds = ((performance.now() - began) / 1000).toFixed(0);
      const fraction = task.total ? task.done / task.total : null;
      const count = task.total ? ` (${task.done} of ${task.total} ${task.unit})` : "";
      setWork(task.stage || task.title, fraction, `${seconds} s${count}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
      task = await api("tasks/" + task.id);
    }
    if (task.state === "failed") throw new Error(task.error);
    return task;
  } finally {
    view.busy = false;
    setWork(null);
    updateButtons();
  }
}

// ---- one photo ----------------------------------------------------------------------------
async function openFile(id) {
  showError("");
  await flushSave();
  let detail = await api("files/" + id);
  if (!detail.analysed && !(detail.state === "failed" && detail.uploaded)) {
    view.current = detail;
    renderFiles();
    $("photo-title").textContent = detail.name;
    $("status").textContent = detail.kind === "video" ? "Following faces through the video…" : "Finding faces…";
    try {
      await runTask(() => api(`files/${id}/analyse`, { method: "POST" }));
    } catch (error) {
      showError(error.message);
    }
    detail = await api("files/" + id);
  }
  show(detail);
  await refresh();
}

function show(detail) {
  view.current = detail;
  view.selected = -1;
  $("photo-title").textContent = detail.name;
  $("show-output").checked = false;
  if (detail.state === "failed" && !detail.analysed) {
    $("canvas").hidden = true;
    setStatus(detail.message || "This file cannot be read.", "failed");
    updateButtons();
    return;
  }
  view.mode = detail.kind;
  $("video-tools").hidden = detail.kind !== "video";
  if (detail.kind === "video") {
    showVideo(detail);
    return;
  }
  loadBoxes(detail);
  const photo = $("photo");
  photo.alt = `Photo ${detail.name}, ${detail.width} by ${detail.height} pixels`;
  photo.onload = () => { fit(); render(); };
  photo.src = `api/files/${detail.id}/image?v=${Date.now()}`;
  $("canvas").hidden = false;
  describe(detail);
  updateButtons();
}

function loadBoxes(detail) {
  const kept = new Set();
  view.boxes = detail.boxes.map((b) => {
    if (b.detected >= 0) kept.add(b.detected);
    return { x1: b.x1, y1: b.y1, x2: b.x2, y2: b.y2, detected: b.detected, removed: false };
  });
  detail.detected.forEach((d, index) => {
    if (!kept.has(index)) view.boxes.push({ ...pick(d), detected: index, removed: true });
  });
  view.flags = detail.verification ? detail.verification.flags : [];
}

const pick = (b) => ({ x1: b.x1, y1: b.y1, x2: b.x2, y2: b.y2 });

function describe(detail) {
  if (detail.kind === "video") { describeVideo(detail); return; }
  const covered = view.boxes.filter((b) => !b.removed).length;
  const removed = view.boxes.filter((b) => b.removed).length;
  const low = detail.detected.filter((d) => d.low).length;
  let text = `${covered} face(s) will be covered`;
  if (removed) text += `, ${removed} left uncovered by you`;
  if (low) text += `; ${low} found with low confidence (orange): check them`;
  let kind = "";
  const check = detail.verification;
  if (detail.state === "exported" && check) {
    text = `Exported as ${detail.output}. Verification ${check.passed ? "passed" : "FAILED"}: ${check.statement}`;
    kind = check.passed ? "passed" : "failed";
  } else if (check && check.flags.length) {
    text += `. Verification flagged ${check.flags.length} place(s) (dashed): look at them`;
  }
  if (detail.message && detail.state === "failed") { text = detail.message; kind = "failed"; }
  setStatus(text + ".", kind);
}

function setStatus(text, kind) {
  const status = $("status");
  status.textContent = text;
  status.className = "status " + (kind || "");
}

function updateButtons() {
  const detail = view.current;
  const open = !!detail && detail.analysed;
  const photo = open && detail.kind === "photo";
  for (const id of ["reviewed", "export-one"]) $(id).disabled = !open || view.busy;
  for (const id of ["check", "reset"]) $(id).disabled = !photo || view.busy;
  $("export-all").disabled = view.busy || !view.files.length;
  const exported = !!detail && !!detail.output;
  $("show-output").disabled = !exported || !photo;
  const link = $("download-one");
  link.hidden = !exported;
  if (exported) link.href = `api/files/${detail.id}/output`;
}

// ---- drawing the boxes ------------------------------------------------------------------------
function fit() {
  const detail = view.current;
  if (!detail) return;
  const stage = $("stage");
  const available = Math.max(320, window.innerHeight - stage.getBoundingClientRect().top - 100);
  const width = Math.min(stage.clientWidth - 2, available * detail.width / detail.height);
  $("canvas").style.width = Math.max(120, width * view.zoom) + "px";
}

function percent(value, total) { return (100 * value / total) + "%"; }

function place(element, box) {
  const { width, height } = view.current;
  element.style.left = percent(box.x1, width);
  element.style.top = percent(box.y1, height);
  element.style.width = percent(box.x2 - box.x1, width);
  element.style.height = percent(box.y2 - box.y1, height);
}

function render() {
  const overlay = $("overlay");
  const detail = view.current;
  overlay.replaceChildren();
  if (!detail || !detail.analysed) return;
  if (detail.kind === "video") { renderVideo(); return; }
  view.flags.forEach((flag, index) => overlay.append(flagElement(flag, index)));
  view.boxes.forEach((box, index) => overlay.append(boxElement(box, index)));
  describe(detail);
}

function boxKind(box) {
  if (box.removed) return "removed";
  if (box.detected < 0) return "person";
  const found = view.current.detected[box.detected];
  const moved = Math.abs(found.x1 - box.x1) + Math.abs(found.y1 - box.y1) + Math.abs(found.x2 - box.x2) + Math.abs(found.y2 - box.y2) > 0.2;
  if (moved) return "person";
  return found.low ? "low" : "detected";
}

const KIND_WORDS = { removed: "left uncovered", person: "drawn or resized by you", low: "low confidence", detected: "covered" };

function boxElement(box, index) {
  const element = document.createElement("div");
  const kind = boxKind(box);
  element.className = `box ${kind}` + (index === view.selected ? " selected" : "");
  element.tabIndex = 0;
  element.dataset.index = index;
  element.dataset.kind = kind;
  element.dataset.detected = box.detected;
  element.setAttribute("role", "button");
  element.setAttribute("aria-pressed", String(!box.removed));
  const score = box.detected >= 0 ? `, score ${view.current.detected[box.detected].score.toFixed(2)}` : "";
  element.setAttribute("aria-label", `Face ${index + 1}: ${KIND_WORDS[kind]}${score}. ` +
    (box.removed ? "Enter covers it again." : "Delete leaves it uncovered."));
  place(element, box);
  if (kind === "low" || kind === "person" || kind === "removed") {
    const tag = document.createElement("span");
    tag.className = "tag";
    tag.textContent = kind === "low" ? `low ${view.current.detected[box.detected].score.toFixed(2)}`
      : kind === "person" ? "yours" : "not covered";
    element.append(tag);
  }
  for (const corner of ["nw", "ne", "sw", "se"]) {
    const handle = document.createElement("span");
    handle.className = "handle " + corner;
    handle.dataset.corner = corner;
    element.append(handle);
  }
  element.addEventListener("focus", () => { view.selected = index; });
  return element;
}

function flagElement(flag, index) {
  const element = document.createElement("div");
  const kind = flag.kind.replace(" ", "-");
  element.className = `flag ${kind === "bare-face" ? "bare" : kind}`;
  element.tabIndex = 0;
  element.dataset.flag = index;
  element.setAttribute("role", "button");
  element.setAttribute("aria-label", `Verification: ${flag.kind}, score ${flag.score.toFixed(2)}. Enter covers it.`);
  element.title = `${flag.kind} (score ${flag.score.toFixed(2)}): click to cover it`;
  place(element, flag);
  const tag = document.createElement("span");
  tag.className = "tag";
  tag.textContent = flag.kind;
  element.append(tag);
  return element;
}

// ---- editing --------------------------------------------------------------------------------
function imagePoint(event) {
  const rect = $("overlay").getBoundingClientRect();
  const { width, height } = view.current;
  return {
    x: Math.min(width, Math.max(0, (event.clientX - rect.left) / rect.width * width)),
    y: Math.min(height, Math.max(0, (event.clientY - rect.top) / rect.height * height)),
  };
}

function normalised(box) {
  return { ...box, x1: Math.min(box.x1, box.x2), x2: Math.max(box.x1, box.x2),
           y1: Math.min(box.y1, box.y2), y2: Math.max(box.y1, box.y2) };
}

function bigEnough(box) { return box.x2 - box.x1 >= MIN_BOX && box.y2 - box.y1 >= MIN_BOX; }

let gesture = null;

function onPointerDown(event) {
  if (!view.current || !view.current.analysed || event.button !== 0 || $("show-output").checked) return;
  const point = imagePoint(event);
  if (view.mode === "video" && event.target.closest(".box")) {
    gesture = { type: "track", track: +event.target.closest(".box").dataset.track, start: point };
    $("overlay").setPointerCapture(event.pointerId);
    event.preventDefault();
    return;
  }
  const handle = event.target.closest(".handle");
  const boxNode = event.target.closest(".box");
  const flagNode = event.target.closest(".flag");
  if (handle && boxNode && !view.boxes[+boxNode.dataset.index].removed) {
    gesture = { type: "resize", index: +boxNode.dataset.index, corner: handle.dataset.corner, start: point };
  } else if (boxNode) {
    gesture = { type: "click", index: +boxNode.dataset.index, start: point };
  } else if (flagNode) {
    gesture = { type: "flag", index: +flagNode.dataset.flag, start: point };
  } else {
    const draft = document.createElement("div");
    draft.className = "draft";
    $("overlay").append(draft);
    gesture = { type: "draw", start: point, draft };
  }
  $("overlay").setPointerCapture(event.pointerId);
  event.preventDefault();
}

function onPointerMove(event) {
  if (!gesture) return;
  const point = imagePoint(event);
  if (gesture.type === "draw") {
    place(gesture.draft, normalised({ x1: gesture.start.x, y1: gesture.start.y, x2: point.x, y2: point.y }));
  } else if (gesture.type === "resize") {
    const box = view.boxes[gesture.index];
    if (gesture.corner.includes("w")) box.x1 = point.x; else box.x2 = point.x;
    if (gesture.corner.includes("n")) box.y1 = point.y; else box.y2 = point.y;
    const element = $("overlay").querySelector(`.box[data-index="${gesture.index}"]`);
    if (element) place(element, normalised(box));
  }
}

function onPointerUp(event) {
  if (!gesture) return;
  const done = gesture;
  gesture = null;
  const point = imagePoint(event);
  const moved = Math.hypot(point.x - done.start.x, point.y - done.start.y) * $("overlay").getBoundingClientRect().width / view.current.width;
  if (done.type === "draw" && view.mode === "video") {
    done.draft.remove();
    const box = normalised({ x1: done.start.x, y1: done.start.y, x2: point.x, y2: point.y });
    if (moved > 3 && bigEnough(box)) addVideoBox(box);
  } else if (done.type === "track") {
    if (moved <= 3) toggleTrack(done.track);
  } else if (done.type === "draw") {
    done.draft.remove();
    const box = normalised({ x1: done.start.x, y1: done.start.y, x2: point.x, y2: point.y, detected: -1, removed: false });
    if (moved > 3 && bigEnough(box)) { view.boxes.push(box); view.selected = view.boxes.length - 1; changed(); }
  } else if (done.type === "resize") {
    const box = normalised(view.boxes[done.index]);
    if (bigEnough(box)) view.boxes[done.index] = box;
    else view.boxes[done.index] = { ...box, x2: Math.max(box.x2, box.x1 + MIN_BOX), y2: Math.max(box.y2, box.y1 + MIN_BOX) };
    view.selected = done.index;
    changed();
  } else if (done.type === "click" && moved <= 3) {
    toggle(done.index);
  } else if (done.type === "flag" && moved <= 3) {
    coverFlag(done.index);
  }
}

function toggle(index) {
  const box = view.boxes[index];
  if (box.detected < 0) view.boxes.splice(index, 1);
  else box.removed = !box.removed;
  view.selected = box.detected < 0 ? -1 : index;
  changed();
}

function coverFlag(index) {
  const flag = view.flags[index];
  view.boxes.push({ ...pick(flag), detected: -1, removed: false });
  view.flags.splice(index, 1);
  view.selected = view.boxes.length - 1;
  changed();
}

function onKey(event) {
  const target = event.target;
  if (target.classList.contains("flag") && (event.key === "Enter" || event.key === " ")) {
    coverFlag(+target.dataset.flag);
    event.preventDefault();
    return;
  }
  if (!view.current || !view.current.analysed) return;
  if (view.mode === "video") {
    if (target.classList.contains("box") && ["Delete", "Backspace", "Enter", " "].includes(event.key)) {
      toggleTrack(+target.dataset.track);
      event.preventDefault();
    }
    return;
  }
  if (event.key === "n" || event.key === "N") { addCentred(); event.preventDefault(); return; }
  if (!target.classList.contains("box")) return;
  const index = +target.dataset.index;
  const box = view.boxes[index];
  const step = Math.max(2, 0.01 * view.current.width) * (event.shiftKey ? 5 : 1);
  const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
  if (event.key === "Delete" || event.key === "Backspace") {
    if (box.detected < 0 || !box.removed) toggle(index);
  } else if (event.key === "Enter" || event.key === " ") {
    if (box.removed) toggle(index);
  } else if (moves[event.key] && !box.removed) {
    const [dx, dy] = moves[event.key];
    Object.assign(box, { x1: box.x1 + dx, x2: box.x2 + dx, y1: box.y1 + dy, y2: box.y2 + dy });
    keepInside(box);
    changed();
  } else if ((event.key === "+" || event.key === "=" || event.key === "-") && !box.removed) {
    const grow = (event.key === "-" ? -1 : 1) * step / 2;
    const next = { ...box, x1: box.x1 - grow, y1: box.y1 - grow, x2: box.x2 + grow, y2: box.y2 + grow };
    if (bigEnough(next)) { Object.assign(box, next); keepInside(box); changed(); }
  } else {
    return;
  }
  event.preventDefault();
}

function keepInside(box) {
  const { width, height } = view.current;
  box.x1 = Math.max(0, box.x1); box.y1 = Math.max(0, box.y1);
  box.x2 = Math.min(width, box.x2); box.y2 = Math.min(height, box.y2);
}

function addCentred() {
  const { width, height } = view.current;
  const side = Math.max(MIN_BOX * 4, Math.min(width, height) / 8);
  view.boxes.push({ x1: width / 2 - side / 2, y1: height / 2 - side / 2, x2: width / 2 + side / 2, y2: height / 2 + side / 2,
                    detected: -1, removed: false });
  view.selected = view.boxes.length - 1;
  changed();
}

function changed() {
  const focusIndex = view.selected;
  render();
  if (focusIndex >= 0) {
    const element = $("overlay").querySelector(`.box[data-index="${focusIndex}"]`);
    if (element) element.focus({ preventScroll: true });
  }
  clearTimeout(view.saveTimer);
  view.saveTimer = setTimeout(save, 250);
}

function save() {
  const detail = view.current;
  const boxes = view.boxes.filter((b) => !b.removed).map((b) => ({ ...pick(normalised(b)), detected: b.detected }));
  view.saving = api(`files/${detail.id}/boxes`, {
    method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ boxes }),
  }).then((updated) => {
    if (view.current && view.current.id === updated.id) {
      view.current = { ...updated, verification: view.current.verification };
      updateButtons();
    }
    const file = view.files.find((f) => f.id === updated.id);
    if (file) { file.state = updated.state; file.faces = updated.faces; renderFiles(); }
  }).catch((error) => showError(error.message)).finally(() => { view.saving = null; });
  return view.saving;
}

async function flushSave() {
  if (view.saveTimer) { clearTimeout(view.saveTimer); view.saveTimer = null; if (view.current && view.current.analysed) await save(); }
  if (view.saving) await view.saving;
}

// ---- actions ----------------------------------------------------------------------------------
async function exportFiles(ids) {
  showError("");
  await flushSave();
  try {
    const task = await runTask(() => api("export", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ ids }),
    }));
    if (task.messages.length) $("work-note").textContent = task.messages.slice(-1)[0];
  } catch (error) {
    showError(error.message);
  }
  await refresh();
  if (view.current) show(await api("files/" + view.current.id));
}

async function checkBoxes() {
  await flushSave();
  try {
    await runTask(() => api(`files/${view.current.id}/check`, { method: "POST" }));
    show(await api("files/" + view.current.id));
  } catch (error) {
    showError(error.message);
  }
}

async function setOptions() {
  const body = { style: $("style").value, shape: $("shape").value, padding: parseFloat($("padding").value) };
  const error = $("options-error");
  try {
    await api("options", { method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    error.hidden = true;
  } catch (failure) {
    error.textContent = failure.message;
    error.hidden = false;
  }
}

function renderOptions(options) {
  for (const [id, values] of [["style", options.styles], ["shape", options.shapes]]) {
    const select = $(id);
    if (!select.options.length) {
      for (const value of values) select.append(new Option(value, value));
    }
    if (document.activeElement !== select) select.value = options[id];
  }
  if (document.activeElement !== $("padding")) $("padding").value = options.padding;
}

function setZoom(factor) {
  view.zoom = factor === null ? 1 : Math.min(8, Math.max(0.25, view.zoom * factor));
  fit();
}

function wire() {
  $("pick").addEventListener("change", (event) => { upload([...event.target.files]); event.target.value = ""; });
  const drop = $("drop");
  for (const name of ["dragenter", "dragover"]) {
    document.addEventListener(name, (event) => { event.preventDefault(); drop.classList.add("over"); });
  }
  document.addEventListener("dragleave", (event) => { if (!event.relatedTarget) drop.classList.remove("over"); });
  document.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    if (event.dataTransfer && event.dataTransfer.files.length) upload([...event.dataTransfer.files]);
  });
  $("rescan").addEventListener("click", async () => { await api("rescan", { method: "POST" }); await refresh(); });
  const overlay = $("overlay");
  overlay.addEventListener("pointerdown", onPointerDown);
  overlay.addEventListener("pointermove", onPointerMove);
  overlay.addEventListener("pointerup", onPointerUp);
  overlay.addEventListener("keydown", onKey);
  $("reviewed").addEventListener("click", async () => {
    await flushSave();
    show(await api(`files/${view.current.id}/reviewed`, { method: "POST" }));
    await refresh();
  });
  $("check").addEventListener("click", checkBoxes);
  $("reset").addEventListener("click", () => {
    view.boxes = view.current.detected.map((d, index) => ({ ...pick(d), detected: index, removed: false }));
    view.selected = -1;
    changed();
  });
  $("show-output").addEventListener("change", (event) => {
    const detail = view.current;
    $("photo").src = event.target.checked ? `api/files/${detail.id}/output-image?v=${Date.now()}` : `api/files/${detail.id}/image`;
    $("overlay").hidden = event.target.checked;
  });
  $("export-one").addEventListener("click", () => exportFiles([view.current.id]));
  $("export-all").addEventListener("click", () => exportFiles(view.files.map((f) => f.id)));
  $("frame").addEventListener("change", (event) => goToFrame(+event.target.value));
  $("frame-prev").addEventListener("click", () => goToFrame(view.frame - 1));
  $("frame-next").addEventListener("click", () => goToFrame(view.frame + 1));
  $("whole-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const first = +$("whole-first").value, last = +$("whole-last").value;
    if (last < first) { showError("The last frame must come after the first."); return; }
    view.review.full_frames.push([first, last]);
    saveVideo();
  });
  for (const id of ["style", "shape", "padding"]) $(id).addEventListener("change", setOptions);
  $("zoom-in").addEventListener("click", () => setZoom(1.5));
  $("zoom-out").addEventListener("click", () => setZoom(1 / 1.5));
  $("zoom-fit").addEventListener("click", () => setZoom(null));
  window.addEventListener("resize", fit);
}

// ---- videos ---------------------------------------------------------------------------------
function showVideo(detail) {
  view.review = JSON.parse(JSON.stringify(detail.review));
  view.frame = Math.min(view.frame || 0, detail.frames - 1);
  if (!view.videoId || view.videoId !== detail.id) view.frame = 0;
  view.videoId = detail.id;
  const slider = $("frame");
  slider.max = detail.frames - 1;
  $("whole-first").max = $("whole-last").max = detail.frames - 1;
  $("canvas").hidden = false;
  $("photo").alt = `Video ${detail.name}, frame by frame`;
  $("photo").onload = () => { fit(); };
  renderTracks();
  goToFrame(view.frame);
  describeVideo(detail);
  updateButtons();
}

async function goToFrame(index) {
  const detail = view.current;
  if (!detail || detail.kind !== "video") return;
  view.frame = Math.max(0, Math.min(detail.frames - 1, index));
  $("frame").value = view.frame;
  const seconds = (view.frame / detail.fps).toFixed(2);
  $("frame-label").textContent = `frame ${view.frame} of ${detail.frames - 1} (${seconds} s)`;
  const asked = view.frame;
  $("photo").src = `api/files/${detail.id}/frames/${asked}/image`;
  const covers = await api(`files/${detail.id}/frames/${asked}`);
  if (asked !== view.frame || view.current.id !== detail.id) return;
  view.covers = covers;
  renderVideo();
  renderTracks();
}

function renderVideo() {
  const overlay = $("overlay");
  overlay.replaceChildren();
  const covers = view.covers;
  if (!covers) return;
  const tracks = new Map(view.current.tracks.map((t) => [t.track, t]));
  for (const box of covers.boxes) {
    const element = document.createElement("div");
    const drawn = !tracks.has(box.track);
    element.className = "box " + (drawn ? "person" : "detected");
    element.tabIndex = 0;
    element.dataset.track = box.track;
    element.setAttribute("role", "button");
    element.setAttribute("aria-label", drawn ? "A box you drew" : `Face ${box.track}: covered. Delete leaves it uncovered.`);
    place(element, box);
    const tag = document.createElement("span");
    tag.className = "tag";
    tag.textContent = drawn ? "yours" : `face ${box.track}`;
    element.append(tag);
    overlay.append(element);
  }
  for (const box of covers.uncovered) {
    const element = document.createElement("div");
    element.className = "box removed";
    element.tabIndex = 0;
    element.dataset.track = box.track;
    element.setAttribute("role", "button");
    element.setAttribute("aria-label", `Face ${box.track}: left uncovered by you. Enter covers it again.`);
    place(element, box);
    const tag = document.createElement("span");
    tag.className = "tag";
    tag.textContent = `face ${box.track}: not covered`;
    element.append(tag);
    overlay.append(element);
  }
  if (covers.whole) {
    const banner = document.createElement("div");
    banner.className = "whole-banner";
    banner.textContent = "this frame is covered whole";
    overlay.append(banner);
  }
}

function timeline(ranges, total, kind) {
  const bar = document.createElement("div");
  bar.className = "timeline" + (kind ? " " + kind : "");
  bar.setAttribute("aria-hidden", "true");
  for (const [first, last] of ranges) {
    const span = document.createElement("span");
    span.style.left = percent(first, total);
    span.style.width = percent(last - first + 1, total);
    bar.append(span);
  }
  const now = document.createElement("span");
  now.className = "now";
  now.style.left = percent(view.frame, total);
  bar.append(now);
  return bar;
}

function renderTracks() {
  const detail = view.current;
  const list = $("tracks");
  list.replaceChildren();
  for (const track of detail.tracks) {
    const removed = view.review.removed_tracks.includes(track.track);
    const item = document.createElement("li");
    item.className = removed ? "removed" : "";
    const label = document.createElement("label");
    label.className = "what";
    const box = document.createElement("input");
    box.type = "checkbox";
    box.checked = !removed;
    box.dataset.track = track.track;
    box.addEventListener("change", () => toggleTrack(track.track));
    const score = track.best_score === null ? "" : `, best score ${track.best_score.toFixed(2)}`;
    label.append(box, ` Face ${track.track}: frames ${track.first_frame}–${track.last_frame} ` +
      `(${track.first_s.toFixed(1)}–${track.last_s.toFixed(1)} s), ${track.detections} detection(s)${score}`);
    const go = document.createElement("button");
    go.type = "button";
    go.textContent = "Show";
    go.setAttribute("aria-label", `Show face ${track.track}`);
    go.addEventListener("click", () => goToFrame(track.first_detection));
    item.append(label, timeline([[track.first_frame, track.last_frame]], detail.frames, ""), go);
    list.append(item);
  }
  if (!detail.tracks.length) list.append(Object.assign(document.createElement("li"), { textContent: "No face found." }));
  const drawn = $("video-boxes");
  drawn.replaceChildren();
  view.review.boxes.forEach((b, index) => {
    const item = document.createElement("li");
    const label = document.createElement("span");
    label.className = "what";
    label.append(`Box ${index + 1} from frame `);
    const first = Object.assign(document.createElement("input"), { type: "number", min: 0, max: detail.frames - 1, value: b.first });
    const last = Object.assign(document.createElement("input"), { type: "number", min: 0, max: detail.frames - 1, value: b.last });
    first.setAttribute("aria-label", `Box ${index + 1}: first frame`);
    last.setAttribute("aria-label", `Box ${index + 1}: last frame`);
    first.addEventListener("change", () => { b.first = Math.min(+first.value, b.last); saveVideo(); });
    last.addEventListener("change", () => { b.last = Math.max(+last.value, b.first); saveVideo(); });
    label.append(first, " to ", last);
    const remove = Object.assign(document.createElement("button"), { type: "button", textContent: "Remove" });
    remove.addEventListener("click", () => { view.review.boxes.splice(index, 1); saveVideo(); });
    item.append(label, timeline([[b.first, b.last]], detail.frames, "person"), remove);
    drawn.append(item);
  });
  const whole = $("whole-list");
  whole.replaceChildren();
  view.review.full_frames.forEach(([first, last], index) => {
    const item = document.createElement("li");
    const label = Object.assign(document.createElement("span"), { className: "what", textContent: `Frames ${first}–${last} covered whole` });
    const remove = Object.assign(document.createElement("button"), { type: "button", textContent: "Remove" });
    remove.addEventListener("click", () => { view.review.full_frames.splice(index, 1); saveVideo(); });
    item.append(label, timeline([[first, last]], detail.frames, "whole"), remove);
    whole.append(item);
  });
}

function toggleTrack(track) {
  const removed = view.review.removed_tracks;
  if (!view.current.tracks.some((t) => t.track === track)) return;
  const at = removed.indexOf(track);
  if (at >= 0) removed.splice(at, 1); else removed.push(track);
  saveVideo();
}

function addVideoBox(box) {
  const detail = view.current;
  const last = Math.min(detail.frames - 1, view.frame + Math.round(detail.fps * 2));
  view.review.boxes.push({ ...pick(box), first: view.frame, last });
  saveVideo();
}

async function saveVideo() {
  const detail = view.current;
  try {
    const updated = await api(`files/${detail.id}/video-review`, {
      method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify(view.review),
    });
    view.current = updated;
    view.review = JSON.parse(JSON.stringify(updated.review));
    showError("");
    await goToFrame(view.frame);
    describeVideo(updated);
    const file = view.files.find((f) => f.id === updated.id);
    if (file) { file.state = updated.state; renderFiles(); }
    updateButtons();
  } catch (error) {
    showError(error.message);
  }
}

function describeVideo(detail) {
  const removed = detail.review.removed_tracks.length;
  let text = `${detail.tracks.length - removed} face(s) followed and covered`;
  if (removed) text += `, ${removed} left uncovered by you`;
  if (detail.review.boxes.length) text += `, ${detail.review.boxes.length} box(es) drawn by you`;
  if (detail.review.full_frames.length) text += `, ${detail.review.full_frames.length} frame range(s) covered whole`;
  let kind = "";
  const check = detail.verification;
  if (detail.state === "exported" && check) {
    text = `Exported as ${detail.output}. Verification ${check.passed ? "passed" : "FAILED"}: ${check.statement}`;
    kind = check.passed ? "passed" : "failed";
  }
  if (detail.message && detail.state === "failed") { text = detail.message; kind = "failed"; }
  setStatus(text + ".", kind);
}

wire();
refresh().catch((error) => showError(error.message));
