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
        var label = copy.textContent, aria = copy.getAttribute("aria-label");
        copy.textContent = "Copied";
        if (aria) { copy.setAttribute("aria-label", "Copied"); }
        copy.setAttribute("aria-live", "polite");
        setTimeout(function () {
          copy.textContent = label;
          if (aria) { copy.setAttribute("aria-label", aria); }
        }, 1500);
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

  // "Go back" on the error page: the previous page when there is one (no inline script, which
  // the Content-Security-Policy refuses); the link's own address otherwise.
  document.addEventListener("click", function (event) {
    var back = event.target.closest("[data-history-back]");
    if (back && window.history.length > 1) {
      event.preventDefault();
      window.history.back();
    }
  });

  // Destructive forms carry data-confirm="..."; the dialog asks before they submit. The button
  // that submitted is kept, so its name=value (e.g. action=disable) is still sent; Escape or
  // Cancel forgets the form, so the next attempt asks again.
  var pending = null;
  var pendingButton = null;
  var confirmed = null;
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute("data-confirm") && form !== confirmed) {
      event.preventDefault();
      var dialog = document.getElementById("confirm-dialog");
      document.getElementById("confirm-text").textContent = form.getAttribute("data-confirm");
      pending = form;
      pendingButton = event.submitter || null;
      dialog.showModal();
      dialog.querySelector("[data-confirm-ok]").focus();
      return;
    }
    confirmed = null;
    var button = event.submitter || form.querySelector("button[type=submit], button:not([type])");
    if (button) { button.setAttribute("aria-busy", "true"); }
  });
  // A form htmx sent stays on the page (only its target is replaced): free its button again,
  // or a second search could not be clicked.
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.target.closest && event.target.closest("form");
    if (form) {
      form.querySelectorAll("[aria-busy=true]").forEach(function (b) { b.removeAttribute("aria-busy"); });
    }
  });
  document.addEventListener("click", function (event) {
    var dialog = document.getElementById("confirm-dialog");
    if (event.target.matches("[data-confirm-cancel]")) { dialog.close(); }
    if (event.target.matches("[data-confirm-ok]")) {
      var form = pending, button = pendingButton;
      dialog.close();
      if (form) { confirmed = form; form.requestSubmit(button); }
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    var dialog = document.getElementById("confirm-dialog");
    if (dialog) {
      dialog.addEventListener("close", function () { pending = null; pendingButton = null; });
    }
  });
})();
