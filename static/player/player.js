/* Streamsite player: hls.js adaptive playback, menus, resume, trickplay, markers, heartbeats.
   Reads everything it needs from the JSON blob #player-config (written by the watch page). */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("player-config").textContent);
  // On-screen words come translated in the config (playback.views.player_labels); the
  // placeholders %(name)s are filled in here.
  function wording(name, values) {
    return config.labels[name].replace(/%\((\w+)\)s/g, function (_m, key) {
      return String(values[key]);
    });
  }
  var root = document.getElementById("player");
  var video = document.getElementById("player-video");
  function $(role) { return root.querySelector('[data-role="' + role + '"]'); }

  var state = {
    hls: null, seq: 0, heartbeats: 0, stopped: false, ended: false, retries: 0,
    mediaRecoveries: 0, levels: 0, countdown: null, cues: [], started: false
  };
  window.streamsitePlayer = state; // read by the browser tests and handy in a console

  var ICONS = {
    play: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M8 5v14l11-7z"/></svg>',
    pause: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M6 5h4v14H6zm8 0h4v14h-4z"/></svg>',
    sound: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 9v6h4l5 5V4L8 9zm12.5 3a4.5 4.5 0 0 0-2.5-4v8a4.5 4.5 0 0 0 2.5-4z"/></svg>',
    muted: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 9v6h4l5 5V4L8 9zm12.6 3 2.7-2.7-1.4-1.4-2.7 2.7-2.7-2.7-1.4 1.4 2.7 2.7-2.7 2.7 1.4 1.4 2.7-2.7 2.7 2.7 1.4-1.4z"/></svg>'
  };
  var AUTOPLAY_KEY = "streamsite:auto-advances";
  var STILL_WATCHING_AFTER = 3;

  // --- helpers -----------------------------------------------------------------------------
  function fmt(seconds) {
    if (!isFinite(seconds) || seconds < 0) seconds = 0;
    var s = Math.floor(seconds % 60), m = Math.floor(seconds / 60) % 60, h = Math.floor(seconds / 3600);
    var mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(s).padStart(2, "0");
  }
  function duration() {
    if (isFinite(video.duration) && video.duration > 0) return video.duration;
    return config.duration_seconds || 0;
  }
  function show(el, on) { if (el) el.hidden = !on; }

  // --- errors: always a message and a way forward, never a blank box -------------------------
  function showError(title, message, retry) {
    $("error-title").textContent = title;
    $("error-message").textContent = message;
    show($("error"), true);
    $("error-retry").onclick = function () { show($("error"), false); (retry || reloadPage)(); };
    root.classList.remove("is-loading");
  }
  function hideError() { show($("error"), false); }
  function reloadPage() { stopAndWait().then(function () { window.location.reload(); }); }

  // --- playback ------------------------------------------------------------------------------
  function tryPlay() {
    // While "Are you still watching?" is up nothing starts playing until the viewer answers.
    if (!$("still-watching").hidden) return;
    var attempt = video.play();
    if (attempt && attempt.catch) {
      attempt.catch(function () { root.classList.add("is-paused"); });
    }
  }

  // --- media tokens: short-lived, one per scope (a rendition folder, a file), renewed by every
  // heartbeat. Each media request puts the newest token of its scope in place of the one the
  // playlist was written with, so a long film never outlives its URLs while this session lives.
  var TOKEN = /\/t\/[0-9a-f]{8}[an]\/[A-Za-z0-9_-]{22}\/[0-9]{1,12}\/(hls\/[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+(?:\/|$))/;
  state.tokens = config.media_tokens || {};
  function fresh(url) {
    var match = TOKEN.exec(url);
    if (!match || !state.tokens[match[1]]) return url;
    return url.slice(0, match.index + 1) + state.tokens[match[1]] + url.slice(match.index + match[0].length);
  }

  function loadPolicy(firstByteMs, loadMs, errorRetries) {
    return {
      maxTimeToFirstByteMs: firstByteMs, maxLoadTimeMs: loadMs,
      timeoutRetry: { maxNumRetry: 1, retryDelayMs: 0, maxRetryDelayMs: 0 },
      errorRetry: { maxNumRetry: errorRetries, retryDelayMs: 500, maxRetryDelayMs: 2000 }
    };
  }

  function startHls() {
    var Hls = window.Hls;
    if (Hls && Hls.isSupported()) {
      var hls = new Hls({
        startPosition: config.resume_position_seconds || -1,
        capLevelToPlayerSize: true,
        enableWorker: true,
        // The master lists every rendition once per ranked edge (redundant streams): a dead
        // edge refuses at once and hls.js moves to the next; a hung one is given up on after
        // a short wait instead of hls.js's defaults (10 s, then retries for half a minute).
        fragLoadPolicy: { default: loadPolicy(4000, 60000, 2) },
        playlistLoadPolicy: { default: loadPolicy(4000, 10000, 1) },
        xhrSetup: function (xhr, url) { xhr.open("GET", fresh(url), true); }
      });
      state.hls = hls;
      if (window.streamsiteQoe) window.streamsiteQoe.attach(hls, Hls); // static/player/qoe.js
      hls.on(Hls.Events.MANIFEST_PARSED, function (_e, data) {
        state.levels = data.levels.length;
        buildQualityMenu(hls.levels);
        state.retries = 0;
        tryPlay();
      });
      hls.on(Hls.Events.LEVEL_SWITCHED, function (_e, data) { markQuality(data.level); });
      hls.on(Hls.Events.SUBTITLE_TRACKS_UPDATED, function () { buildSubtitleMenu(hls.subtitleTracks); });
      hls.on(Hls.Events.AUDIO_TRACKS_UPDATED, function () { buildAudioMenu(hls.audioTracks); });
      hls.on(Hls.Events.AUDIO_TRACK_SWITCHED, function (_e, data) { $("audio").value = String(data.id); });
      hls.on(Hls.Events.FRAG_LOADED, function () { state.retries = 0; });
      hls.on(Hls.Events.ERROR, function (_e, data) { onHlsError(Hls, data); });
      hls.loadSource(config.master_playlist_url);
      hls.attachMedia(video);
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = config.master_playlist_url; // Safari plays HLS natively
      video.addEventListener("loadedmetadata", function once() {
        video.removeEventListener("loadedmetadata", once);
        if (config.resume_position_seconds) video.currentTime = config.resume_position_seconds;
        tryPlay();
      });
    } else {
      showError(wording("unsupported_title"), wording("unsupported_body"));
    }
  }

  function onHlsError(Hls, data) {
    if (!data.fatal) return;
    var hls = state.hls;
    var status = data.response && data.response.code;
    if (status === 403) {
      hls.destroy();
      showError(wording("expired_title"), wording("expired_body"), reloadPage);
      return;
    }
    if (status === 404 || status === 410) {
      hls.destroy();
      showError(wording("missing_title"), wording("missing_body"), reloadPage);
      return;
    }
    if (data.type === Hls.ErrorTypes.NETWORK_ERROR && state.retries < 6) {
      state.retries += 1;
      var wait = Math.min(8000, 500 * Math.pow(2, state.retries));
      showError(wording("reconnecting_title"),
        wording("reconnecting_body", { seconds: Math.round(wait / 1000) }),
        function () { hls.startLoad(); });
      setTimeout(function () { hideError(); hls.startLoad(); }, wait);
      return;
    }
    if (data.type === Hls.ErrorTypes.MEDIA_ERROR && state.mediaRecoveries < 3) {
      state.mediaRecoveries += 1;
      if (state.mediaRecoveries === 2) hls.swapAudioCodec();
      hls.recoverMediaError();
      return;
    }
    hls.destroy();
    showError(wording("failed_title"), wording("failed_body"), function () {
        state.retries = 0; state.mediaRecoveries = 0;
        config.resume_position_seconds = video.currentTime || config.resume_position_seconds;
        startHls();
      });
  }

  video.addEventListener("error", function () {
    if (state.hls) return; // hls.js reports its own errors
    showError(wording("failed_title"), wording("failed_short"));
  });

  // --- menus ---------------------------------------------------------------------------------
  function buildQualityMenu(levels) {
    var select = $("quality");
    select.innerHTML = "";
    select.appendChild(new Option(wording("auto"), "-1"));
    for (var i = levels.length - 1; i >= 0; i -= 1) { // best first
      var level = levels[i];
      var label = level.height ? level.height + "p" : Math.round(level.bitrate / 1000) + " kbps";
      select.appendChild(new Option(label, String(i)));
    }
    select.value = "-1";
  }
  function markQuality(index) {
    var select = $("quality");
    var auto = select.options[0];
    var level = state.hls && state.hls.levels[index];
    if (auto && level) auto.textContent = wording("auto_level", { height: level.height });
  }
  $("quality").addEventListener("change", function (e) {
    if (state.hls) state.hls.currentLevel = parseInt(e.target.value, 10);
  });

  function buildSubtitleMenu(tracks) {
    var select = $("subtitles");
    select.innerHTML = "";
    select.appendChild(new Option(wording("subtitles_off"), "-1"));
    tracks.forEach(function (track, i) {
      var name = track.name || track.lang || wording("track", { number: i + 1 });
      select.appendChild(new Option(name, String(i)));
    });
    select.value = String(state.hls ? state.hls.subtitleTrack : -1);
    select.parentNode.hidden = tracks.length === 0;
  }
  $("subtitles").addEventListener("change", function (e) {
    if (!state.hls) return;
    var index = parseInt(e.target.value, 10);
    state.hls.subtitleDisplay = index >= 0;
    state.hls.subtitleTrack = index;
  });
  $("subtitles").parentNode.hidden = true;

  // Audio languages: the master's audio group (one rendition per language). The menu shows
  // only when there is a choice; a title whose variants carry their own sound has none.
  function buildAudioMenu(tracks) {
    var select = $("audio");
    select.innerHTML = "";
    tracks.forEach(function (track, i) {
      select.appendChild(new Option(track.name || track.lang || String(i + 1), String(i)));
    });
    select.value = String(state.hls ? state.hls.audioTrack : 0);
    select.parentNode.hidden = tracks.length < 2;
  }
  $("audio").addEventListener("change", function (e) {
    if (state.hls) state.hls.audioTrack = parseInt(e.target.value, 10);
  });

  // --- controls ------------------------------------------------------------------------------
  function togglePlay() { if (video.paused) tryPlay(); else video.pause(); }
  function seekBy(delta) {
    video.currentTime = Math.max(0, Math.min(duration() || Infinity, video.currentTime + delta));
  }
  function toggleMute() { video.muted = !video.muted; }
  function toggleFullscreen() {
    if (document.fullscreenElement) document.exitFullscreen();
    else if (root.requestFullscreen) root.requestFullscreen();
  }
  $("play").addEventListener("click", togglePlay);
  $("back10").addEventListener("click", function () { seekBy(-10); });
  $("fwd10").addEventListener("click", function () { seekBy(10); });
  $("mute").addEventListener("click", toggleMute);
  $("fullscreen").addEventListener("click", toggleFullscreen);
  video.addEventListener("click", togglePlay);
  video.addEventListener("dblclick", toggleFullscreen);

  var range = $("seek-range");
  range.addEventListener("input", function () { video.currentTime = parseFloat(range.value); });

  video.addEventListener("play", function () {
    root.classList.remove("is-paused"); $("play").innerHTML = ICONS.pause;
    $("play").setAttribute("aria-label", wording("pause"));
  });
  video.addEventListener("pause", function () {
    root.classList.add("is-paused"); $("play").innerHTML = ICONS.play;
    $("play").setAttribute("aria-label", wording("play"));
    heartbeat("paused");
  });
  video.addEventListener("volumechange", function () {
    $("mute").innerHTML = video.muted || video.volume === 0 ? ICONS.muted : ICONS.sound;
    $("mute").setAttribute("aria-label", wording(video.muted ? "unmute" : "mute"));
  });
  video.addEventListener("waiting", function () { root.classList.add("is-loading"); });
  video.addEventListener("playing", function () {
    root.classList.remove("is-loading"); hideError(); state.started = true;
  });
  video.addEventListener("timeupdate", onTime);
  video.addEventListener("durationchange", function () { range.max = String(duration()); });
  video.addEventListener("ended", onEnded);

  document.addEventListener("keydown", function (e) {
    var tag = (e.target && e.target.tagName) || "";
    if (tag === "SELECT" || tag === "TEXTAREA" || (tag === "INPUT" && e.target.type !== "range")) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var handled = true;
    switch (e.key) {
      case " ": case "k": case "K": togglePlay(); break;
      case "ArrowLeft": seekBy(-10); break;
      case "ArrowRight": seekBy(10); break;
      case "ArrowUp": video.volume = Math.min(1, video.volume + 0.1); video.muted = false; break;
      case "ArrowDown": video.volume = Math.max(0, video.volume - 0.1); break;
      case "f": case "F": toggleFullscreen(); break;
      case "m": case "M": toggleMute(); break;
      default: handled = false;
    }
    if (handled) { e.preventDefault(); wake(); }
  });

  // Hide the chrome while playing and the pointer rests.
  var idleTimer = null;
  function wake() {
    root.classList.remove("is-idle");
    clearTimeout(idleTimer);
    idleTimer = setTimeout(function () { if (!video.paused) root.classList.add("is-idle"); }, 3000);
  }
  root.addEventListener("mousemove", wake);
  root.addEventListener("touchstart", wake, { passive: true });

  // --- markers: Skip Intro, next episode --------------------------------------------------
  var markers = config.markers || {};
  function onTime() {
    var t = video.currentTime;
    var total = duration();
    if (document.activeElement !== range) {
      range.max = String(total);
      range.value = String(t);
    }
    $("time").textContent = fmt(t) + " / " + fmt(total);
    var inIntro = markers.intro_end !== undefined && t >= (markers.intro_start || 0) && t < markers.intro_end;
    show($("skip-intro"), inIntro);
    if (config.next_episode_url && markers.credits_start !== undefined &&
        t >= markers.credits_start && state.countdown === null) {
      startCountdown();
    }
  }
  $("skip-intro").addEventListener("click", function () {
    video.currentTime = markers.intro_end; show($("skip-intro"), false);
  });

  function goNext(automatic) {
    var count = parseInt(sessionStorage.getItem(AUTOPLAY_KEY) || "0", 10);
    sessionStorage.setItem(AUTOPLAY_KEY, String(automatic ? count + 1 : 0));
    stopAndWait().then(function () { window.location.href = config.next_episode_url; });
  }
  function startCountdown() {
    var left = 10;
    var next = config.next_episode || {};
    $("next-name").textContent = "S" + next.season + ":E" + next.number + " " + (next.name || "");
    $("next-countdown").textContent = String(left);
    show($("next-card"), true);
    state.countdown = setInterval(function () {
      left -= 1;
      $("next-countdown").textContent = String(left);
      if (left <= 0) { clearInterval(state.countdown); goNext(true); }
    }, 1000);
  }
  $("next-play").addEventListener("click", function () { clearInterval(state.countdown); goNext(false); });
  $("next-cancel").addEventListener("click", function () {
    clearInterval(state.countdown); state.countdown = false; show($("next-card"), false);
  });
  function onEnded() {
    state.ended = true;
    heartbeat("paused");
    // The lease stays while the page is open (the viewer may play again); leaving stops it.
    if (config.next_episode_url && state.countdown === null) startCountdown();
  }

  // "Are you still watching?" after three episodes that advanced on their own.
  function userActed() { sessionStorage.setItem(AUTOPLAY_KEY, "0"); }
  document.addEventListener("pointerdown", userActed, true);
  document.addEventListener("keydown", userActed, true);
  if (parseInt(sessionStorage.getItem(AUTOPLAY_KEY) || "0", 10) >= STILL_WATCHING_AFTER) {
    show($("still-watching"), true);
    video.addEventListener("play", function holdOff() {
      if (!$("still-watching").hidden) video.pause();
    });
  }
  $("still-yes").addEventListener("click", function () {
    userActed(); show($("still-watching"), false); tryPlay();
  });

  // --- trickplay: thumbnails over the seek bar (sprite + WebVTT map) -------------------
  function parseTime(text) {
    var parts = text.trim().split(":").map(parseFloat);
    return parts.reduce(function (acc, v) { return acc * 60 + v; }, 0);
  }
  function loadTrickplay() {
    if (!config.trickplay || !config.trickplay.vtt_url || state.trickplayLoading) return;
    state.trickplayLoading = true;
    var base = config.trickplay.vtt_url;
    fetch(fresh(base)).then(function (r) { return r.ok ? r.text() : ""; }).then(function (text) {
      text.split(/\r?\n\r?\n/).forEach(function (block) {
        var lines = block.trim().split(/\r?\n/);
        var timing = lines.filter(function (l) { return l.indexOf("-->") >= 0; })[0];
        if (!timing) return;
        var target = lines[lines.indexOf(timing) + 1] || "";
        var ends = timing.split("-->");
        var hash = target.split("#xywh=");
        var box = (hash[1] || "").split(",").map(Number);
        state.cues.push({
          start: parseTime(ends[0]), end: parseTime(ends[1]),
          url: new URL(hash[0], base).href, x: box[0], y: box[1], w: box[2], h: box[3]
        });
      });
    }).catch(function () { /* thumbnails are a nicety: seek still works without them */ })
      .then(function () { state.trickplayLoading = false; });
  }
  var seek = $("seek");
  seek.addEventListener("mousemove", function (e) {
    var rect = seek.getBoundingClientRect();
    var fraction = Math.max(0, Math.min(1, (e.clientX - rect.left) / rect.width));
    var t = fraction * duration();
    var thumb = $("thumb");
    $("thumb-time").textContent = fmt(t);
    var cue = state.cues.filter(function (c) { return t >= c.start && t < c.end; })[0];
    var image = $("thumb-image");
    if (cue) {
      image.style.width = cue.w + "px";
      image.style.height = cue.h + "px";
      image.style.backgroundImage = "url(" + JSON.stringify(fresh(cue.url)) + ")";
      image.style.backgroundPosition = -cue.x + "px " + -cue.y + "px";
      image.hidden = false;
    } else {
      image.hidden = true;
    }
    thumb.style.left = Math.max(0, Math.min(rect.width - 90, fraction * rect.width - 80)) + "px";
    show(thumb, true);
  });
  seek.addEventListener("mouseleave", function () { show($("thumb"), false); });

  // --- heartbeats and the stop beacon --------------------------------------------------------
  function position() { return Math.max(0, video.currentTime || 0); }
  function heartbeat(playerState) {
    if (state.stopped) return;
    state.seq += 1;
    var body = { seq: state.seq, position: position(), state: playerState || (video.paused ? "paused" : "playing") };
    if (isFinite(video.duration)) body.duration = video.duration;
    var qoe = window.streamsiteQoe && window.streamsiteQoe.take();
    if (qoe) body.qoe = qoe;
    fetch(config.heartbeat_url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": config.csrf_token },
      body: JSON.stringify(body)
    }).then(function (r) {
      if (r.ok) {
        state.heartbeats += 1;
        return r.json().then(function (data) {
          if (data && data.media_tokens) state.tokens = data.media_tokens;
          // The page's first token may have lapsed before the thumbnails map was fetched.
          if (!state.cues.length) loadTrickplay();
        });
      }
      return r.json().then(function (data) {
        var error = (data && data.error) || {};
        if (r.status === 409 || r.status === 403) {
          state.stopped = true;
          video.pause();
          showError(wording("stopped_title"), error.message || wording("stopped_body"), reloadPage);
        }
      });
    }).catch(function () { /* offline for a moment: the next beat renews the lease */ });
  }
  function stopForm() {
    state.stopped = true;
    state.seq += 1;
    var form = new URLSearchParams();
    form.set("seq", String(state.seq));
    form.set("position", String(position()));
    if (isFinite(video.duration)) form.set("duration", String(video.duration));
    // Always a report at the end, empty or not: a session left before its first frame counts.
    if (window.streamsiteQoe) form.set("qoe", JSON.stringify(window.streamsiteQoe.take() || {}));
    form.set("csrfmiddlewaretoken", config.csrf_token);
    return form;
  }
  // Leaving the page: a beacon survives the unload.
  function stop() {
    if (state.stopped) return;
    var form = stopForm();
    if (navigator.sendBeacon && navigator.sendBeacon(config.stop_url, form)) return;
    fetch(config.stop_url, { method: "POST", body: form, credentials: "same-origin", keepalive: true });
  }
  // Moving on inside the site (next episode, retry): free the stream slot first, so a plan
  // with one stream can start the next session (gives up waiting after 3 s).
  function stopAndWait() {
    if (state.stopped) return Promise.resolve();
    var sent = fetch(config.stop_url, {
      method: "POST", body: stopForm(), credentials: "same-origin", keepalive: true
    }).catch(function () {});
    var timeout = new Promise(function (resolve) { setTimeout(resolve, 3000); });
    return Promise.race([sent, timeout]);
  }
  state.stopAndWait = stopAndWait;
  // Media tokens live one heartbeat interval: beat at two thirds of it so they never lapse.
  setInterval(function () { heartbeat(); }, (config.heartbeat_interval_seconds || 15) * 667);
  window.addEventListener("pagehide", stop);

  // --- go ------------------------------------------------------------------------------------
  root.classList.add("is-loading");
  loadTrickplay();
  startHls();
  wake();
  root.focus();
})();
