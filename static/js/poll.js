// Live report: re-fetch the status fragment until verification is finished.
(function () {
  "use strict";
  var box = document.querySelector("[data-poll-url]");
  if (!box || !window.fetch) { return; }
  function tick() {
    if (box.getAttribute("data-final") === "true") { return; }
    fetch(box.getAttribute("data-poll-url"), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var fresh = holder.querySelector("[data-poll-url]");
        if (fresh) { box.replaceWith(fresh); box = fresh; }
      })
      .catch(function () { /* try again on the next tick */ })
      .finally(function () { setTimeout(tick, 1000); });
  }
  setTimeout(tick, 1000);
})();
