// Live audience count on the campaign form: asks /app/campaigns/audience-count as
// the rules change (the form works without it: the "count" button posts the form).
(function () {
  var form = document.getElementById('campaign-form');
  var out = document.getElementById('audience-count');
  if (!form || !out || !window.fetch) return;
  var timer = null;
  function ask() {
    var params = new URLSearchParams();
    form.querySelectorAll('[name^="audience."]').forEach(function (el) {
      if (el.value) params.append(el.name, el.value);
    });
    fetch('/app/campaigns/audience-count?' + params.toString(), {credentials: 'same-origin',
      headers: {'Accept': 'application/json'}})
      .then(function (r) { return r.json().then(function (body) { return [r.status, body]; }); })
      .then(function (res) {
        if (res[0] === 200) {
          out.textContent = (out.dataset.template || '{n}').replace('{n}', res[1].count);
          out.dataset.count = res[1].count;
        } else {
          out.textContent = out.dataset.invalid || '';
        }
      }).catch(function () {});
  }
  var rules = form.querySelectorAll('[name^="audience."]');
  rules.forEach(function (el) {
    el.addEventListener('input', function () { clearTimeout(timer); timer = setTimeout(ask, 300); });
    el.addEventListener('change', function () { clearTimeout(timer); timer = setTimeout(ask, 50); });
  });
  ask();  // the count of the rules as the page shows them (also after a re-render)
})();
