// Passkeys: the browser's side of WebAuthn (no inline script: the Content-Security-Policy
// refuses it). A button with data-passkey="create" or "get" names its form in
// data-passkey-form; the form carries the options the server made (data-options, JSON with
// base64url bytes, as py_webauthn's options_to_json writes them) and a hidden "credential"
// field. The button asks navigator.credentials, puts the answer into that field as JSON (the
// shape of PublicKeyCredential.toJSON()) and submits the form; the server verifies it.
(function () {
  "use strict";

  function fromBase64url(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) { base64 += "="; }
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) { bytes[i] = binary.charCodeAt(i); }
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) { binary += String.fromCharCode(bytes[i]); }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (item) {
      var out = { type: item.type, id: fromBase64url(item.id) };
      if (item.transports) { out.transports = item.transports; }
      return out;
    });
  }

  function creationOptions(json) {
    var options = Object.assign({}, json);
    options.challenge = fromBase64url(json.challenge);
    options.user = Object.assign({}, json.user, { id: fromBase64url(json.user.id) });
    options.excludeCredentials = descriptors(json.excludeCredentials);
    return options;
  }

  function requestOptions(json) {
    var options = Object.assign({}, json);
    options.challenge = fromBase64url(json.challenge);
    options.allowCredentials = descriptors(json.allowCredentials);
    return options;
  }

  function credentialJSON(credential) {
    var response = credential.response;
    var out = {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      response: { clientDataJSON: toBase64url(response.clientDataJSON) },
      clientExtensionResults: credential.getClientExtensionResults
        ? credential.getClientExtensionResults() : {}
    };
    if (credential.authenticatorAttachment) {
      out.authenticatorAttachment = credential.authenticatorAttachment;
    }
    if (response.attestationObject) {
      out.response.attestationObject = toBase64url(response.attestationObject);
      out.response.transports = response.getTransports ? response.getTransports() : [];
    }
    if (response.authenticatorData) {
      out.response.authenticatorData = toBase64url(response.authenticatorData);
      out.response.signature = toBase64url(response.signature);
      if (response.userHandle) { out.response.userHandle = toBase64url(response.userHandle); }
    }
    return out;
  }

  function say(form, text) {
    var status = form.querySelector(".passkey-status");
    if (status) { status.textContent = text; }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-passkey]");
    if (!button) { return; }
    event.preventDefault();
    var form = document.getElementById(button.getAttribute("data-passkey-form"));
    if (!form) { return; }
    if (!window.PublicKeyCredential || !navigator.credentials) {
      say(form, "This browser can't use passkeys.");
      return;
    }
    var options = JSON.parse(form.getAttribute("data-options"));
    var creating = button.getAttribute("data-passkey") === "create";
    say(form, "");
    button.setAttribute("aria-busy", "true");
    button.disabled = true;
    var asked = creating
      ? navigator.credentials.create({ publicKey: creationOptions(options) })
      : navigator.credentials.get({ publicKey: requestOptions(options) });
    asked.then(function (credential) {
      if (!credential) { throw new Error("no passkey"); }
      form.querySelector("input[name=credential]").value =
        JSON.stringify(credentialJSON(credential));
      form.submit();
    }).catch(function (error) {
      button.removeAttribute("aria-busy");
      button.disabled = false;
      var cancelled = error && error.name === "NotAllowedError";
      var known = error && error.name === "InvalidStateError";
      say(form, cancelled
        ? "No passkey was used (cancelled, or it took too long). Try again."
        : known
          ? "This authenticator holds a passkey of this account already."
          : "The browser could not use a passkey: " + (error && error.message ? error.message : error));
    });
  });
})();
