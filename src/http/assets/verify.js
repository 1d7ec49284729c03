// The verification page: sends a bundle to /verify/report and shows the verdict the server
// renders in plain words; sends a standard credential to /v1/verify-vc and shows its report here
// (the verdict, each check, who issued it). An empty form asks for a file.
// No libraries, no network but this server.
"use strict";

const form = document.getElementById("form");
const fileInput = document.getElementById("file");
const text = document.getElementById("text");
const drop = document.getElementById("drop");
const result = document.getElementById("result");

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  for (const child of children) node.append(child);
  return node;
}

async function readFile(file) {
  text.value = await file.text();
}

fileInput.addEventListener("change", () => {
  if (fileInput.files.length) readFile(fileInput.files[0]);
});
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  if (e.dataTransfer.files.length) readFile(e.dataTransfer.files[0]).then(() => form.requestSubmit());
});

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  // Nothing chosen: ask for a file rather than judge nothing.
  if (!text.value.trim()) {
    result.replaceChildren(el("p", { id: "verdict", class: "ask", role: "status" },
      "Choose a bundle file (or paste one) first, then press Verify."));
    return;
  }
  result.replaceChildren(el("p", {}, "Checking…"));
  const params = new URLSearchParams();
  for (const name of ["audience", "nonce"]) {
    const value = document.getElementById(name).value.trim();
    if (value) params.set(name, value);
  }
  // Days here, seconds for the API; an empty field sets no limit.
  const maxAge = document.getElementById("max-age");
  const days = maxAge.value.trim();
  if (days || maxAge.validity.badInput) {
    const n = Number(days);
    if (maxAge.validity.badInput || !Number.isFinite(n) || n < 0) {
      result.replaceChildren(el("p", { class: "fail", role: "alert" },
        "Could not verify: the maximum status age must be a number of days, 0 or more"));
      return;
    }
    params.set("max_age", String(Math.round(n * 86400)));
  }
  // A ledger bundle has entries; a standard credential (W3C VC / Open Badges) has a proof.
  let endpoint = "/v1/verify";
  try {
    const doc = JSON.parse(text.value);
    if (doc && doc.credentialSubject && doc.proof && !doc.entries) endpoint = "/v1/verify-vc";
  } catch (_) { /* not JSON: the bundle check will say so */ }
  try {
    // A bundle's verdict is rendered by the server, in plain words (the same renderer as share
    // links); a standard credential's report is rendered here.
    const bundle = endpoint === "/v1/verify";
    const response = await fetch((bundle ? "/verify/report?" + params : endpoint), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: text.value,
    });
    if (!response.ok) {
      const problem = await response.json().catch(() => ({}));
      throw new Error(problem.detail || response.statusText);
    }
    if (bundle) {
      result.innerHTML = await response.text();
      const verdict = document.getElementById("verdict");
      if (verdict) verdict.focus();
    } else {
      render(await response.json());
    }
  } catch (err) {
    result.replaceChildren(el("p", { class: "fail", role: "alert" }, "Could not verify: " + err.message));
  }
});

// "2026-12-03T10:00:00Z" as people read it: "2026-12-03 10:00 UTC".
function when(instant) {
  return `${instant.slice(0, 10)} ${instant.slice(11, 16)} UTC`;
}

