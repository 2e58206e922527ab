// The learner's badge wallet, entirely in this browser (see ui/badge_wallet.py).
//
// A v2 component runs in the app's own page (no iframe): localStorage is the app origin's and
// fetch() reaches the app's own routes. Nothing here goes to the server but a claim: the code and
// a pseudonymous subject id made here ("urn:uuid:..."), never a name or an address. Every text
// arrives as data and is set as text (textContent, attributes), never as HTML: a provider's badge
// name cannot become markup.

const WALLET_KEY = "col.badges.wallet";
const SUBJECT_KEY = "col.badges.subject";
const KEYWORD = "openbadgecredential"; // the iTXt keyword of a baked PNG (Open Badges 3.0, baking)

function randomUuid() {
  if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
  // randomUUID needs a secure context; getRandomValues does not (a version 4 UUID by hand).
  const b = window.crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function subjectId() {
  let id = localStorage.getItem(SUBJECT_KEY);
  if (!id || !id.startsWith("urn:uuid:")) {
    id = `urn:uuid:${randomUuid()}`;
    localStorage.setItem(SUBJECT_KEY, id);
  }
  return id;
}

export function readWallet() {
  try {
    const entries = JSON.parse(localStorage.getItem(WALLET_KEY) || "[]");
    return Array.isArray(entries) ? entries.filter((e) => e && typeof e.credential === "object") : [];
  } catch (err) {
    return [];
  }
}

function writeWallet(entries) {
  localStorage.setItem(WALLET_KEY, JSON.stringify(entries));
}

function credentialId(credential) {
  return typeof credential.id === "string" ? credential.id : JSON.stringify(credential.proof || credential).slice(0, 200);
}

export function addCredential(credential) {
  const entries = readWallet();
  const id = credentialId(credential);
  if (!entries.some((e) => credentialId(e.credential) === id)) {
    entries.push({ credential, added: new Date().toISOString(), name: "" });
    writeWallet(entries);
  }
  return entries.length;
}

// --- what a credential says (Open Badges 3.0; a name may be a string or a language map) ---------

function text(value, lang) {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) {
    const found = value.find((v) => v && v["@language"] === lang) || value[0];
    return found ? text(found["@value"] !== undefined ? found["@value"] : found, lang) : "";
  }
  if (value && typeof value === "object") return value[lang] || value.en || Object.values(value).find((v) => typeof v === "string") || "";
  return "";
}

function achievementOf(credential) {
  const subject = Array.isArray(credential.credentialSubject) ? credential.credentialSubject[0] : credential.credentialSubject;
  return (subject && subject.achievement) || {};
}

function imageUrl(thing) {
  const image = thing && thing.image;
  const url = typeof image === "string" ? image : image && typeof image.id === "string" ? image.id : "";
  // A picture only: a data: image, or an address on this site or over https. Never a script URL.
  if (/^data:image\/(png|svg\+xml|jpeg|gif|webp)[;,]/i.test(url)) return url;
  try {
    const parsed = new URL(url, window.location.href);
    if (parsed.origin === window.location.origin || parsed.protocol === "https:") return parsed.href;
  } catch (err) {
    return "";
  }
  return "";
}

function formatDay(value, lang) {
  const day = value ? new Date(value) : null;
  if (!day || Number.isNaN(day.getTime())) return "";
  return new Intl.DateTimeFormat(lang === "en" ? "en-GB" : lang, { dateStyle: "long" }).format(day);
}

function safeFileName(name) {
  return (name || "badge").replace(/[^\p{L}\p{N}]+/gu, "-").replace(/^-+|-+$/g, "").slice(0, 60) || "badge";
}

