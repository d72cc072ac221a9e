// Media pipeline admin: poll the job's progress while it runs; reload when it settles.
(function () {
  "use strict";
  var panel = document.getElementById("media-job");
  if (!panel || panel.dataset.running !== "true") return;
  var url = panel.dataset.progressUrl;
  var bar = document.getElementById("media-progress");
  var text = document.getElementById("media-progress-text");
  var status = document.getElementById("media-status");
  var error = document.getElementById("media-error");
  var log = document.getElementById("media-log");
  function tick() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (job) {
        bar.value = job.progress;
        text.textContent = job.progress + "%";
        status.textContent = job.status_display;
        status.className = "media-status media-status-" + job.status;
        if (job.log_tail) log.textContent = job.log_tail;
        if (job.error) { error.hidden = false; error.textContent = job.error; }
        if (job.running) { setTimeout(tick, 2000); } else { window.location.reload(); }
      })
      .catch(function () { setTimeout(tick, 5000); });
  }
  setTimeout(tick, 1000);
})();