function render(report) {
  const ran = (c) => c.ran !== false;
  const failed = report.checks.filter((c) => ran(c) && !c.ok).length;
  const notRun = report.checks.filter((c) => !ran(c)).length;
  const valid = report.verdict === "VALID";
  const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
  // A standard credential's REVOKED, SUSPENDED or STATUS-UNKNOWN says why in its status check.
  // (One check per status entry: `credential.status`, or `credential.status.revocation` and
  // `credential.status.suspension` for Bitstring Status Lists; the one that failed says why.)
  const statuses = report.checks.filter((c) => c.name === "credential.status" || c.name.startsWith("credential.status."));
  const decided = (c) => c.ran && !c.ok && c.detail.startsWith(report.verdict.toLowerCase());
  const status = statuses.find(decided) || statuses.find((c) => c.ran && !c.ok) || statuses[0];
  let headline = valid ? "VALID: every check passed"
    : report.verdict === "INVALID" ? `INVALID: ${plural(failed, "check")} failed` + (notRun ? `, ${notRun} not run` : "")
    : `${report.verdict}: ${status ? status.detail : "see the checks"}`;
  if (report.status_as_of) headline += ` — status as of ${when(report.status_as_of)}`;
  const verdict = el("h2", { id: "verdict", class: valid ? "pass" : "fail" }, headline);
  const checks = el("ul", { id: "checks", class: "checks" });
  for (const c of report.checks) {
    const mark = !ran(c) ? "– Not run" : c.ok ? "✓ Passed" : "✗ Failed";
    checks.append(el("li", { class: !ran(c) ? "skipped" : c.ok ? "pass" : "fail", "data-check": c.name },
      el("span", { class: "mark" }, mark), " ", el("strong", {}, c.name), ": ", c.detail));
  }
  const parts = [verdict];
  if (report.learner) parts.push(el("p", {}, "Learner: ", el("code", {}, report.learner)));
  // A standard credential's issuer: named by this ledger's registry, by the credential itself
  // (self-asserted), or by its id alone.
  if (report.issuer) {
    const issuer = report.issuer;
    const source = !issuer.name ? "the credential gives no name"
      : issuer.name_source && issuer.name_source.kind === "registry" ? `registered on the ledger ${issuer.name_source.ledger}`
      : "self-asserted by the credential";
    // Every proof's binding (`proof.issuer`, or `proof[i].issuer` in a proof set) passed.
    const bindings = report.checks.filter((c) => /^proof(\[\d+\])?\.issuer$/.test(c.name));
    const signed = report.signer && bindings.length > 0 && bindings.every((c) => c.ok);
    parts.push(el("p", { id: "issuer" }, signed ? "Signed by the issuer " : "Names as its issuer ",
      issuer.name ? `${issuer.name} (${source}): ` : `(${source}) `, el("code", {}, issuer.id)));
  }
  // A binding this verifier did not ask for is shown, not checked.
  const required = (name) => report.checks.some((c) => c.name === name);
  for (const what of ["audience", "nonce"]) {
    if (report[what] && !required(`request.${what}`)) {
      parts.push(el("p", { class: "binding", "data-binding": what },
        `Bound to ${what} `, el("code", {}, report[what]), "; not required by this verifier."));
    }
  }
  parts.push(el("h3", {}, "Checks"), checks);
  if (report.credentials && report.credentials.length) {
    const shown = (c) => (c.status_now && c.status_now !== c.status ? `${c.status}, ${c.status_now} now` : c.status) || "no status";
    const active = (c) => c.status === "active" && (!c.status_now || c.status_now === "active");
    const rows = report.credentials.map((c) => el("tr", {},
      el("td", {}, c.title), el("td", {}, c.kind), el("td", {}, c.issuer_name || "unknown issuer"),
      el("td", {}, c.completed_on), el("td", { class: active(c) ? "pass" : "fail" }, shown(c))));
    const heading = valid ? "Credentials" : "Credentials presented (not verified: the bundle is INVALID)";
    parts.push(el("h3", {}, heading), el("table", {},
      el("thead", {}, el("tr", {}, ...["Title", "Kind", "Issuer", "Date", "Status"].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, ...rows)));
  }
  if (report.skills && report.skills.length) {
    const titles = Object.fromEntries(report.credentials.map((c) => [c.id, c.title]));
    const skills = el("ul", { id: "skills", class: "skills" });
    for (const s of report.skills) {
      skills.append(el("li", {}, el("strong", {}, s.label), " ", el("code", {}, s.id),
        el("ul", {}, ...s.evidence.map((id) => el("li", {}, titles[id] || id)))));
    }
    parts.push(el("h3", {}, "Skills, with the credentials that evidence them"), skills);
  }
  result.replaceChildren(...parts);
  verdict.setAttribute("tabindex", "-1");
  verdict.focus();
}
