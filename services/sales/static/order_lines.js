// Live totals of an order's lines while the user types (an enhancement: the server
// computes the amount again, half-up per line, and its figure is the one kept).
// Integer arithmetic in cents and thousandths keeps the preview exact.
(function () {
  function cents(text) {           // "12.345" -> 1235 (half-up to cents), else null
    var m = /^\s*(\d+)(?:\.(\d*))?\s*$/.exec(text || "");
    if (!m) { return null; }
    var frac = (m[2] || "") + "000";
    var milli = parseInt(m[1], 10) * 1000 + parseInt(frac.slice(0, 3), 10);
    return Math.floor((milli + 5) / 10);
  }
  function thousandths(text) {     // quantity "1.5" -> 1500
    var m = /^\s*(\d+)(?:\.(\d{0,3}))?\s*$/.exec(text || "");
    if (!m) { return null; }
    return parseInt(m[1], 10) * 1000 + parseInt(((m[2] || "") + "000").slice(0, 3), 10);
  }
  function fmt(c) {
    var s = String(Math.abs(c) % 100).padStart(2, "0");
    var whole = Math.floor(Math.abs(c) / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return whole + "." + s;
  }
  function update(table) {
    var total = 0, any = false;
    table.querySelectorAll("tr[data-line]").forEach(function (row) {
      var q = thousandths(row.querySelector("[data-qty]").value);
      var p = cents(row.querySelector("[data-price]").value);
      var cell = row.querySelector("[data-line-amount]");
      if (q === null || p === null) { cell.textContent = "—"; return; }
      var line = Math.floor((q * p + 500) / 1000);   // half-up to the cent
      cell.textContent = fmt(line);
      total += line; any = true;
    });
    var out = table.querySelector("[data-order-total]");
    if (out) { out.textContent = any ? fmt(total) : "—"; }
  }
  document.querySelectorAll("table[data-lines]").forEach(function (table) {
    table.addEventListener("input", function () { update(table); });
    update(table);
  });
})();
