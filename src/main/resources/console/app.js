// Runnel console: reads only the JSON API (/api/v1). Hash routes: #/, #/topics/<name>, #/groups, #/groups/<id>.
// Views refresh every few seconds; a topic's live tail streams over server-sent events.
(function () {
  'use strict';
  const view = document.getElementById('view');
  const statusEl = document.getElementById('status');
  let refreshTimer = null;
  let tail = null;

  function token() { return sessionStorage.getItem('runnel.token'); }

  async function api(path, options) {
    const opts = Object.assign({ headers: {} }, options || {});
    if (token()) { opts.headers['Authorization'] = 'Bearer ' + token(); }
    if (opts.body && typeof opts.body !== 'string') {
      opts.body = JSON.stringify(opts.body);
      opts.headers['Content-Type'] = 'application/json';
    }
    const res = await fetch('/api/v1' + path, opts);
    if (res.status === 401) {
      const t = prompt('This Runnel node needs its admin token:');
      if (t) { sessionStorage.setItem('runnel.token', t); return api(path, options); }
    }
    if (res.status === 204) { return null; }
    const body = await res.json();
    if (!res.ok) { throw new Error(body.message + (body.field ? ' (' + body.field + ')' : '')); }
    return body;
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

  function startTail(topic) {
    stopTail();
    const q = token() ? '?access_token=' + encodeURIComponent(token()) : '';
    tail = new EventSource('/api/v1/topics/' + encodeURIComponent(topic) + '/tail' + q);
    tail.addEventListener('record', ev => {
      const r = JSON.parse(ev.data);
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
    });
  }
  function stopTail() { if (tail) { tail.close(); tail = null; } }

  async function topicView(name, first) {
    const [t, cfg] = await Promise.all([api('/topics/' + encodeURIComponent(name)), api('/topics/' + encodeURIComponent(name) + '/configs')]);
    const parts = t.partitions.map(p => '<tr><td class="num">' + p.partition + '</td><td class="num">' + p.leader +
      '</td><td>' + p.replicas.join(',') + '</td><td>' + p.isr.join(',') + '</td><td class="num">' + (p.logStartOffset ?? '') +
      '</td><td class="num">' + (p.logEndOffset ?? '') + '</td><td class="num">' + (p.highWatermark ?? '') + '</td><td class="num">' +
      bytes(p.sizeBytes) + '</td><td class="num">' + ratio(p.compaction && p.compaction.cleanableRatio) +
      '</td><td class="' + (p.online ? 'ok">online' : 'bad">offline') + '</td></tr>');
    const overrides = cfg.configs.filter(c => c.source === 'TOPIC')
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
      '<h2>Config overrides</h2>' + table(['name', 'value'], overrides) +
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
        else { await overview(); }
      }
      statusEl.textContent = 'updated ' + new Date().toLocaleTimeString();
    } catch (e) {
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
  route();
}());
