// sloctl pages: optional enhancements. Every page works without this file.
// - automatic refresh every <body data-refresh> seconds (0: off), pausable, paused while typing
//   or while the tab is hidden;
// - the overview's search box filters rows as you type (the form still filters on the server);
// - "/" focuses the search box.
(function () {
  "use strict";
  var KEY = "sloctl.autoRefresh";

  function autoRefresh() {
    var seconds = parseInt(document.body.getAttribute("data-refresh") || "0", 10);
    var button = document.getElementById("auto-refresh");
    var status = document.getElementById("refresh-status");
    if (!seconds || !button) return;
    var on = window.localStorage.getItem(KEY) !== "off";
    var due = Date.now() + seconds * 1000;
    button.hidden = false;

    function show() {
      button.setAttribute("aria-pressed", on ? "true" : "false");
      button.textContent = on ? "Auto-refresh: on" : "Auto-refresh: off";
    }
    function busy() {
      var active = document.activeElement;
      return document.hidden || (active && (active.tagName === "INPUT" || active.tagName === "SELECT"));
    }
    function tick() {
      if (!on) { status.textContent = ""; return; }
      var left = Math.max(0, Math.round((due - Date.now()) / 1000));
      if (left === 0) {
        if (busy()) { due = Date.now() + 5000; return; }
        window.location.reload();
        return;
      }
      status.textContent = "next in " + left + "s";
    }
    button.addEventListener("click", function () {
      on = !on;
      window.localStorage.setItem(KEY, on ? "on" : "off");
      due = Date.now() + seconds * 1000;
      show();
      tick();
    });
    show();
    tick();
    window.setInterval(tick, 1000);
  }

  function liveSearch() {
    var input = document.getElementById("f-q");
    var table = document.getElementById("slos");
    var count = document.getElementById("shown-count");
    if (!input || !table) return;
    var rows = Array.prototype.slice.call(table.querySelectorAll("tr.slo"));
    var groups = Array.prototype.slice.call(table.querySelectorAll("tbody.group"));

    function matches(text, tokens) {
      for (var i = 0; i < tokens.length; i++) {
        var t = tokens[i];
        if (t.indexOf("=") >= 0) {
          if ((" " + text + " ").indexOf(" " + t + " ") < 0) return false;
        } else if (text.indexOf(t) < 0) {
          return false;
        }
      }
      return true;
    }
    input.addEventListener("input", function () {
      var tokens = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      rows.forEach(function (row) {
        var ok = matches(row.getAttribute("data-search") || "", tokens);
        row.hidden = !ok;
        if (ok) shown++;
      });
      groups.forEach(function (group) {
        group.hidden = !group.querySelector("tr.slo:not([hidden])");
      });
      if (count) count.textContent = String(shown);
    });
    document.addEventListener("keydown", function (event) {
      var active = document.activeElement;
      if (event.key === "/" && !(active && (active.tagName === "INPUT" || active.tagName === "SELECT"))) {
        event.preventDefault();
        input.focus();
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    autoRefresh();
    liveSearch();
  });
})();
