/* Streamsite player QoE: watches the <video> element and hls.js, and hands each heartbeat (and
   the stop beacon) a report of what happened since the previous one: time to first frame,
   stalls, time-weighted bitrate, rendition switches, dropped frames, errors and the edge used.
   Loaded before player.js, which calls attach(hls, Hls) and take(); see docs/playback.md. */
(function () {
  "use strict";

  var video = document.getElementById("player-video");
  if (!video) return;
  var HOUR_MS = 3600000;
  var now = function () { return performance.now(); };

  var q = {
    t0: now(), startupMs: null, startupSent: false,
    playingSince: null, stallSince: null,
    playedMs: 0, kbpsMs: 0, stallCount: 0, stallMs: 0, switches: 0,
    level: null, kbps: 0, levels: [], droppedSent: 0, fatal: 0, recovered: 0, edge: ""
  };

  function clamp(value, max) { return Math.max(0, Math.min(max, Math.round(value))); }
  function closePlaying(at) {
    if (q.playingSince === null) return;
    var spent = at - q.playingSince;
    q.playedMs += spent;
    q.kbpsMs += spent * q.kbps;
    q.playingSince = null;
  }
  function closeStall(at) {
    if (q.stallSince === null) return;
    q.stallMs += at - q.stallSince;
    q.stallSince = null;
  }

  video.addEventListener("playing", function () {
    var at = now();
    if (q.startupMs === null) q.startupMs = at - q.t0;
    closeStall(at);
    q.playingSince = at;
  });
  video.addEventListener("waiting", function () {
    var at = now();
    closePlaying(at);
    // Waiting after the first frame, not caused by a seek, is a stall (rebuffering).
    if (q.startupMs !== null && !video.seeking && q.stallSince === null) {
      q.stallCount += 1;
      q.stallSince = at;
    }
  });
  ["pause", "ended", "seeking", "emptied"].forEach(function (name) {
    video.addEventListener(name, function () { var at = now(); closePlaying(at); closeStall(at); });
  });

  function attach(hls, Hls) {
    hls.on(Hls.Events.LEVEL_SWITCHED, function (_e, data) {
      var level = hls.levels[data.level];
      closePlaying(now());
      if (!video.paused && q.startupMs !== null && q.stallSince === null) q.playingSince = now();
      if (q.level !== null && q.level !== data.level) q.switches += 1;
      q.level = data.level;
      q.kbps = level ? level.bitrate / 1000 : 0;
    });
    hls.on(Hls.Events.FRAG_LOADED, function (_e, data) {
      try { q.edge = new URL(data.frag.url, window.location.href).host; } catch (err) { /* keep */ }
    });
    hls.on(Hls.Events.ERROR, function (_e, data) {
      if (data.fatal) q.fatal += 1; else q.recovered += 1;
    });
  }

  // What happened since the previous call, within the server's bounds; null when nothing did.
  function take() {
    var at = now();
    if (q.playingSince !== null) { closePlaying(at); q.playingSince = at; }
    if (q.stallSince !== null) { closeStall(at); q.stallSince = at; }
    var report = {};
    if (q.startupMs !== null && !q.startupSent) {
      report.startup_ms = clamp(q.startupMs, 600000);
      q.startupSent = true;
    }
    if (q.playedMs >= 1) {
      report.played_ms = clamp(q.playedMs, HOUR_MS);
      report.avg_kbps = Math.min(200000, Math.round(q.kbpsMs / q.playedMs));
    }
    if (q.stallCount) report.stall_count = clamp(q.stallCount, 1000);
    if (q.stallMs >= 1) report.stall_ms = clamp(q.stallMs, HOUR_MS);
    if (q.switches) report.switches = clamp(q.switches, 1000);
    if (q.level !== null) report.level = clamp(q.level, 63);
    if (video.getVideoPlaybackQuality) {
      var dropped = video.getVideoPlaybackQuality().droppedVideoFrames || 0;
      if (dropped > q.droppedSent) report.dropped_frames = clamp(dropped - q.droppedSent, 1000000);
      q.droppedSent = dropped;
    }
    if (q.fatal) report.fatal_errors = clamp(q.fatal, 100);
    if (q.recovered) report.recovered_errors = clamp(q.recovered, 1000);
    if (q.edge) report.edge = q.edge.slice(0, 255);
    q.playedMs = 0; q.kbpsMs = 0; q.stallCount = 0; q.stallMs = 0; q.switches = 0;
    q.fatal = 0; q.recovered = 0;
    return Object.keys(report).length ? report : null;
  }

  window.streamsiteQoe = { attach: attach, take: take, state: q };
})();
