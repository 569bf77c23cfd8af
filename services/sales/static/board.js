// Drag-and-drop on the pipeline board, an enhancement only, with POINTER events
// (pointerdown / pointermove / pointerup: mouse, pen and touch alike; no HTML5 drag and
// drop). Dropping a card on another column submits the card's own move form — the same
// POST with the same CSRF token as its next-stage button — with that column's stage. The
// server decides: a legal move comes back as "moved", an illegal one with the service's
// reason on this page, exactly as the button does. Without JavaScript, and for keyboard
// users, the buttons on every card do the same. Escape (or a drop on the card's own
// column, or outside the board) cancels a drag and posts nothing.
(function () {
  "use strict";
  var board = document.getElementById("board");
  if (!board || !window.PointerEvent) { return; }
  var THRESHOLD = 6; // px before a press becomes a drag (a click on the title still opens it)
  var drag = null;   // {card, form, from, id, x0, y0, ghost, dx, dy, over, started}
  var swallowClick = false;

  function columnAt(x, y) {
    var el = document.elementFromPoint(x, y);
    return el ? el.closest(".board__col") : null;
  }

  function mark(col) {
    if (drag.over === col) { return; }
    if (drag.over) { drag.over.classList.remove("drop-target"); }
    drag.over = col && col.dataset.stage !== drag.from ? col : null;
    if (drag.over) { drag.over.classList.add("drop-target"); }
  }

  function start(e) {
    var rect = drag.card.getBoundingClientRect();
    drag.started = true;
    drag.dx = drag.x0 - rect.left;
    drag.dy = drag.y0 - rect.top;
    var ghost = drag.card.cloneNode(true);
    ghost.removeAttribute("id");
    ghost.classList.add("board__ghost");
    ghost.setAttribute("aria-hidden", "true");
    ghost.style.width = rect.width + "px";
    document.body.appendChild(ghost);
    drag.ghost = ghost;
    drag.card.classList.add("is-dragging");
    document.body.classList.add("board-dragging");
    try { drag.card.setPointerCapture(e.pointerId); } catch (err) { /* synthetic pointer */ }
  }

  function follow(e) {
    drag.ghost.style.left = (e.clientX - drag.dx) + "px";
    drag.ghost.style.top = (e.clientY - drag.dy) + "px";
    mark(columnAt(e.clientX, e.clientY));
  }

  function end(commit) {
    var d = drag;
    drag = null;
    if (!d) { return; }
    document.removeEventListener("keydown", onKey, true);
    if (!d.started) { return; }
    swallowClick = true;
    setTimeout(function () { swallowClick = false; }, 0);
    if (d.ghost) { d.ghost.remove(); }
    if (d.over) { d.over.classList.remove("drop-target"); }
    document.body.classList.remove("board-dragging");
    if (commit && d.over) {
      d.card.classList.add("is-moving");
      d.form.querySelector("input[name=stage]").value = d.over.dataset.stage;
      d.form.submit(); // a normal POST: the server answers with the board and a message
    } else {
      d.card.classList.remove("is-dragging");
    }
  }

  function onKey(e) {
    if (e.key === "Escape" && drag) { e.preventDefault(); end(false); }
  }

  board.addEventListener("pointerdown", function (e) {
    if (drag || !e.isPrimary || (e.pointerType === "mouse" && e.button !== 0)) { return; }
    var card = e.target.closest(".board__card[data-movable]");
    if (!card || e.target.closest("button, input, select, textarea, form")) { return; }
    var form = card.querySelector("form.move-form");
    if (!form) { return; }
    drag = {card: card, form: form, from: card.dataset.stage, id: card.dataset.opportunity,
            x0: e.clientX, y0: e.clientY, started: false, over: null};
    document.addEventListener("keydown", onKey, true);
  });

  document.addEventListener("pointermove", function (e) {
    if (!drag || !e.isPrimary) { return; }
    if (!drag.started) {
      if (Math.abs(e.clientX - drag.x0) + Math.abs(e.clientY - drag.y0) < THRESHOLD) { return; }
      start(e);
    }
    e.preventDefault();
    follow(e);
  });

  document.addEventListener("pointerup", function (e) {
    if (!drag || !e.isPrimary) { return; }
    if (drag.started) { mark(columnAt(e.clientX, e.clientY)); }
    end(true);
  });
  document.addEventListener("pointercancel", function () { end(false); });

  // a drag that ends over a link must not also follow it; no native link/image dragging
  board.addEventListener("click", function (e) {
    if (swallowClick) { e.preventDefault(); e.stopPropagation(); swallowClick = false; }
  }, true);
  board.addEventListener("dragstart", function (e) {
    if (e.target.closest && e.target.closest(".board__card[data-movable]")) { e.preventDefault(); }
  });
})();
