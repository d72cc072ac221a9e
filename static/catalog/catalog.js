// Catalogue pages: results as you type on the search page, and keyboard-friendly season tabs.
(function () {
  "use strict";

  var form = document.getElementById("search-form");
  if (form) {
    var timer = null;
    var latest = 0;
    var refresh = function () {
      var params = new URLSearchParams(new FormData(form));
      var url = form.action + "?" + params.toString();
      var ticket = ++latest;
      params.set("partial", "1");
      fetch(form.action + "?" + params.toString(), { headers: { "X-Requested-With": "fetch" } })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          if (ticket !== latest) return; // an older answer arriving late
          var target = document.getElementById("search-results");
          if (target) target.outerHTML = html;
          history.replaceState(null, "", url);
        })
        .catch(function () { /* keep the current results; submitting still works */ });
    };
    form.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(refresh, 180);
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      clearTimeout(timer);
      refresh();
    });
  }

  var tabs = Array.prototype.slice.call(document.querySelectorAll(".season-tab"));
  var select = function (tab) {
    tabs.forEach(function (t) {
      var on = t === tab;
      t.setAttribute("aria-selected", on ? "true" : "false");
      t.tabIndex = on ? 0 : -1;
      document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
    });
    tab.focus();
  };
  tabs.forEach(function (tab, i) {
    tab.addEventListener("click", function () { select(tab); });
    tab.addEventListener("keydown", function (event) {
      if (event.key === "ArrowRight") select(tabs[(i + 1) % tabs.length]);
      if (event.key === "ArrowLeft") select(tabs[(i - 1 + tabs.length) % tabs.length]);
    });
  });
})();
