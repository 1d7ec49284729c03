// The learner page's "Share as a link": signs a publish request for a bundle the learner signed
// with the learner's key file, here in the browser (the key is never sent), posts it to
// /v1/shares and shows the link and its QR code. No libraries, no network but this server.
"use strict";

const publishForm = document.getElementById("publish");
const published = document.getElementById("published");

// RFC 8785 (JCS): what the ledger verifies the signature over.
function jcs(value) {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return "[" + value.map(jcs).join(",") + "]";
  return "{" + Object.keys(value).sort().map((k) => JSON.stringify(k) + ":" + jcs(value[k])).join(",") + "}";
}

function base64url(bytes) {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64url(text) {
  const plain = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(plain, (c) => c.charCodeAt(0));
}

// A key file is "CREDLEDGER-ED25519-SECRET-KEY-1 <base64url of the 32-byte seed>".
async function signingKey(text) {
  const [label, seed] = text.trim().split(/\s+/);
  const bytes = label === "CREDLEDGER-ED25519-SECRET-KEY-1" && seed ? fromBase64url(seed) : null;
  if (!bytes || bytes.length !== 32) throw new Error("the key file is not a credledger key file");
  // PKCS #8 for an Ed25519 seed: a fixed prefix, then the seed.
  const prefix = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
  const pkcs8 = Uint8Array.from([...prefix, ...bytes]);
  return crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, false, ["sign"]);
}

function show(...nodes) {
  published.replaceChildren(...nodes);
}

function para(text, attrs) {
  const p = document.createElement("p");
  for (const [k, v] of Object.entries(attrs || {})) p.setAttribute(k, v);
  p.textContent = text;
  return p;
}

if (publishForm) {
  publishForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const bundleFile = document.getElementById("publish-bundle").files[0];
    const keyFile = document.getElementById("publish-key").files[0];
    if (!bundleFile || !keyFile) {
      show(para("Choose the signed bundle file and your key file first.", { role: "alert" }));
      return;
    }
    show(para("Publishing…"));
    try {
      let bundle;
      try {
        bundle = JSON.parse(await bundleFile.text());
      } catch (_) {
        throw new Error("the bundle file is not JSON");
      }
      const key = await signingKey(await keyFile.text());
      const days = Number(document.getElementById("publish-days").value);
      const at = new Date().toISOString().replace(/\.\d+Z$/, "Z");
      const request = { v: 1, action: "publish", bundle, days, at };
      const signature = await crypto.subtle.sign("Ed25519", key, new TextEncoder().encode(jcs(request)));
      request.sig = base64url(new Uint8Array(signature));
      const response = await fetch("/v1/shares", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(request),
      });
      const answer = await response.json();
      if (!response.ok) throw new Error(answer.detail || response.statusText);
      const link = document.createElement("a");
      link.href = answer.link;
      link.id = "share-link";
      link.textContent = answer.link;
      const qr = new DOMParser().parseFromString(answer.qr_svg, "image/svg+xml").documentElement;
      const figure = document.createElement("figure");
      figure.className = "qr";
      const svg = document.importNode(qr, true);
      svg.setAttribute("role", "img");
      svg.setAttribute("aria-label", "QR code of the link");
      figure.append(svg);
      const line = para("Your link, until " + answer.expires_at.slice(0, 10) + ": ");
      line.append(link);
      show(line, figure);
    } catch (err) {
      show(para("Could not publish: " + err.message, { role: "alert", class: "fail" }));
    }
  });
}