function download(blob, fileName) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = fileName;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// --- baking: the credential in a PNG's iTXt chunk ---------------------------------------------

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(bytes) {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

export function bakePng(png, credentialJson) {
  // iTXt: keyword, 0, compression flag 0, method 0, language tag "", 0, translated keyword "", 0, text (UTF-8).
  const encoder = new TextEncoder();
  const keyword = encoder.encode(KEYWORD);
  const body = encoder.encode(credentialJson);
  const data = new Uint8Array(keyword.length + 5 + body.length);
  data.set(keyword, 0);
  data.set(body, keyword.length + 5); // the five bytes between are zeros
  const baked = chunk("iTXt", data);
  // After IHDR (8 bytes of signature, then IHDR: 4 length + 4 type + 13 data + 4 CRC).
  const at = 8 + 25;
  const out = new Uint8Array(png.length + baked.length);
  out.set(png.subarray(0, at), 0);
  out.set(baked, at);
  out.set(png.subarray(at), at + baked.length);
  return out;
}

function loadImage(url) {
  return new Promise((resolve) => {
    if (!url) return resolve(null);
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => resolve(null);
    img.src = url;
  });
}

async function pngOf(entry, lang) {
  const size = 512;
  const canvas = document.createElement("canvas");
  canvas.width = size;
  canvas.height = entry.name ? size + 64 : size;
  const ctx = canvas.getContext("2d");
  if (entry.name) {
    // The name's strip is white (the picture keeps its transparent corners).
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, size, canvas.width, canvas.height - size);
  }
  const achievement = achievementOf(entry.credential);
  const img = await loadImage(imageUrl(achievement));
  if (img) {
    try {
      ctx.drawImage(img, 0, 0, size, size);
    } catch (err) {
      /* a picture the canvas may not use: a plain badge */
    }
  } else {
    ctx.fillStyle = "#1f5f8b";
    ctx.beginPath();
    ctx.arc(size / 2, size / 2, size / 2 - 8, 0, 2 * Math.PI);
    ctx.fill();
    ctx.fillStyle = "#ffffff";
    ctx.font = "bold 40px sans-serif";
    ctx.textAlign = "center";
    ctx.fillText(text(achievement.name, lang).slice(0, 20), size / 2, size / 2 + 14);
  }
  if (entry.name) {
    // The learner's own name, on their own copy only: drawn on the picture, never sent anywhere,
    // and outside the signed credential (which it would otherwise break).
    ctx.fillStyle = "#111111";
    ctx.font = "32px sans-serif";
    ctx.textAlign = "center";
    ctx.fillText(entry.name.slice(0, 40), size / 2, size + 44);
  }
  let blob;
  try {
    blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  } catch (err) {
    blob = null;
  }
  if (!blob) {
    // A picture from elsewhere "taints" the canvas: draw without it.
    ctx.fillStyle = "#1f5f8b";
    ctx.fillRect(0, 0, size, size);
    blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  }
  const png = new Uint8Array(await blob.arrayBuffer());
  return new Blob([bakePng(png, JSON.stringify(entry.credential))], { type: "image/png" });
}

