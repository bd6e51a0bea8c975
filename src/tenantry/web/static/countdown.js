// Countdowns of just-in-time elevations: each [data-seconds-left] element counts down to zero,
// once a second, in the words the server wrote it with ("1 h 05 min 09 s left"). The seconds
// are the server's, counted from when the page arrived, so a wrong clock on this computer
// does not change them; without this script the text says what was left when the page loaded.
(function () {
  "use strict";
  function words(seconds) {
    if (seconds <= 0) { return "time is up"; }
    var hours = Math.floor(seconds / 3600);
    var minutes = Math.floor((seconds % 3600) / 60);
    var secs = seconds % 60;
    var two = function (n) { return (n < 10 ? "0" : "") + n; };
    if (hours) { return hours + " h " + two(minutes) + " min " + two(secs) + " s left"; }
    if (minutes) { return minutes + " min " + two(secs) + " s left"; }
    return secs + " s left";
  }
  function start() {
    var loaded = Date.now();
    var timers = Array.prototype.slice.call(document.querySelectorAll("[data-seconds-left]"));
    if (!timers.length) { return; }
    var tick = function () {
      var gone = Math.floor((Date.now() - loaded) / 1000);
      timers.forEach(function (timer) {
        var left = Math.max(0, parseInt(timer.getAttribute("data-seconds-left"), 10) - gone);
        var text = words(left);
        if (timer.textContent !== text) { timer.textContent = text; }
        if (left === 0) { timer.classList.add("over"); }
      });
    };
    tick();
    setInterval(tick, 1000);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
