// posemamba viewer: unpacks the pose blob (see pack.py), draws people with plotly, plays in sync with a video.
"use strict";
(async function () {
  const t0 = performance.now();
  const meta = JSON.parse(document.getElementById("pm-meta").textContent);
  const P = meta.nPeople, T = meta.nFrames, J = 17;
  const $ = (id) => document.getElementById(id);
  if (Object.keys(meta.videos).length) $("pm-side").style.display = "flex";  // before the plot takes its width

  function b64bytes(text) {
    if (Uint8Array.fromBase64) return Uint8Array.fromBase64(text);
    const s = atob(text), out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  const gz = b64bytes(document.getElementById("pm-data").textContent.trim());
  const stream = new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip"));
  const raw = await new Response(stream).arrayBuffer();
  const times = new Float64Array(raw, 0, T);
  const present = new Uint8Array(raw, 8 * T, P * T);
  const deltas = new Int16Array(raw, 8 * T + meta.maskBytes, P * 51 * T);
  // joints[(p * T + t) * 51 + j * 3 + c] in mm: running int16 sums of each series
  const joints = new Float32Array(P * T * 51);
  const acc = new Int16Array(1);
  for (let p = 0; p < P; p++) {
    for (let k = 0; k < 51; k++) {
      const base = (p * 51 + k) * T;
      acc[0] = 0;
      for (let t = 0; t < T; t++) {
        acc[0] += deltas[base + t];
        joints[(p * T + t) * 51 + k] = acc[0] * meta.scale;
      }
    }
  }
  const start = times[0];

  // ---- the figure: floor grid, one bone trace + one trail trace per person, one label trace
  const bounds = meta.bounds;  // [xmin, xmax, ymin, ymax, zmax] mm
  const grid = { x: [], y: [], z: [] };
  const step = meta.gridMm;
  for (let x = bounds[0]; x <= bounds[1] + 1e-6; x += step) {
    grid.x.push(x, x, null); grid.y.push(bounds[2], bounds[3], null); grid.z.push(0, 0, null);
  }
  for (let y = bounds[2]; y <= bounds[3] + 1e-6; y += step) {
    grid.x.push(bounds[0], bounds[1], null); grid.y.push(y, y, null); grid.z.push(0, 0, null);
  }
  const traces = [{ type: "scatter3d", mode: "lines", ...grid, line: { color: "#3b4250", width: 2 },
                    hoverinfo: "skip", showlegend: false }];
  // one trace draws everything that moves (one plotly update per frame): per person a fixed run of vertices,
  // bones (3 per bone: parent, child, gap), the label point (text, gap), the trail on the floor, a gap
  const nB = meta.bones.length, nTrail = meta.trailPoints, run = 3 * nB + 2 + nTrail + 1;
  const colors = [], text = [];
  for (let p = 0; p < P; p++) {
    for (let i = 0; i < run; i++) { colors.push(meta.colors[p]); text.push(i === 3 * nB ? meta.labels[p] : ""); }
  }
  const moving = { x: new Array(P * run).fill(null), y: new Array(P * run).fill(null), z: new Array(P * run).fill(null) };
  traces.push({ type: "scatter3d", mode: "lines+text", ...moving, text, hoverinfo: "skip", showlegend: false,
                line: { color: colors, width: 7 }, textfont: { color: colors, size: 14 }, textposition: "top center" });
  const axis = (range) => ({ range, showgrid: false, zeroline: false, showbackground: false, showspikes: false,
                             showticklabels: false, title: { text: "" } });
  const dx = bounds[1] - bounds[0], dy = bounds[3] - bounds[2], dz = bounds[4], big = Math.max(dx, dy, dz);
  const layout = {
    paper_bgcolor: "#15171c", margin: { l: 0, r: 0, t: 0, b: 0 }, uirevision: "keep", showlegend: false,
    scene: { xaxis: axis([bounds[0], bounds[1]]), yaxis: axis([bounds[2], bounds[3]]), zaxis: axis([0, dz]),
             aspectmode: "manual", aspectratio: { x: dx / big * 2, y: dy / big * 2, z: dz / big * 2 },
             dragmode: "orbit", camera: { eye: { x: 0.3, y: -2.2, z: 1.0 }, up: { x: 0, y: 0, z: 1 } } },
  };
  const plot = $("pm-plot");
  await Plotly.newPlot(plot, traces, layout, { displaylogo: false, responsive: true, plotGlPixelRatio: window.devicePixelRatio || 1,
                                                modeBarButtonsToRemove: ["toImage"] });
  const trailStep = Math.max(1, Math.round(meta.trailSeconds * meta.fps / (nTrail - 1)));
  function frameData(t) {  // the moving trace's vertices at frame t
    const xs = new Array(P * run).fill(null), ys = new Array(P * run).fill(null), zs = new Array(P * run).fill(null);
    for (let p = 0; p < P; p++) {
      if (!present[p * T + t]) continue;
      const o = (p * T + t) * 51;
      let v = p * run;
      for (const [a, b] of meta.bones) {
        for (const j of [a, b]) { xs[v] = joints[o + 3 * j]; ys[v] = joints[o + 3 * j + 1]; zs[v] = joints[o + 3 * j + 2]; v++; }
        v++;
      }
      xs[v] = joints[o + 3 * meta.head]; ys[v] = joints[o + 3 * meta.head + 1]; zs[v] = joints[o + 3 * meta.head + 2] + 150;
      v += 2;
      for (let i = nTrail - 1; i >= 0; i--) {  // the pelvis path on the floor, oldest first
        const s = t - i * trailStep;
        if (s >= 0 && present[p * T + s]) { const q = (p * T + s) * 51; xs[v] = joints[q]; ys[v] = joints[q + 1]; zs[v] = 0; }
        v++;
      }
    }
    return { x: [xs], y: [ys], z: [zs] };
  }

  // ---- state, drawing, clock
  const state = { frame: 0, playing: false, speed: 1, drawn: -1, draws: 0, clock: null, ticked: null };
  let drawing = false, pending = -1;
  function draw(t) {
    pending = t;
    if (drawing || P === 0) return;
    drawing = true;
    const target = pending;
    Plotly.restyle(plot, frameData(target), [1]).then(() => {
      drawing = false; state.drawn = target; state.draws++;
      if (pending !== target) draw(pending);
    });
  }
  function frameAt(sec) {  // the last frame whose time is <= sec (seconds from the first frame)
    let lo = 0, hi = T - 1;
    const want = sec + start + 1e-6;
    while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (times[mid] <= want) lo = mid; else hi = mid - 1; }
    return lo;
  }
  const fmt = (s) => { const m = Math.floor(s / 60); return m + ":" + (s - 60 * m).toFixed(2).padStart(5, "0"); };
  function show(t) {
    state.frame = t;
    $("pm-timeline").value = t;
    $("pm-time").textContent = fmt(times[t] - start) + " / " + fmt(times[T - 1] - start) +
                               "  frame " + (t + 1) + "/" + T;
    if (state.drawn !== t) draw(t);
  }

  const video = $("pm-video");
  const videos = meta.videos;
  const params = new URLSearchParams(location.search);
  if (params.get("source") && videos.source !== undefined) videos.source = params.get("source");
  const useVideo = () => video.dataset.active === "1";
  function chooseVideo(name) {
    video.pause();
    if (name === "none" || !videos[name]) { video.removeAttribute("src"); video.dataset.active = "0"; video.load(); }
    else { video.src = videos[name]; video.dataset.active = "1"; video.playbackRate = state.speed; syncVideo(); }
  }
  function syncVideo() { if (useVideo()) video.currentTime = times[state.frame] - start + 0.25 / meta.fps; }
  video.addEventListener("error", () => { video.dataset.active = "0"; $("pm-note").textContent += " (video not found)"; });
  video.addEventListener("ended", () => pause());
  const names = Object.keys(videos);
  if (names.length) {
    for (const name of [...names, "none"]) $("pm-video-choice").add(new Option(name, name));
    const want = params.get("video");
    const first = names.includes(want) || want === "none" ? want : names[0];
    $("pm-video-choice").value = first;
    chooseVideo(first);
    $("pm-video-choice").addEventListener("change", (e) => chooseVideo(e.target.value));
  }

  function tick() {
    if (!state.playing) return;
    const byVideo = useVideo() && !video.paused;  // the video is the clock while it plays
    const sec = byVideo ? video.currentTime : state.clock.base + (performance.now() - state.clock.at) / 1000 * state.speed;
    state.ticked = { sec, byVideo };
    const t = frameAt(sec);
    if (t !== state.frame) show(t);
    if (t >= T - 1 && !(useVideo() && !video.ended)) { pause(); return; }
    requestAnimationFrame(tick);
  }
  function play() {
    if (state.playing) return;
    if (state.frame >= T - 1) seek(0);
    state.playing = true;
    $("pm-play").textContent = "pause";
    state.clock = { base: times[state.frame] - start, at: performance.now() };
    if (useVideo()) video.play().catch(() => { video.dataset.active = "0"; });
    requestAnimationFrame(tick);
  }
  function pause() {
    state.playing = false;
    $("pm-play").textContent = "play";
    if (useVideo()) { video.pause(); syncVideo(); }
  }
  function seek(i) {
    const t = Math.max(0, Math.min(T - 1, Math.round(Number(i)) || 0));
    show(t);
    state.clock = { base: times[t] - start, at: performance.now() };
    syncVideo();
  }
  function setSpeed(s) {
    state.speed = s;
    $("pm-speed").value = String(s);
    video.playbackRate = s;
    state.clock = { base: times[state.frame] - start, at: performance.now() };
  }
  const speeds = [0.1, 0.25, 0.5, 1, 2, 4];
  for (const s of speeds) $("pm-speed").add(new Option(s + "x", String(s)));
  $("pm-speed").value = "1";
  $("pm-speed").addEventListener("change", (e) => setSpeed(Number(e.target.value)));
  $("pm-play").addEventListener("click", () => (state.playing ? pause() : play()));
  $("pm-prev").addEventListener("click", () => { pause(); seek(state.frame - 1); });
  $("pm-next").addEventListener("click", () => { pause(); seek(state.frame + 1); });
  $("pm-timeline").max = T - 1;
  $("pm-timeline").addEventListener("input", (e) => seek(e.target.value));
  document.addEventListener("keydown", (e) => {
    if (e.target.tagName === "SELECT") return;
    const second = Math.max(1, Math.round(meta.fps));
    const by = (n) => { e.preventDefault(); pause(); seek(state.frame + n); };
    if (e.key === " ") { e.preventDefault(); state.playing ? pause() : play(); }
    else if (e.key === "ArrowRight") by(e.shiftKey ? second : 1);
    else if (e.key === "ArrowLeft") by(e.shiftKey ? -second : -1);
    else if (e.key === "Home") by(-T);
    else if (e.key === "End") by(T);
    else if (e.key === "+" || e.key === "=") setSpeed(speeds[Math.min(speeds.length - 1, speeds.indexOf(state.speed) + 1)]);
    else if (e.key === "-") setSpeed(speeds[Math.max(0, speeds.indexOf(state.speed) - 1)]);
  });

  $("pm-note").textContent = meta.note;
  $("pm-people").innerHTML = "";
  meta.labels.forEach((label, p) => {
    const s = document.createElement("span"); s.textContent = label; s.style.color = meta.colors[p];
    $("pm-people").appendChild(s);
  });
  if (P === 0) { $("pm-empty").textContent = "No people were detected in this video."; $("pm-empty").style.display = "flex"; }
  show(0);

  window.posemambaViewer = {
    nFrames: T, nPeople: P, fps: meta.fps, get frame() { return state.frame; },
    get drawnFrame() { return state.drawn; }, get draws() { return state.draws; },
    get playing() { return state.playing; }, get speed() { return state.speed; }, get videoTime() { return video.currentTime; },
    get lastTick() { return state.ticked; },  // {sec, byVideo}: the media time the shown frame was chosen for
    seek, play, pause, setSpeed, readyMs: performance.now() - t0, readyAt: performance.now(),
  };
})().catch((err) => { document.getElementById("pm-note").textContent = "viewer error: " + err; console.error(err); });
