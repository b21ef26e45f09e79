// Runnel console: reads only the JSON API (/api/v1). Hash routes: #/, #/topics/<name>, #/groups, #/groups/<id>,
// #/transactions (open ones), #/transactions/all.
// Views refresh every few seconds; a topic's live tail streams over server-sent events.
(function () {
  'use strict';
  const view = document.getElementById('view');
  const statusEl = document.getElementById('status');
  let refreshTimer = null;
  let tail = null;

  // Credentials of this browser tab: an HTTP Basic user (a SCRAM user's password, HTTPS listeners only) or a
  // bearer token (the admin token or a JWT the OAUTHBEARER listener would take); never stored past the tab.
  function creds() {
    try { return JSON.parse(sessionStorage.getItem('runnel.credentials')); } catch (e) { return null; }
  }
  function authorization() {
    const c = creds();
    if (!c) { return null; }
    if (c.token) { return 'Bearer ' + c.token; }
    // UTF-8, then base64 (btoa takes Latin-1 only)
    const utf8 = Array.from(new TextEncoder().encode(c.user + ':' + c.password), b => String.fromCharCode(b)).join('');
    return 'Basic ' + btoa(utf8);
  }
  function headers() {
    // X-Requested-With: the node then leaves out its Basic challenge, so the browser shows this page's form
    // rather than its own password dialog
    const h = { 'X-Requested-With': 'XMLHttpRequest' };
    const a = authorization();
    if (a) { h['Authorization'] = a; }
    return h;
  }

  class Unauthorized extends Error {}

  async function api(path, options) {
    const opts = Object.assign({}, options || {});
    opts.headers = Object.assign(headers(), opts.headers || {});
    if (opts.body && typeof opts.body !== 'string') {
      opts.body = JSON.stringify(opts.body);
      opts.headers['Content-Type'] = 'application/json';
    }
    const res = await fetch('/api/v1' + path, opts);
    if (res.status === 204) { return null; }
    const body = await res.json();
    if (res.status === 401) { throw new Unauthorized(body.message || 'credentials are required'); }
    if (!res.ok) { throw new Error(body.message + (body.field ? ' (' + body.field + ')' : '')); }
    return body;
  }

  function showWho() {
    const c = creds();
    const who = document.getElementById('who');
    if (!c) { who.innerHTML = ''; return; }
    who.innerHTML = esc(c.token ? 'token' : c.user) + ' <a href="#" id="sign-out">sign out</a>';
    document.getElementById('sign-out').onclick = ev => {
      ev.preventDefault();
      sessionStorage.removeItem('runnel.credentials');
      stopTail();
      showWho();
      route();
    };
  }

  /** The sign-in form, in place of the page the node refused to show. */
  function loginView(message) {
    stopTail();
    clearInterval(refreshTimer);
    view.innerHTML = '<h1>Sign in</h1><p class="muted" id="login-message">' + esc(message) + '</p>' +
      '<form id="login" class="login"><label>User <input name="user" autocomplete="username"></label>' +
      '<label>Password <input name="password" type="password" autocomplete="current-password"></label>' +
      '<p class="muted">or</p><label>Token <input name="token" type="password" autocomplete="off"></label>' +
      '<button id="login-submit">Sign in</button></form>';
    document.getElementById('login').onsubmit = ev => {
      ev.preventDefault();
      const f = ev.target;
      const c = f.token.value ? { token: f.token.value } : { user: f.user.value, password: f.password.value };
      sessionStorage.setItem('runnel.credentials', JSON.stringify(c));
      showWho();
      route();
    };
  }

  function esc(s) {
    return String(s === null || s === undefined ? '' : s).replace(/[&<>"']/g,
      c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  }
  function bytes(n) {
    if (n === null || n === undefined) { return ''; }
    const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB']; let i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : n) + ' ' + u[i];
  }
  function table(headers, rows, id) {
    return '<table' + (id ? ' id="' + id + '"' : '') + '><thead><tr>' +
      headers.map(h => '<th' + (h.num ? ' class="num"' : '') + '>' + esc(h.t || h) + '</th>').join('') +
      '</tr></thead><tbody>' + (rows.length ? rows.join('') :
        '<tr><td colspan="' + headers.length + '" class="muted">none</td></tr>') + '</tbody></table>';
  }
  // the cleanable (dirty) ratio of a compacted topic or partition; blank for topics that are not compacted
  function ratio(r) { return r === undefined || r === null || r === false ? '' : Math.round(r * 100) + '%'; }
  function card(n, l) { return '<div class="card"><div class="n">' + esc(n) + '</div><div class="l">' + esc(l) + '</div></div>'; }
  function showError(e) { view.insertAdjacentHTML('afterbegin', '<div class="error">' + esc(e.message) + '</div>'); }

  async function overview() {
    const [cluster, topics] = await Promise.all([api('/cluster'), api('/topics')]);
    document.getElementById('cluster-id').textContent = cluster.clusterId;
    const brokers = cluster.brokers.map(b => '<tr><td>' + b.id + (b.controller ? ' <span class="badge">controller</span>' : '') +
      '</td><td>' + esc(b.host) + ':' + b.port + '</td><td class="num">' + b.partitionsLed + '</td><td>' +
      esc(b.logDirs.join(', ')) + '</td></tr>');
    const rows = topics.map(t => '<tr><td><a class="topic-link" data-topic="' + esc(t.name) + '" href="#/topics/' +
      encodeURIComponent(t.name) + '">' + esc(t.name) + '</a></td><td class="num">' + t.partitions + '</td><td class="num">' +
      t.replicationFactor + '</td><td class="num">' + t.offsets + '</td><td class="num">' + bytes(t.sizeBytes) +
      '</td><td class="num">' + ratio(t.cleanableRatio) + '</td></tr>');
    view.innerHTML = '<h1>Cluster</h1><div class="cards">' + card(cluster.brokers.length, 'brokers') +
      card(cluster.topicCount, 'topics') + card(cluster.partitionCount, 'partitions') +
      card(cluster.underReplicatedPartitions, 'under-replicated') + card(cluster.offlinePartitions, 'offline') + '</div>' +
      '<h2>Brokers</h2>' + table(['id', 'address', { t: 'partitions led', num: 1 }, 'log dirs'], brokers) +
      '<h2>Topics</h2><form class="inline" id="create-topic"><input name="name" placeholder="new topic" required>' +
      '<input name="partitions" type="number" min="1" value="1" style="width:80px"><button>Create</button></form>' +
      table(['name', { t: 'partitions', num: 1 }, { t: 'replication', num: 1 }, { t: 'offsets', num: 1 }, { t: 'size', num: 1 },
        { t: 'cleanable', num: 1 }], rows, 'topics');
    document.getElementById('create-topic').onsubmit = async ev => {
      ev.preventDefault();
      const f = ev.target;
      try {
        await api('/topics', { method: 'POST', body: { name: f.name.value, partitions: Number(f.partitions.value) } });
        render();
      } catch (e) { showError(e); }
    };
  }

  // The live tail reads the server-sent events with fetch rather than EventSource, so that it sends the same
  // Authorization header as every other call; it reconnects as EventSource would.
  function startTail(topic) {
    stopTail();
    const ctrl = new AbortController();
    tail = ctrl;
    const h = Object.assign(headers(), { 'Accept': 'text/event-stream' });
    fetch('/api/v1/topics/' + encodeURIComponent(topic) + '/tail', { headers: h, signal: ctrl.signal }).then(async res => {
      if (res.status === 401) { loginView((await res.json()).message); return; }
      if (!res.ok) { showError(new Error((await res.json()).message)); return; }
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) { break; }
        buf += value.replace(/\r\n?/g, '\n');
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          tailEvent(buf.slice(0, i));
          buf = buf.slice(i + 2);
        }
      }
      if (tail === ctrl) { setTimeout(() => { if (tail === ctrl) { startTail(topic); } }, 2000); }
    }).catch(e => {
      if (e.name !== 'AbortError' && tail === ctrl) { setTimeout(() => { if (tail === ctrl) { startTail(topic); } }, 2000); }
    });
  }
  function tailEvent(block) {
    let type = 'message';
    const data = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) { type = line.slice(6).trim(); }
      else if (line.startsWith('data:')) { data.push(line.slice(5).replace(/^ /, '')); }
    }
    if (type !== 'record' || !data.length) { return; }
    const r = JSON.parse(data.join('\n'));
    const box = document.getElementById('tail');
    if (!box) { return; }
    const div = document.createElement('div');
    div.className = 'tail-record';
    div.dataset.partition = r.partition;
    div.dataset.offset = r.offset;
    div.innerHTML = '<span class="meta">p' + r.partition + ' @' + r.offset + ' ' + new Date(r.timestamp).toISOString() +
      '</span> ' + (r.key !== null ? '<span class="key">' + esc(r.key) + '</span> ' : '') +
      '<span class="value">' + esc(r.value) + '</span>' +
      (r.headers.length ? ' <span class="meta">' + esc(r.headers.map(h => h.key + '=' + h.value).join(' ')) + '</span>' : '');
    box.prepend(div);
    while (box.childElementCount > 500) { box.lastElementChild.remove(); }
  }
  function stopTail() { if (tail) { const t = tail; tail = null; t.abort(); } }

  async function topicView(name, first) {
    // a user may see a topic without DESCRIBE_CONFIGS on it: the page shows what it may see
    const [t, cfg] = await Promise.all([api('/topics/' + encodeURIComponent(name)),
      api('/topics/' + encodeURIComponent(name) + '/configs').catch(e => { if (e instanceof Unauthorized) { throw e; } return { error: e.message }; })]);
    const parts = t.partitions.map(p => '<tr><td class="num">' + p.partition + '</td><td class="num">' + p.leader +
      '</td><td>' + p.replicas.join(',') + '</td><td>' + p.isr.join(',') + '</td><td class="num">' + (p.logStartOffset ?? '') +
      '</td><td class="num">' + (p.logEndOffset ?? '') + '</td><td class="num">' + (p.highWatermark ?? '') + '</td><td class="num">' +
      bytes(p.sizeBytes) + '</td><td class="num">' + ratio(p.compaction && p.compaction.cleanableRatio) +
      '</td><td class="' + (p.online ? 'ok">online' : 'bad">offline') + '</td></tr>');
    const overrides = (cfg.configs || []).filter(c => c.source === 'TOPIC')
      .map(c => '<tr><td>' + esc(c.name) + '</td><td>' + esc(c.value) + '</td></tr>');
    const partsHtml = table([{ t: 'partition', num: 1 }, { t: 'leader', num: 1 }, 'replicas', 'isr', { t: 'log start', num: 1 },
      { t: 'log end', num: 1 }, { t: 'high watermark', num: 1 }, { t: 'size', num: 1 }, { t: 'cleanable', num: 1 }, 'state'],
      parts, 'partitions');
    if (!first) {
      document.getElementById('partitions').outerHTML = partsHtml;
      return;
    }
    view.innerHTML = '<h1 id="topic-name">' + esc(t.name) + '</h1><p class="muted">id ' + esc(t.id) + ', replication factor ' +
      t.replicationFactor + '</p><h2>Partitions</h2>' + partsHtml +
      '<h2>Config overrides</h2>' + (cfg.error ? '<p class="muted">' + esc(cfg.error) + '</p>' : table(['name', 'value'], overrides)) +
      '<h2>Produce</h2><form class="inline" id="produce"><input name="key" placeholder="key (optional)">' +
      '<input name="value" placeholder="value" size="40"><button>Send</button></form>' +
      '<h2>Live tail</h2><div id="tail"></div>';
    document.getElementById('produce').onsubmit = async ev => {
      ev.preventDefault();
      const f = ev.target;
      try {
        await api('/topics/' + encodeURIComponent(name) + '/records', { method: 'POST',
          body: { key: f.key.value || null, value: f.value.value } });
        f.value.value = '';
      } catch (e) { showError(e); }
    };
    startTail(name);
  }

  async function groupsView() {
    const groups = await api('/groups');
    view.innerHTML = '<h1>Consumer groups</h1>' + table(['group', 'state', 'protocol type', { t: 'members', num: 1 }, { t: 'lag', num: 1 }],
      groups.map(g => '<tr><td><a href="#/groups/' + encodeURIComponent(g.groupId) + '">' + esc(g.groupId) + '</a></td><td>' +
        esc(g.state) + '</td><td>' + esc(g.protocolType) + '</td><td class="num">' + g.members + '</td><td class="num">' + g.totalLag + '</td></tr>'));
  }

  async function groupView(id) {
    const g = await api('/groups/' + encodeURIComponent(id));
    const members = g.members.map(m => '<tr><td>' + esc(m.memberId) + '</td><td>' + esc(m.clientId) + '</td><td>' + esc(m.clientHost) +
      '</td><td>' + esc(m.assignment.map(a => a.topic + ' [' + a.partitions.join(',') + ']').join('; ')) + '</td></tr>');
    const offsets = g.offsets.map(o => '<tr><td>' + esc(o.topic) + '</td><td class="num">' + o.partition + '</td><td class="num">' +
      (o.committedOffset ?? '-') + '</td><td class="num">' + (o.endOffset ?? '-') + '</td><td class="num">' + (o.lag ?? '-') +
      '</td><td>' + esc(o.memberId || '') + '</td></tr>');
    view.innerHTML = '<h1>' + esc(g.groupId) + '</h1><div class="cards">' + card(g.state, 'state') + card(g.members.length, 'members') +
      card(g.totalLag, 'total lag') + '</div><h2>Members</h2>' + table(['member', 'client id', 'host', 'assignment'], members) +
      '<h2>Offsets</h2>' + table(['topic', { t: 'partition', num: 1 }, { t: 'committed', num: 1 }, { t: 'end', num: 1 }, { t: 'lag', num: 1 }, 'member'], offsets);
  }

  // the transactions this node coordinates; open ones hold back the last stable offset of their partitions
  async function transactionsView(all) {
    const txns = await api('/transactions' + (all ? '' : '?state=Ongoing,PrepareCommit,PrepareAbort'));
    const seconds = ms => ms === null || ms === undefined ? '-' : (ms / 1000).toFixed(1);
    view.innerHTML = '<h1>' + (all ? 'Transactions' : 'Open transactions') + '</h1><p>' +
      (all ? '<a href="#/transactions">open ones only</a>' : '<a href="#/transactions/all">all transactional ids</a>') +
      ' (those coordinated by this node)</p>' +
      table(['transactional id', 'state', { t: 'producer id', num: 1 }, { t: 'epoch', num: 1 }, { t: 'open for (s)', num: 1 },
        { t: 'timeout (s)', num: 1 }, 'partitions'],
      txns.map(t => '<tr><td>' + esc(t.transactionalId) + '</td><td>' + esc(t.state) + '</td><td class="num">' + t.producerId +
        '</td><td class="num">' + t.producerEpoch + '</td><td class="num">' + seconds(t.durationMs) + '</td><td class="num">' +
        seconds(t.timeoutMs) + '</td><td>' + esc(t.partitions.map(p => p.topic + '-' + p.partition).join(', ')) + '</td></tr>'), 'transactions');
  }

  async function render(first) {
    const hash = location.hash || '#/';
    try {
      let m;
      if ((m = hash.match(/^#\/topics\/(.+)$/))) {
        await topicView(decodeURIComponent(m[1]), first);
      } else {
        stopTail();
        if ((m = hash.match(/^#\/groups\/(.+)$/))) { await groupView(decodeURIComponent(m[1])); }
        else if (hash === '#/groups') { await groupsView(); }
        else if (hash === '#/transactions' || hash === '#/transactions/all') { await transactionsView(hash.endsWith('/all')); }
        else { await overview(); }
      }
      statusEl.textContent = 'updated ' + new Date().toLocaleTimeString();
    } catch (e) {
      if (e instanceof Unauthorized) {
        statusEl.textContent = '';
        loginView(creds() ? e.message : 'This Runnel node asks who you are.');
        return;
      }
      statusEl.textContent = 'error';
      if (first) { view.innerHTML = ''; }
      showError(e);
    }
  }

  function route() {
    clearInterval(refreshTimer);
    render(true);
    // the overview and group pages are rebuilt each time; a topic page only refreshes its partition table
    refreshTimer = setInterval(() => {
      if (!document.querySelector('form :focus')) { render(false); }
    }, 3000);
  }
  window.addEventListener('hashchange', route);
  showWho();
  route();
}());
