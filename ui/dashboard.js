// The catalog dashboard: members, services and instances with health, and this node's sites, kept
// live from the catalog's Server-Sent Events (/api/watch). Plain browser JavaScript, no build step.
// Everything shown comes from the network, so it is only ever written as text, never as HTML.
'use strict';

const STATUS = ['alive', 'tombstone', 'unhealthy', 'unknown', 'draining'];

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

const badge = (word) => el('span', { class: `badge ${word}` }, word);

async function getJson(path) {
  const res = await fetch(path, { cache: 'no-store' });
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return res.json();
}

function renderMembers(doc, members) {
  const body = document.querySelector('#members tbody');
  const rows = [];
  const counts = doc.ClusterMembers || {};
  if (members !== null) {
    for (const m of members.members) {
      rows.push(el('tr', { 'data-member': m.name }, el('td', {}, m.name), el('td', {}, badge(m.state)),
        el('td', {}, `${m.addr}:${m.port}`), el('td', {}, counts[m.name] ? counts[m.name].ServiceCount : 0)));
    }
  } else {
    for (const m of Object.values(counts)) {
      rows.push(el('tr', { 'data-member': m.Name }, el('td', {}, m.Name), el('td', {}, badge('alive')), el('td', {}, '–'), el('td', {}, m.ServiceCount)));
    }
  }
  body.replaceChildren(...rows);
}

function renderServices(byName) {
  const out = [];
  for (const name of Object.keys(byName).sort()) {
    const rows = byName[name].map((s) => {
      const ports = s.Ports.map((p) => `${p.IP}:${p.Port}${p.ServicePort !== p.Port ? ` → ${p.ServicePort}` : ''}`).join(', ');
      const status = STATUS[s.Status] || 'unknown';
      return el('tr', { 'data-instance': s.ID, 'data-status': status }, el('td', {}, s.Hostname), el('td', {}, ports),
        el('td', {}, badge(status)), el('td', {}, s.ID), el('td', {}, new Date(s.Updated).toLocaleTimeString()));
    });
    const head = el('thead', {}, el('tr', {}, ...['Host', 'Address', 'Status', 'ID', 'Updated'].map((h) => el('th', {}, h))));
    out.push(el('div', { class: 'service', 'data-service': name }, el('h3', {}, name),
      el('div', { class: 'scroll' }, el('table', {}, head, el('tbody', {}, ...rows)))));
  }
  document.getElementById('services').replaceChildren(...(out.length > 0 ? out : [el('p', { class: 'muted' }, 'no services')]));
}

function renderSites(doc) {
  const out = (doc.sites || []).map((site) => {
    const rows = site.backends.map((b) => el('tr', { 'data-backend': b.url }, el('td', {}, b.url), el('td', {}, badge(b.status)),
      el('td', {}, b.source), el('td', {}, b.inFlight), el('td', {}, b.reason || '')));
    const head = el('thead', {}, el('tr', {}, ...['Backend', 'Status', 'Source', 'In flight', 'Why'].map((h) => el('th', {}, h))));
    return el('div', { class: 'site' }, el('h3', {}, `Site ${site.site}`), el('div', { class: 'scroll' }, el('table', {}, head, el('tbody', {}, ...rows))));
  });
  document.getElementById('sites').replaceChildren(...(out.length > 0 ? out : [el('p', { class: 'muted' }, 'no sites')]));
}

let latest = { Services: {}, ClusterMembers: {} };

/** Members and backends change without a catalog change (a member dies, a probe fails): read them with every update and every few seconds. */
async function refreshSide() {
  const [members, sites] = await Promise.all([getJson('/v1/members').catch(() => null), getJson('/v1/backends').catch(() => ({ sites: [] }))]);
  renderMembers(latest, members);
  renderSites(sites);
}

async function start() {
  const state = await getJson('/api/state.json');
  document.getElementById('node').textContent = `· ${state.Hostname} · cluster ${state.ClusterName}`;
  latest = await getJson('/api/services.json');
  renderServices(latest.Services);
  await refreshSide();
  const status = document.getElementById('status');
  const events = new EventSource('/api/watch');
  events.onopen = () => { status.textContent = 'live'; };
  events.onerror = () => { status.textContent = 'reconnecting…'; };
  events.onmessage = async (e) => {
    renderServices(JSON.parse(e.data));
    latest = await getJson('/api/services.json').catch(() => latest);
    await refreshSide();
    status.textContent = `live · updated ${new Date().toLocaleTimeString()}`;
  };
  setInterval(() => { refreshSide().catch(() => {}); }, 2000);
}

start().catch((err) => { document.getElementById('status').textContent = `error: ${err.message}`; });
