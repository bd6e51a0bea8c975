// Tenantry's small scripts: copy buttons, confirmation dialogs, progress on submit.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var copy = event.target.closest("[data-copy]");
    if (copy) {
      var source = document.getElementById(copy.getAttribute("data-copy"));
      if (!source) return;
      var text = source.value !== undefined ? source.value : source.textContent;
      var done = function () {
        var label = copy.textContent;
        copy.textContent = "Copied";
        copy.setAttribute("aria-live", "polite");
        setTimeout(function () { copy.textContent = label; }, 1500);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { source.select && source.select(); document.execCommand("copy"); done(); });
      } else {
        if (source.select) { source.select(); }
        document.execCommand("copy");
        done();
      }
    }
  });

  // Destructive forms carry data-confirm="..."; the dialog asks before they submit.
  var pending = null;
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute("data-confirm") && form !== pending) {
      event.preventDefault();
      var dialog = document.getElementById("confirm-dialog");
      document.getElementById("confirm-text").textContent = form.getAttribute("data-confirm");
      pending = form;
      dialog.showModal();
      dialog.querySelector("[data-confirm-ok]").focus();
      return;
    }
    var button = form.querySelector("button[type=submit], button:not([type])");
    if (button) { button.setAttribute("aria-busy", "true"); }
  });
  document.addEventListener("click", function (event) {
    var dialog = document.getElementById("confirm-dialog");
    if (event.target.matches("[data-confirm-cancel]")) { pending = null; dialog.close(); }
    if (event.target.matches("[data-confirm-ok]")) {
      dialog.close();
      var form = pending;
      if (form) { form.requestSubmit(); pending = null; }
    }
  });
})();
