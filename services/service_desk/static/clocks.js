// Running SLA clocks: the queue and the ticket page are rendered with the time left /
// overdue; this keeps them running (every 30 s) without a reload. Without script the
// server's figures stand.
(function () {
  var texts = document.getElementById('clock-texts');
  if (!texts) return;
  var AMBER = 60 * 60 * 1000;
  function fmt(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, k) { return values[k]; });
  }
  function span(ms) {
    var minutes = Math.floor(Math.abs(ms) / 60000);
    var d = Math.floor(minutes / 1440), h = Math.floor((minutes % 1440) / 60), m = minutes % 60;
    if (d) return fmt(texts.dataset.dh, {d: d, h: h});
    if (h) return fmt(texts.dataset.hm, {h: h, m: m});
    return fmt(texts.dataset.m, {m: m});
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll('.clock[data-due]').forEach(function (el) {
      if (!/clock--(running|amber|breached)/.test(el.className)) return;
      var due = Date.parse(el.dataset.due);
      if (isNaN(due)) return;
      var left = due - now, state = left <= 0 ? 'breached' : (left <= AMBER ? 'amber' : 'running');
      el.className = el.className.replace(/clock--\w+/, 'clock--' + state);
      var text = left <= 0 ? fmt(texts.dataset.over, {span: span(left)})
                           : fmt(texts.dataset.left, {span: span(left)});
      var out = el.querySelector('.clock__text') || el;
      out.textContent = text;
      var row = el.closest('tr[data-state]');
      if (row) {
        var states = Array.prototype.map.call(row.querySelectorAll('.clock'), function (c) {
          return (c.className.match(/clock--(\w+)/) || [])[1];
        });
        var rowState = states.indexOf('breached') >= 0 ? 'breached'
                     : (states.indexOf('amber') >= 0 ? 'amber' : '');
        row.dataset.state = rowState;
        row.classList.toggle('row-late', rowState === 'breached');
        row.classList.toggle('row-soon', rowState === 'amber');
      }
    });
  }
  window.crmClockTick = tick;  // tests call it instead of waiting
  setInterval(tick, 30000);
})();