// --- the page parts ---------------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (name === "text") node.textContent = value;
    else if (name === "onclick") node.addEventListener("click", value);
    else node.setAttribute(name, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function appBase() {
  return new URL(".", window.location.href);
}

async function claim(secret, t, lang) {
  let response;
  try {
    response = await fetch(new URL(`badges/claim?lang=${encodeURIComponent(lang)}`, appBase()), {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json", "Accept-Language": lang },
      body: JSON.stringify({ ...secret, subject: subjectId(), lang }),
      credentials: "same-origin",
    });
  } catch (err) {
    return { ok: false, message: t.offline };
  }
  let body = null;
  try {
    body = await response.json();
  } catch (err) {
    body = null;
  }
  if (response.ok && body) {
    const credential = body.credential && typeof body.credential === "object" ? body.credential : body;
    if (credential && credential.credentialSubject) {
      addCredential(credential);
      return { ok: true, credential };
    }
  }
  const fallback = response.status === 429 ? t.tooMany : response.status >= 500 ? t.offline : t.refused;
  return { ok: false, message: (body && typeof body.message === "string" && body.message) || fallback };
}

// Check a badge with this site's verifier (POST /badges/verify): the badge is sent, nothing is kept.
async function check(credential, t, lang) {
  try {
    const response = await fetch(new URL(`badges/verify?lang=${encodeURIComponent(lang)}`, appBase()), {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(credential),
      credentials: "same-origin",
    });
    const found = await response.json();
    if (!response.ok || typeof found.state !== "string") return t.offline;
    const verdict = t.states[found.state] || t.states.invalid;
    const reasons = Array.isArray(found.reasons) ? found.reasons.filter((r) => typeof r === "string") : [];
    return [verdict, ...reasons].join(" ");
  } catch (err) {
    return t.offline;
  }
}

function renderClaim(root, data) {
  const { texts: t, lang } = data;
  const form = el("form", { class: "col-claim", novalidate: "" });
  const inputId = "col-claim-code";
  const input = el("input", {
    id: inputId, name: "code", type: "text", autocomplete: "off", autocapitalize: "characters", spellcheck: "false",
    maxlength: "64", "data-testid": "claim-code",
  });
  input.value = data.code || "";
  const button = el("button", { type: "submit", "data-testid": "claim-button", text: t.claim });
  const status = el("div", { role: "status", "aria-live": "polite", class: "col-status", "data-testid": "claim-status" });
  // A mailed link carries a one-time token instead of a code: nothing to type.
  let token = data.token || "";
  if (token) form.append(el("p", { text: t.fromLink }), el("div", { class: "col-row" }, button), status);
  else form.append(el("label", { for: inputId, text: t.codeLabel }), el("div", { class: "col-row" }, input, button), status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const code = input.value.trim();
    status.textContent = "";
    status.className = "col-status";
    if (!token && !code) {
      status.textContent = t.empty;
      status.classList.add("col-bad");
      input.focus();
      return;
    }
    button.disabled = true;
    status.textContent = t.working;
    const result = await claim(token ? { token } : { code }, t, lang);
    button.disabled = false;
    status.textContent = "";
    if (result.ok) {
      const name = text(achievementOf(result.credential).name, lang);
      status.append(el("p", { text: t.claimed.replace("{name}", name) }), el("a", { href: data.walletUrl, text: t.openWallet }));
      status.classList.add("col-good");
      input.value = "";
      if (token) {
        token = "";
        button.remove();
      }
    } else {
      status.textContent = result.message;
      status.classList.add("col-bad");
    }
  });
  root.replaceChildren(form);
}

