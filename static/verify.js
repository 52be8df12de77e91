// /verify: a receipt checked in the browser, with WebCrypto (Ed25519, SHA-256).
// The file is read with FileReader and never sent: the only requests are GETs
// of the public keys and the published checkpoint, on this site.
(function () {
  "use strict";

  var TEXT = new TextEncoder();
  // RFC 8032 §7.1, test 1: a valid Ed25519 public key, to ask the browser whether it knows Ed25519.
  var PROBE_KEY = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
  var ACCEPTED_ALGS = ["EdDSA", "Ed25519"];  // Ed25519: receipts signed before EdDSA

  var form = document.getElementById("verify-form");
  var result = document.getElementById("verify-result");
  var messages = JSON.parse(document.getElementById("verify-messages").textContent);

  function Refused(key, vars) { this.key = key; this.vars = vars || {}; }

  function say(key, vars) {
    return messages[key].replace(/\{(\w+)\}/g, function (_, name) { return String((vars || {})[name]); });
  }

  function show(lines) {
    result.textContent = "";
    lines.forEach(function (line) {
      var p = document.createElement("p");
      p.className = "flash flash-" + line.kind;
      p.textContent = say(line.key, line.vars);
      result.appendChild(p);
    });
  }

  // --- bytes --------------------------------------------------------------------------------

  function fromBase64(text, url) {
    if (typeof text !== "string") { throw new Error("not base64"); }
    var b64 = url ? text.replace(/-/g, "+").replace(/_/g, "/") : text;
    if (url) { b64 += "===".slice((b64.length + 3) % 4); }
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4) { throw new Error("not base64"); }
    var raw = atob(b64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { bytes[i] = raw.charCodeAt(i); }
    // Canonical only: every character counts, as in the command-line verifier.
    if (toBase64(bytes, url) !== text) { throw new Error("not canonical base64"); }
    return bytes;
  }

  function toBase64(bytes, url) {
    var raw = "";
    for (var i = 0; i < bytes.length; i++) { raw += String.fromCharCode(bytes[i]); }
    var b64 = btoa(raw);
    return url ? b64.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "") : b64;
  }

  function fromHex(hex) {
    if (typeof hex !== "string" || !/^([0-9a-f]{2})+$/.test(hex)) { throw new Error("not hex"); }
    var bytes = new Uint8Array(hex.length / 2);
    for (var i = 0; i < bytes.length; i++) { bytes[i] = parseInt(hex.substr(i * 2, 2), 16); }
    return bytes;
  }

  function concat() {
    var parts = Array.prototype.slice.call(arguments), length = 0, offset = 0;
    parts.forEach(function (p) { length += p.length; });
    var out = new Uint8Array(length);
    parts.forEach(function (p) { out.set(p, offset); offset += p.length; });
    return out;
  }

  function equal(a, b) {
    if (a.length !== b.length) { return false; }
    for (var i = 0; i < a.length; i++) { if (a[i] !== b[i]) { return false; } }
    return true;
  }

  async function sha256(bytes) { return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)); }

  function sameJSON(a, b) {
    if (a === null || b === null || typeof a !== "object" || typeof b !== "object") { return a === b; }
    if (Array.isArray(a) !== Array.isArray(b)) { return false; }
    var keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) { return false; }
    return keys.every(function (k) { return Object.prototype.hasOwnProperty.call(b, k) && sameJSON(a[k], b[k]); });
  }

  // --- Ed25519 ------------------------------------------------------------------------------

  async function ed25519Supported() {
    try {
      if (!window.crypto || !crypto.subtle) { return false; }
      await crypto.subtle.importKey("raw", fromHex(PROBE_KEY), {name: "Ed25519"}, false, ["verify"]);
      return true;
    } catch (e) {
      return false;
    }
  }

  async function verifyEd25519(publicKey, signature, message) {
    try {
      return await crypto.subtle.verify("Ed25519", publicKey, signature, message);
    } catch (e) {
      return false;
    }
  }

  // --- the receipt's signature (RFC 7515 compact JWS, RFC 8037 EdDSA) -------------------------

  async function checkSignature(download, token, jwks) {
    var parts = token.split(".");
    if (parts.length !== 3) { throw new Refused("not_receipt"); }
    var header, payload;
    try {
      header = JSON.parse(new TextDecoder("utf-8", {fatal: true}).decode(fromBase64(parts[0], true)));
      fromBase64(parts[2], true);
      payload = fromBase64(parts[1], true);
    } catch (e) {
      throw new Refused("sig_bad");
    }
    if (ACCEPTED_ALGS.indexOf(header.alg) < 0) { throw new Refused("bad_alg", {alg: header.alg}); }
    var jwk = (jwks.keys || []).filter(function (k) {
      return k.kid === header.kid && k.kty === "OKP" && k.crv === "Ed25519";
    })[0];
    if (!jwk) { throw new Refused("unknown_key", {kid: header.kid}); }
    var key = await crypto.subtle.importKey("jwk", {kty: "OKP", crv: "Ed25519", x: jwk.x},
                                            {name: "Ed25519"}, false, ["verify"]);
    var signed = TEXT.encode(parts[0] + "." + parts[1]);
    if (!await verifyEd25519(key, fromBase64(parts[2], true), signed)) { throw new Refused("sig_bad"); }
    var document;
    try {
      document = JSON.parse(new TextDecoder("utf-8", {fatal: true}).decode(payload));
    } catch (e) {
      throw new Refused("sig_bad");
    }
    if (download) {
      if ("document" in download && !sameJSON(download.document, document)) { throw new Refused("doc_differs"); }
      if (("kid" in download && download.kid !== null && download.kid !== header.kid) ||
          ("alg" in download && download.alg !== null && download.alg !== header.alg)) {
        throw new Refused("doc_differs");
      }
      if (("receipt_id" in download && download.receipt_id !== document.consentReceiptID) ||
          ("issued_at" in download && download.issued_at !== document.issuedAt)) {
        throw new Refused("id_differs");
      }
    }
    return {document: document, kid: header.kid};
  }

  // --- C2SP signed notes and tlog-checkpoints ------------------------------------------------

  async function readVerifierKey(text) {
    var parts = text.trim().split("+");
    if (parts.length < 3) { throw new Error("not a verifier key"); }
    var name = parts[0], hash = parts[1], key = fromBase64(parts.slice(2).join("+"), false);
    if (key.length !== 33 || key[0] !== 1) { throw new Error("not an Ed25519 verifier key"); }
    var keyHash = (await sha256(concat(TEXT.encode(name + "\n"), key))).slice(0, 4);
    if (toHex(keyHash) !== hash.toLowerCase()) { throw new Error("the key hash does not match"); }
    var publicKey = await crypto.subtle.importKey("raw", key.slice(1), {name: "Ed25519"}, false, ["verify"]);
    return {name: name, hash: keyHash, publicKey: publicKey};
  }

  // Every key of a published list (/.well-known/consent-log/keys): one verifier key a line, the
  // active one first, then those retired by a rotation, which still verify what they signed.
  async function readVerifierKeys(text) {
    var lines = text.split("\n").filter(function (line) { return line.trim(); });
    var keys = [];
    for (var i = 0; i < lines.length; i++) { keys.push(await readVerifierKey(lines[i])); }
    if (!keys.length) { throw new Error("no verifier key"); }
    return keys;
  }

  function toHex(bytes) {
    return Array.prototype.map.call(bytes, function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
  }

  // The checkpoint a signed note carries, if a known key's signature on it holds; else null,
  // or OTHER_KEY when no signature line is by any of the keys at all.
  var OTHER_KEY = {};
  async function openCheckpoint(note, verifiers) {
    if (typeof note !== "string") { return null; }
    note = note.replace(/\r\n/g, "\n");
    var split = note.lastIndexOf("\n\n");
    if (split < 0 || note.slice(-1) !== "\n") { return null; }
    var text = note.slice(0, split + 1);
    var lines = note.slice(split + 2, -1).split("\n");
    for (var i = 0; i < lines.length; i++) {
      var line = lines[i];
      if (line.indexOf("\u2014 ") !== 0) { return null; }
      var space = line.lastIndexOf(" ");
      var signature;
      try { signature = fromBase64(line.slice(space + 1), false); } catch (e) { return null; }
      var verifier = verifiers.find(function (v) {
        return v.name === line.slice(2, space) && signature.length === 68 && equal(signature.slice(0, 4), v.hash);
      });
      if (!verifier) { continue; }
      if (!await verifyEd25519(verifier.publicKey, signature.slice(4), TEXT.encode(text))) { return null; }
      var body = text.split("\n");
      if (body.length < 4 || !/^(0|[1-9][0-9]*)$/.test(body[1])) { return null; }
      var root;
      try { root = fromBase64(body[2], false); } catch (e) { return null; }
      if (root.length !== 32) { return null; }
      return {origin: body[0], size: Number(body[1]), root: root};
    }
    return OTHER_KEY;
  }

  // --- RFC 9162 §2.1.3.2: the root an inclusion proof leads to ---------------------------------

  async function rootFromInclusion(index, size, leafHash, path) {
    if (index >= size) { return null; }
    var fn = index, sn = size - 1, r = leafHash;
    for (var i = 0; i < path.length; i++) {
      if (sn === 0) { return null; }
      if (fn % 2 === 1 || fn === sn) {
        r = await sha256(concat(Uint8Array.of(1), path[i], r));
        while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
      } else {
        r = await sha256(concat(Uint8Array.of(1), r, path[i]));
      }
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
    }
    return sn === 0 ? r : null;
  }

  async function checkLog(log, document, verifiers) {
    if (log === undefined || log === null) { return {kind: "info", key: "log_absent"}; }
    if (log.status === "pending") { return {kind: "info", key: "log_pending"}; }
    var checkpoint = await openCheckpoint(log.checkpoint, verifiers);
    if (checkpoint === OTHER_KEY) { return {kind: "error", key: "log_other_key"}; }
    if (!checkpoint) { throw new Refused("log_bad_checkpoint"); }
    if (checkpoint.origin !== log.log_id || checkpoint.size !== log.tree_size ||
        toBase64(checkpoint.root, false) !== log.root_hash) {
      throw new Refused("log_bad_fields");
    }
    var named = {};
    (document.events || []).forEach(function (e) { named[e.id] = e.hash; });
    var entries = Array.isArray(log.entries) ? log.entries : [];
    var proved = {};
    for (var i = 0; i < entries.length; i++) {
      var entry = entries[i];
      if (!entry || typeof entry.event !== "string" || !Object.prototype.hasOwnProperty.call(named, entry.event) ||
          named[entry.event] !== entry.event_hash) {
        throw new Refused("log_bad_entry");
      }
      var root = null;
      try {
        var leaf = await sha256(concat(Uint8Array.of(0), fromHex(entry.event_hash)));
        var path = entry.inclusion_path.map(function (h) { return fromBase64(h, false); });
        if (Number.isInteger(entry.leaf_index) && entry.leaf_index >= 0) {
          root = await rootFromInclusion(entry.leaf_index, checkpoint.size, leaf, path);
        }
      } catch (e) {
        root = null;
      }
      if (!root || !equal(root, checkpoint.root)) { throw new Refused("log_bad_proof", {event: entry.event}); }
      proved[entry.event] = true;
    }
    if (Object.keys(named).length === 0 || Object.keys(named).some(function (id) { return !proved[id]; })) {
      throw new Refused("log_missing");
    }
    return {kind: "success", key: "log_ok", checkpoint: checkpoint,
            vars: {count: entries.length, log: checkpoint.origin, size: checkpoint.size}};
  }

  // The receipt's checkpoint beside the one pasted (or, without one, the one published now).
  async function compareCheckpoints(ours, pasted, published, verifiers) {
    if (pasted) {
      var theirs = await openCheckpoint(pasted.trim() + "\n", verifiers);
      if (!theirs || theirs === OTHER_KEY) { return {kind: "error", key: "cp_pasted_bad"}; }
      var vars = {size: ours.size, other: theirs.size, low: Math.min(ours.size, theirs.size),
                  high: Math.max(ours.size, theirs.size)};
      if (theirs.size !== ours.size) { return {kind: "error", key: "cp_mismatch", vars: vars}; }
      if (!equal(theirs.root, ours.root) || theirs.origin !== ours.origin) {
        return {kind: "error", key: "cp_fork", vars: vars};
      }
      return {kind: "success", key: "cp_matches", vars: vars};
    }
    var now = published && await openCheckpoint(published, verifiers);
    if (!now || now === OTHER_KEY) { return {kind: "info", key: "cp_none"}; }
    if (now.size === ours.size) {
      return equal(now.root, ours.root) ? {kind: "success", key: "cp_published_matches", vars: {size: ours.size}}
                                        : {kind: "error", key: "cp_fork", vars: {size: ours.size}};
    }
    return {kind: "info", key: "cp_published_newer", vars: {size: ours.size, other: now.size}};
  }

  // --- the page -----------------------------------------------------------------------------

  function readFile(file) {
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onload = function () { resolve(reader.result); };
      reader.onerror = function () { reject(reader.error); };
      reader.readAsText(file, "utf-8");
    });
  }

  async function published(path, asJSON) {
    var response = await fetch(path, {credentials: "omit", cache: "no-store"});
    if (response.status === 404) { return null; }
    if (!response.ok) { throw new Error(path + ": " + response.status); }
    return asJSON ? response.json() : response.text();
  }

  async function check(file, pasted) {
    var text = (await readFile(file)).trim(), download = null, token = text;
    if (text.charAt(0) === "{") {
      try { download = JSON.parse(text); } catch (e) { throw new Refused("not_receipt"); }
      token = download && download.jws;
      if (typeof token !== "string" || !token) { throw new Refused("not_receipt"); }
    }
    var jwks, keyText, publishedNote;
    try {
      jwks = await published("/.well-known/jwks.json", true);
      keyText = await published("/.well-known/consent-log/keys", false);
      publishedNote = await published("/.well-known/consent-log/checkpoint", false);
    } catch (e) {
      return [{kind: "error", key: "fetch_failed"}];
    }
    var signed = await checkSignature(download, token, jwks);
    var lines = [{kind: "success", key: "verdict_ok",
                  vars: {id: signed.document.consentReceiptID, date: signed.document.issuedAt}},
                 {kind: "success", key: "sig_ok", vars: {kid: signed.kid}}];
    var verifiers = await readVerifierKeys(keyText);
    var log = await checkLog(download ? download.log : null, signed.document, verifiers);
    lines.push(log);
    if (log.checkpoint) { lines.push(await compareCheckpoints(log.checkpoint, pasted, publishedNote, verifiers)); }
    return lines;
  }

  async function start() {
    if (!await ed25519Supported()) {
      show([{kind: "error", key: "no_ed25519"}]);
      return;
    }
    form.hidden = false;
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      var file = document.getElementById("receipt-file").files[0];
      if (!file) { show([{kind: "error", key: "no_file"}]); return; }
      show([{kind: "info", key: "checking"}]);
      try {
        show(await check(file, document.getElementById("checkpoint-text").value.trim()));
      } catch (e) {
        var refused = e instanceof Refused ? e : new Refused("not_receipt");
        show([{kind: "error", key: "verdict_bad"}, {kind: "error", key: refused.key, vars: refused.vars}]);
      }
    });
  }

  start();
}());
