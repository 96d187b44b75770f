/* reporting-sim lab: the page's own script, served by the lab itself (it works with no
   network). It does what a browser does better than a server:
   - tells the server the panel's size, so the diagrams are laid out for it (one SVG
     unit a CSS pixel: 15-px labels stay 15 px);
   - zoom (wheel, +/-) and pan (drag) of every diagram, back to 1:1 with "1:1";
   - a click on a group of units opens it (the "open the units of" boxes);
   - the class view: full screen, side bar and notes hidden, controls faded until used;
   - the mission in motion: the marks, queues, meetings, stops and counters of the two
     traced runs the server sends ("mission" messages), on one clock: play, pause,
     step, scrub, an hour to a week a second; keyboard: space plays or pauses, the
     arrows step, c toggles the class view, Home rewinds.
   Everything drawn comes from the run's trace; nothing here decides an outcome. */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var FAMILY = ["#d55e00", "#0072b2"];            // current, long-term (Okabe & Ito)
  var STOP = ["#aa3377", "#444444", "#111111"];   // withheld, not passed on, lost (inbox full)
  var K = {write: 0, transit: 1, meeting: 2, board: 3, hold: 4, queue: 5, work: 6, sanitise: 7};
  var lab = {t: 0, end: 0, playing: false, speed: 6, last: null, sides: {}, follow: null, frames: 0,
             drawn: 0, lastCount: 0, startDate: null};
  window.RSLab = lab;

  function $(id) { return document.getElementById(id); }
  function el(name, attrs) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }

  // ------------------------------------------------------------------ panel size
  var sizeTimer = null;
  function sendSize() {
    if (!window.Shiny || !Shiny.setInputValue) return;
    var tc = document.querySelector(".tab-content");
    var box = $("network");
    var w = (box && box.offsetParent !== null ? box.clientWidth : (tc ? tc.clientWidth : window.innerWidth)) - 4;
    var top = lab.netTop || 170;
    if (box && box.offsetParent !== null) { top = box.getBoundingClientRect().top + window.scrollY; lab.netTop = top; }
    var key = document.querySelector(".net-box + .legend-html");
    var keyH = key && key.offsetParent !== null ? key.offsetHeight + 24 : 70;
    Shiny.setInputValue("lab_size", {w: Math.round(w), h: window.innerHeight,
      net_h: Math.round(window.innerHeight - top - keyH), class_view: document.body.classList.contains("class-view")});
  }
  function sizeSoon() { clearTimeout(sizeTimer); sizeTimer = setTimeout(sendSize, 200); }

  // ------------------------------------------------------------------ zoom and pan
  function full(svg) {
    if (!svg.dataset.full) { var b = svg.viewBox.baseVal; svg.dataset.full = [b.x, b.y, b.width, b.height].join(" "); }
    return svg.dataset.full.split(" ").map(Number);
  }
  function zoom(svg, k, cx, cy) {
    var f = full(svg), b = svg.viewBox.baseVal;
    var w = Math.min(f[2] * 4, Math.max(f[2] / 8, b.width / k)), h = w * b.height / b.width;
    if (cx === undefined) { cx = b.x + b.width / 2; cy = b.y + b.height / 2; }
    b.x = cx - (cx - b.x) * w / b.width; b.y = cy - (cy - b.y) * h / b.height; b.width = w; b.height = h;
  }
  function reset(svg) { var f = full(svg), b = svg.viewBox.baseVal; b.x = f[0]; b.y = f[1]; b.width = f[2]; b.height = f[3]; }
  function svgPoint(svg, ev) {
    var r = svg.getBoundingClientRect(), b = svg.viewBox.baseVal;
    return [b.x + (ev.clientX - r.left) * b.width / r.width, b.y + (ev.clientY - r.top) * b.height / r.height];
  }
  document.addEventListener("wheel", function (ev) {
    var svg = ev.target.closest && ev.target.closest("svg.network");
    if (!svg) return;
    ev.preventDefault();
    var p = svgPoint(svg, ev);
    zoom(svg, ev.deltaY < 0 ? 1.15 : 1 / 1.15, p[0], p[1]);
  }, {passive: false});
  var drag = null;
  document.addEventListener("pointerdown", function (ev) {
    var svg = ev.target.closest && ev.target.closest("svg.network");
    if (svg && ev.button === 0) drag = {svg: svg, x: ev.clientX, y: ev.clientY, moved: false};
  });
  document.addEventListener("pointermove", function (ev) {
    if (!drag) return;
    var dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
    if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 4) return;
    drag.moved = true;
    var b = drag.svg.viewBox.baseVal, r = drag.svg.getBoundingClientRect();
    b.x -= dx * b.width / r.width; b.y -= dy * b.height / r.height;
    drag.x = ev.clientX; drag.y = ev.clientY;
  });
  document.addEventListener("pointerup", function (ev) {
    var d = drag; drag = null;
    if (!d || d.moved) return;
    var g = ev.target.closest && ev.target.closest("g.node.group");
    if (g) toggleGroup(g.dataset.node);
  });
  document.addEventListener("dblclick", function (ev) {
    var g = ev.target.closest && ev.target.closest("g.node[data-group]");
    if (g && g.dataset.group) toggleGroup(g.dataset.group);
  });
  document.addEventListener("click", function (ev) {
    var b = ev.target.closest && ev.target.closest("[data-zoom]");
    if (!b) return;
    var box = $(b.dataset.target), svg = box && box.querySelector("svg.network");
    if (!svg) return;
    if (b.dataset.zoom === "in") zoom(svg, 1.25); else if (b.dataset.zoom === "out") zoom(svg, 0.8); else reset(svg);
  });
  function toggleGroup(key) {
    var cb = document.querySelector('#open_groups input[value="' + key + '"]');
    if (cb) cb.click();
  }

  // ------------------------------------------------------------------ class view
  function classView(on) {
    var body = document.body;
    on = on === undefined ? !body.classList.contains("class-view") : on;
    body.classList.toggle("class-view", on);
    var b = $("class_view");
    if (b) b.textContent = on ? "Leave class view" : "Class view";
    try {
      if (on && document.fullscreenEnabled && !document.fullscreenElement) document.documentElement.requestFullscreen().catch(function () {});
      if (!on && document.fullscreenElement) document.exitFullscreen().catch(function () {});
    } catch (e) { /* full screen is a nicety */ }
    sizeSoon();
    setTimeout(function () { window.dispatchEvent(new Event("resize")); }, 250);  // Shiny re-reads output sizes
  }
  var idle = null;
  document.addEventListener("mousemove", function () {
    if (!document.body.classList.contains("class-view")) return;
    document.body.classList.add("controls-awake");
    clearTimeout(idle);
    idle = setTimeout(function () { document.body.classList.remove("controls-awake"); }, 2000);
  });

  // ------------------------------------------------------------------ the mission
  function setData(side, d) {
    var m = d.marks, s = lab.sides[side] || (lab.sides[side] = {});
    s.data = d; s.n = m.t0.length;
    s.t0 = Float64Array.from(m.t0); s.t1 = Float64Array.from(m.t1);
    s.k = Int8Array.from(m.k); s.a = Int32Array.from(m.a); s.b = Int32Array.from(m.b);
    s.f = Int8Array.from(m.f); s.e = Int32Array.from(m.e);
    s.svg = null; s.table = null;
    lab.end = 0;
    for (var k in lab.sides) lab.end = Math.max(lab.end, lab.sides[k].data.end);
    lab.startDate = new Date(d.start + "T00:00:00Z");
    var sc = $("scrub");
    if (sc) sc.max = String(lab.end);
    lab.t = Math.min(lab.t, lab.end);
    bind(side); draw(true);
  }

  function bind(side) {
    var s = lab.sides[side];
    if (!s || !s.data) return;
    var box = $("mission_" + side), svg = box && box.querySelector("svg.network");
    if (!svg) { s.svg = null; return; }
    if (s.svg === svg) return;
    s.svg = svg; s.boxes = []; s.byKey = {}; s.links = {}; s.meetLinks = {};
    var own = {};
    svg.querySelectorAll("g.node").forEach(function (g) {
      var d = g.dataset, i = s.boxes.length;
      s.boxes.push({key: d.node, x: +d.x, y: +d.y, w: +d.w, h: +d.h, g: g});
      s.byKey[d.node] = i; own[d.node] = i;
      if (d.members) d.members.split(" ").forEach(function (m) { own[m] = i; });
    });
    s.own = Int32Array.from(s.data.names.map(function (n) { return own[n] === undefined ? -1 : own[n]; }));
    svg.querySelectorAll("g.link").forEach(function (g) {
      var key = g.dataset.from + "|" + g.dataset.to;
      if (!s.links[key]) s.links[key] = g.dataset.curve.split(" ").map(Number);
      var mt = g.dataset.meeting;
      if (mt) (s.meetLinks[mt] = s.meetLinks[mt] || []).push(g);
    });
    var layer = el("g", {"class": "marks", "pointer-events": "none"});
    svg.appendChild(layer);
    s.layer = layer; s.pool = {circle: [], rect: [], path: []}; s.used = {circle: 0, rect: 0, path: 0};
  }

  function shape(s, kind) {
    var pool = s.pool[kind], i = s.used[kind]++;
    if (i >= pool.length) { var e = el(kind, {}); s.layer.appendChild(e); pool.push(e); }
    var e2 = pool[i];
    e2.style.display = "";
    return e2;
  }
  function dot(s, x, y, r, fill, stroke, sw) {
    var c = shape(s, "circle");
    c.setAttribute("cx", x.toFixed(1)); c.setAttribute("cy", y.toFixed(1)); c.setAttribute("r", r);
    c.setAttribute("fill", fill); c.setAttribute("stroke", stroke || "#fff"); c.setAttribute("stroke-width", sw || 1.5);
  }
  function square(s, x, y, size, fill, stroke) {
    var r = shape(s, "rect");
    r.setAttribute("x", (x - size / 2).toFixed(1)); r.setAttribute("y", (y - size / 2).toFixed(1));
    r.setAttribute("width", size); r.setAttribute("height", size);
    r.setAttribute("fill", fill); r.setAttribute("stroke", stroke || "none"); r.setAttribute("stroke-width", 2);
  }
  function cross(s, x, y, colour) {
    var p = shape(s, "path"), d = 7;
    p.setAttribute("d", "M" + (x - d) + "," + (y - d) + "L" + (x + d) + "," + (y + d) + "M" + (x + d) + "," + (y - d) + "L" + (x - d) + "," + (y + d));
    p.setAttribute("stroke", colour); p.setAttribute("stroke-width", 4); p.setAttribute("fill", "none");
  }

  function jitter(i, span) { return (((i * 2654435761) >>> 0) % 1000 / 1000 - 0.5) * span; }
  function bez(c, u) {
    var v = 1 - u, a = v * v * v, b = 3 * v * v * u, cc = 3 * v * u * u, d = u * u * u;
    return [a * c[0] + b * c[2] + cc * c[4] + d * c[6], a * c[1] + b * c[3] + cc * c[5] + d * c[7]];
  }
  function along(s, A, B, u, i) {
    var a = s.boxes[A], b = B >= 0 ? s.boxes[B] : null;
    if (!b || A === B) return inside(a, i);
    var c = s.links[a.key + "|" + b.key];
    if (c) return bez(c, u);
    return [a.x + (b.x - a.x) * u, a.y + (b.y - a.y) * u];
  }
  function inside(a, i) { return [a.x + jitter(i, a.w * 0.8), a.y + a.h / 2 - 6 + jitter(i * 7, 6)]; }

  function drawSide(s, t) {
    if (!s.svg || !s.data) return 0;
    if (!s.svg.isConnected) { s.svg = null; return 0; }
    s.used = {circle: 0, rect: 0, path: 0};
    var nb = s.boxes.length, qc = new Int32Array(nb), ql = new Int32Array(nb), shown = 0;
    var fol = lab.follow && lab.follow.event;
    for (var i = 0; i < s.n; i++) {
      if (s.t0[i] > t || s.t1[i] <= t) continue;
      var A = s.own[s.a[i]];
      if (A < 0) continue;
      var B = s.b[i] >= 0 ? s.own[s.b[i]] : -1, k = s.k[i], col = FAMILY[s.f[i]], p;
      var big = fol !== null && fol !== undefined && s.e[i] === fol;
      shown++;
      if (k === K.queue) { if (s.f[i]) ql[A]++; else qc[A]++; continue; }
      if (k === K.transit) { p = along(s, A, B, (t - s.t0[i]) / (s.t1[i] - s.t0[i]), i); dot(s, p[0], p[1], big ? 9 : 6, col, big ? "#000" : "#fff", big ? 3 : 1.5); }
      else if (k === K.meeting || k === K.board) { p = along(s, A, B, 0.14 + jitter(i, 0.1), i); dot(s, p[0], p[1], big ? 9 : 6, "#fff", col, 3); }
      else if (k === K.hold) { p = along(s, A, B, 0.14 + jitter(i, 0.1), i); square(s, p[0], p[1], big ? 14 : 11, "#fff", "#aa3377"); }
      else if (k === K.sanitise) { var b0 = s.boxes[A]; p = [b0.x - b0.w / 2 - 9, b0.y + jitter(i, b0.h * 0.6)]; dot(s, p[0], p[1], big ? 8 : 6, col, "#e69f00", 3.5); }
      else { p = inside(s.boxes[A], i); dot(s, p[0], p[1], big ? 8 : 4.5, col, big ? "#000" : "#fff", 1); }
    }
    stacks(s, qc, ql);
    stops(s, t);
    meetings(s, t);
    if (lab.follow) states(s, t);
    hideRest(s);
    s.shapes = s.used.circle + s.used.rect + s.used.path;
    return shown;
  }

  function stacks(s, qc, ql) {
    for (var A = 0; A < s.boxes.length; A++) {
      var n = qc[A] + ql[A];
      if (!n) continue;
      var b = s.boxes[A], x0 = b.x + b.w / 2 + 4, y0 = b.y + b.h / 2 - 7;
      for (var j = 0; j < Math.min(n, 40); j++) {
        var col = Math.floor(j / 6), row = j % 6;
        square(s, x0 + col * 8 + 3.5, y0 - row * 8 + 3.5, 7, j < qc[A] ? FAMILY[0] : FAMILY[1], null);
      }
    }
  }
  function stops(s, t) {
    var st = s.data.stops, flash = Math.max(0.5, lab.speed * 0.8);
    for (var j = 0; j < st.t.length; j++) {
      if (st.t[j] > t || st.t[j] <= t - flash) continue;
      var A = s.own[st.a[j]];
      if (A < 0) continue;
      var b = s.boxes[A];
      cross(s, b.x - b.w / 2 + 8 + jitter(j, 10), b.y - b.h / 2 - 2, STOP[st.s[j]]);
    }
  }
  function meetings(s, t) {
    var flash = Math.max(0.4, lab.speed * 0.6), now = [];
    s.data.meetings.forEach(function (m) {
      var on = false, ts = m.times;
      for (var j = 0; j < ts.length && ts[j] <= t; j++) if (ts[j] > t - flash) { on = true; break; }
      (s.meetLinks[m.name] || []).forEach(function (g) { g.classList.toggle("flash", on); });
      m.acts.forEach(function (c) {
        var i = s.byKey[c];
        if (i !== undefined) s.boxes[i].g.classList.toggle("flash", on);
      });
      if (on) now.push(m.label);
    });
    s.now = now;
  }
  function states(s, t) {
    var f = lab.follow && lab.follow[s.side || ""];
    var live = {};
    if (f) {
      var fr = null;
      for (var j = 0; j < f.frames.length && f.frames[j].t_h <= t + 1e-9; j++) fr = f.frames[j];
      if (fr) for (var n in fr.states) { var i = s.own[s.data.names.indexOf(n)]; if (i >= 0) live[i] = fr.states[n]; }
    }
    s.boxes.forEach(function (b, i) { if (live[i]) b.g.setAttribute("data-live", live[i]); else b.g.removeAttribute("data-live"); });
  }
  function hideRest(s) {
    for (var kind in s.pool) for (var i = s.used[kind]; i < s.pool[kind].length; i++) s.pool[kind][i].style.display = "none";
  }

  // counters: each consumer's events settled in time, late or lost by the clock
  function counters(side, s, t) {
    var box = $("counters_" + side);
    if (!box || !s.data) return;
    var fam = ($("count_family") || {}).value || "current", want = fam === "current" ? 0 : fam === "long_term" ? 1 : -1;
    if (!s.table || !s.table.isConnected) {
      var h = '<table class="lab counters-table"><thead><tr><th>consumer</th><th>in time</th><th>late</th><th>lost</th></tr></thead><tbody>';
      s.data.counters.forEach(function (c, i) { h += '<tr data-i="' + i + '"><td></td><td></td><td></td><td></td></tr>'; });
      box.innerHTML = h + "</tbody></table>";
      s.table = box.querySelector("table");
    }
    var rows = s.table.tBodies[0].rows;
    s.data.counters.forEach(function (c, i) {
      var n = [0, 0, 0];
      for (var j = 0; j < c.t.length && c.t[j] <= t; j++) if (want < 0 || c.f[j] === want) n[c.o[j]]++;
      var cells = rows[i].cells;
      cells[0].textContent = c.label; cells[1].textContent = n[0]; cells[2].textContent = n[1]; cells[3].textContent = n[2];
    });
  }

  function clockText(t) {
    if (!lab.startDate) return "";
    var d = new Date(lab.startDate.getTime() + t * 3600e3);
    var days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"], mon = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    var p = function (x) { return (x < 10 ? "0" : "") + x; };
    return days[d.getUTCDay()] + " " + p(d.getUTCDate()) + " " + mon[d.getUTCMonth()] + " " + d.getUTCFullYear() + " " +
      p(d.getUTCHours()) + ":" + p(d.getUTCMinutes()) + " (day " + Math.floor(t / 24) + ")";
  }

  function draw(force) {
    var t = lab.t, shown = 0, shapes = 0, now = [];
    for (var side in lab.sides) {
      var s = lab.sides[side];
      s.side = side;
      if (!s.svg) bind(side);
      shown += drawSide(s, t);
      shapes += s.shapes || 0;
      (s.now || []).forEach(function (m) { if (now.indexOf(m) < 0) now.push(m); });
    }
    lab.drawn = shown;  // reports in flight on both sides (moving, waiting, held, worked on, queued)
    lab.shapes = shapes;  // marks on the page (a queue's stack shows at most 40)
    var c = $("clock"); if (c) c.textContent = clockText(t);
    var ts = performance.now();
    if (force || ts - lab.lastCount > 120) {
      lab.lastCount = ts;
      for (var sd in lab.sides) counters(sd, lab.sides[sd], t);
      var sc = $("scrub"); if (sc && document.activeElement !== sc) sc.value = String(t);
      var nw = $("mission_now"); if (nw) nw.textContent = now.length ? "now sitting: " + now.join(", ") : "";
    }
  }

  function frame(ts) {
    if (!lab.playing) { lab.last = null; return; }
    if (lab.last !== null) lab.t = Math.min(lab.end, lab.t + (ts - lab.last) / 1000 * lab.speed);
    lab.last = ts;
    draw(false);
    lab.frames++;
    if (lab.t >= lab.end) { setPlaying(false); draw(true); return; }
    requestAnimationFrame(frame);
  }
  function setPlaying(on) {
    lab.playing = on && lab.end > 0;
    if (lab.playing && lab.t >= lab.end) lab.t = 0;
    var b = $("play");
    if (b) b.textContent = lab.playing ? "❚❚ Pause" : "▶ Play";
    if (lab.playing) { lab.last = null; requestAnimationFrame(frame); }
  }
  function boundaries(dir) {
    var t = lab.t, best = dir > 0 ? Infinity : -Infinity;
    for (var side in lab.sides) {
      var s = lab.sides[side];
      for (var i = 0; i < s.n; i++) {
        var a = s.t0[i], b = s.t1[i];
        if (dir > 0) { if (a > t + 1e-6 && a < best) best = a; if (b > t + 1e-6 && b < best) best = b; }
        else { if (a < t - 1e-6 && a > best) best = a; if (b < t - 1e-6 && b > best) best = b; }
      }
    }
    return isFinite(best) ? best : (dir > 0 ? lab.end : 0);
  }
  function step(dir) { setPlaying(false); lab.t = boundaries(dir); draw(true); }

  document.addEventListener("click", function (ev) {
    var b = ev.target.closest && ev.target.closest("#play, #step, #step_back, #class_view");
    if (!b) return;
    if (b.id === "play") setPlaying(!lab.playing);
    else if (b.id === "step") step(1);
    else if (b.id === "step_back") step(-1);
    else classView();
    b.blur();  // the keyboard goes back to the page: space then plays or pauses once
  });
  document.addEventListener("input", function (ev) {
    if (ev.target.id === "scrub") { lab.t = +ev.target.value; draw(true); }
  });
  document.addEventListener("change", function (ev) {
    var id = ev.target.id;
    if (id === "speed") lab.speed = +ev.target.value;
    if (id === "count_family") draw(true);
    // the replay's choices hand the keyboard back to the clock once made
    if (["speed", "count_family", "mission_days", "follow", "diff_consumer"].indexOf(id) >= 0) ev.target.blur();
  });
  document.addEventListener("keydown", function (ev) {
    var tag = (ev.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "select" || tag === "textarea" || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.key === " ") { ev.preventDefault(); setPlaying(!lab.playing); }
    else if (ev.key === "ArrowRight") { ev.preventDefault(); step(1); }
    else if (ev.key === "ArrowLeft") { ev.preventDefault(); step(-1); }
    else if (ev.key === "Home") { ev.preventDefault(); setPlaying(false); lab.t = 0; draw(true); }
    else if (ev.key === "c" || ev.key === "C") classView();
    else if (ev.key === "Escape" && document.body.classList.contains("class-view")) classView(false);
  });

  function watch(id) {
    var box = $(id);
    if (!box || !window.MutationObserver) return;
    new MutationObserver(function () {
      var side = id.replace("mission_", "");
      if (lab.sides[side]) { lab.sides[side].svg = null; bind(side); draw(true); }
    }).observe(box, {childList: true, subtree: false});
  }

  function start() {
    watch("mission_base"); watch("mission_changed");
    var tc = document.querySelector(".tab-content");
    if (tc && window.ResizeObserver) new ResizeObserver(sizeSoon).observe(tc);
    window.addEventListener("resize", sizeSoon);
    document.addEventListener("shown.bs.tab", function () { sizeSoon(); draw(true); });
    var sp = $("speed"); if (sp) lab.speed = +sp.value;
  }
  function handlers() {
    if (!window.Shiny || !Shiny.addCustomMessageHandler || lab.handlers) return;
    lab.handlers = true;
    Shiny.addCustomMessageHandler("mission", function (msg) {
      setData(msg.panel, msg.same ? lab.sides[msg.same].data : msg.data);
    });
    Shiny.addCustomMessageHandler("follow", function (msg) {
      lab.follow = msg.event === null ? null : msg;
      if (lab.follow) { setPlaying(false); lab.t = Math.max(0, msg.base.t_h - 0.25); }
      else for (var side in lab.sides) (lab.sides[side].boxes || []).forEach(function (b) { b.g.removeAttribute("data-live"); });
      draw(true);
    });
  }
  handlers();
  document.addEventListener("DOMContentLoaded", function () {
    handlers(); start();
    // Shiny announces its connection as a jQuery event
    if (window.jQuery) window.jQuery(document).on("shiny:connected", sendSize);
  });
})();