function card(entry, index, data, redraw) {
  const { texts: t, lang } = data;
  const credential = entry.credential;
  const achievement = achievementOf(credential);
  const name = text(achievement.name, lang) || t.untitled;
  const issuer = credential.issuer && typeof credential.issuer === "object" ? text(credential.issuer.name, lang) : "";
  const issued = formatDay(credential.validFrom || credential.issuanceDate, lang);
  const until = formatDay(credential.validUntil || credential.expirationDate, lang);
  const url = imageUrl(achievement);
  const item = el("li", { class: "col-card", "data-testid": "wallet-badge" });
  if (url) item.append(el("img", { src: url, alt: "", width: "96", height: "96", loading: "lazy" }));
  const about = el("div", { class: "col-about" });
  about.append(el("h3", { text: name }));
  const description = text(achievement.description, lang);
  if (description) about.append(el("p", { text: description }));
  const facts = [issuer && t.issuedBy.replace("{issuer}", issuer), issued && t.issuedOn.replace("{day}", issued),
    until && t.validUntil.replace("{day}", until)].filter(Boolean);
  if (facts.length) about.append(el("p", { class: "col-facts", text: facts.join(" · ") }));
  if (entry.name) about.append(el("p", { class: "col-facts", text: t.yourName.replace("{name}", entry.name) }));
  const file = safeFileName(name);
  const actions = el("div", { class: "col-actions" },
    el("button", { type: "button", text: t.downloadJson, "data-testid": "download-json",
      onclick: () => download(new Blob([JSON.stringify(credential, null, 2)], { type: "application/json" }), `${file}.json`) }),
    el("button", { type: "button", text: t.downloadPng, "data-testid": "download-png",
      onclick: async () => download(await pngOf(entry, lang), `${file}.png`) }),
  );
  const verdict = el("p", { role: "status", "aria-live": "polite", class: "col-verdict", "data-testid": "badge-verdict" });
  actions.append(el("button", { type: "button", text: t.check, "data-testid": "check-badge", onclick: async () => {
    verdict.textContent = t.working;
    verdict.textContent = await check(credential, t, lang);
  } }));
  const nameId = `col-name-${index}`;
  const nameInput = el("input", { id: nameId, type: "text", maxlength: "80", autocomplete: "name" });
  nameInput.value = entry.name || "";
  const nameBox = el("details", { class: "col-name" },
    el("summary", { text: t.addName }),
    el("p", { text: t.nameStays }),
    el("label", { for: nameId, text: t.nameLabel }),
    el("div", { class: "col-row" }, nameInput, el("button", { type: "button", text: t.saveName, onclick: () => {
      const entries = readWallet();
      if (entries[index]) entries[index].name = nameInput.value.trim().slice(0, 80);
      writeWallet(entries);
      redraw();
    } })),
  );
  const remove = el("button", { type: "button", class: "col-delete", text: t.delete, "data-testid": "delete-badge", onclick: () => {
    if (!window.confirm(t.confirmDelete.replace("{name}", name))) return;
    const entries = readWallet();
    entries.splice(index, 1);
    writeWallet(entries);
    redraw();
  } });
  actions.append(remove);
  about.append(actions, verdict, nameBox);
  item.append(about);
  return item;
}

// --- playlists: progress counted here, the badge claimed by presenting the member badges --------

function earnedFor(playlist, entries) {
  const members = new Set(playlist.members);
  return entries.map((e) => e.credential).filter((c) => members.has(achievementOf(c).id));
}

async function claimPlaylist(playlist, credentials, t, lang) {
  const presentation = {
    "@context": ["https://www.w3.org/ns/credentials/v2"],
    type: ["VerifiablePresentation"],
    verifiableCredential: credentials,
  };
  let response;
  try {
    response = await fetch(new URL(`badges/playlist-claim?lang=${encodeURIComponent(lang)}`, appBase()), {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ playlist: playlist.id, presentation }),
      credentials: "same-origin",
    });
  } catch (err) {
    return t.offline;
  }
  let body = null;
  try {
    body = await response.json();
  } catch (err) {
    body = null;
  }
  if (response.ok && body && body.credentialSubject) {
    addCredential(body);
    return t.claimed.replace("{name}", text(achievementOf(body).name, lang) || playlist.name);
  }
  if (body && typeof body.message === "string" && body.message) return body.message;
  return response.status === 429 ? t.tooMany : response.status >= 500 ? t.offline : t.refused;
}

function playlistPart(data, entries, redraw) {
  const { texts: t, lang } = data;
  const held = new Set(entries.map((e) => achievementOf(e.credential).id));
  const offers = (data.playlists || [])
    .map((p) => ({ playlist: p, earned: earnedFor(p, entries) }))
    .filter(({ earned }) => earned.length > 0);
  if (!offers.length) return null;
  const part = el("section", { class: "col-playlists", "data-testid": "wallet-playlists" }, el("h3", { text: t.playlists }));
  for (const { playlist, earned } of offers) {
    const status = el("p", { role: "status", "aria-live": "polite" });
    const box = el("div", { class: "col-card col-playlist" },
      el("div", { class: "col-about" },
        el("h4", { text: playlist.name }),
        playlist.description ? el("p", { text: playlist.description }) : null,
        el("p", { class: "col-facts", text: playlist.rule }),
        el("p", {}, el("a", { href: new URL(`?playlist=${encodeURIComponent(playlist.id)}&lang=${encodeURIComponent(lang)}`,
          appBase()).href, text: t.mapLink })),
        el("p", { class: "col-facts", text: t.progress.replace("{have}", String(earned.length)).replace("{need}", String(playlist.need)) }),
        held.has(playlist.badge) ? el("p", { text: t.playlistHeld }) : null,
        earned.length >= playlist.need && !held.has(playlist.badge)
          ? el("div", { class: "col-actions" }, el("button", { type: "button", text: t.claimPlaylist, "data-testid": "claim-playlist",
            onclick: async (event) => {
              event.target.disabled = true;
              status.textContent = t.working;
              status.textContent = await claimPlaylist(playlist, earned, t, lang);
              event.target.disabled = false;
              setTimeout(redraw, 4000);
            } }))
          : null,
        status,
      ),
    );
    part.append(box);
  }
  return part;
}

function importFile(file, t, status, redraw) {
  const reader = new FileReader();
  reader.onload = () => {
    let count = 0;
    try {
      const parsed = JSON.parse(String(reader.result));
      const found = Array.isArray(parsed.verifiableCredential) ? parsed.verifiableCredential : Array.isArray(parsed) ? parsed : [parsed];
      for (const credential of found) {
        if (credential && typeof credential === "object" && credential.credentialSubject) {
          addCredential(credential);
          count++;
        }
      }
    } catch (err) {
      count = 0;
    }
    status.textContent = count ? t.imported.replace("{count}", String(count)) : t.importFailed;
    redraw();
  };
  reader.readAsText(file.slice(0, 5 * 1024 * 1024));
}

function renderWallet(root, data) {
  const { texts: t } = data;
  const redraw = () => renderWallet(root, data);
  const entries = readWallet();
  const status = root.querySelector(".col-status") || el("div", { role: "status", "aria-live": "polite", class: "col-status" });
  const parts = [el("p", { class: "col-warning", text: t.clearingLoses })];
  if (!entries.length) {
    parts.push(el("p", { "data-testid": "wallet-empty", text: t.empty }));
  } else {
    parts.push(el("p", { "data-testid": "wallet-count", text: t.count.replace("{count}", String(entries.length)) }));
    const list = el("ul", { class: "col-cards" });
    entries.forEach((entry, index) => list.append(card(entry, index, data, redraw)));
    parts.push(list);
  }
  const playlistsShown = playlistPart(data, entries, redraw);
  if (playlistsShown) parts.push(playlistsShown);
  const fileId = "col-import";
  // The browser's own file button would speak the browser's language, not the page's: the label is the button.
  const fileInput = el("input", { id: fileId, type: "file", accept: ".json,application/json", class: "col-file" });
  fileInput.addEventListener("change", () => fileInput.files[0] && importFile(fileInput.files[0], t, status, redraw));
  const tools = el("div", { class: "col-actions" });
  if (entries.length) {
    tools.append(el("button", { type: "button", text: t.exportAll, "data-testid": "export-all", onclick: () => {
      const presentation = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        type: ["VerifiablePresentation"],
        verifiableCredential: readWallet().map((e) => e.credential),
      };
      download(new Blob([JSON.stringify(presentation, null, 2)], { type: "application/json" }), "my-badges.json");
    } }));
  }
  parts.push(tools, el("div", { class: "col-import" }, fileInput, el("label", { for: fileId, class: "col-file-button", text: t.importLabel })), status);
  root.replaceChildren(...parts);
}

export default function (component) {
  const { data, parentElement } = component;
  if (!data || !data.texts) return;
  let root = parentElement.querySelector(".col-badges");
  if (!root) {
    root = document.createElement("div");
    root.className = "col-badges";
    root.lang = data.lang;
    parentElement.append(root);
  }
  const signature = JSON.stringify([data.view, data.lang, data.code || "", data.token || "", (data.playlists || []).length]);
  if (root.dataset.signature === signature) return;
  root.dataset.signature = signature;
  if (data.view === "claim") renderClaim(root, data);
  else renderWallet(root, data);
}
