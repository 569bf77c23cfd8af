// Drag-and-drop on the pipeline board, an enhancement only: dropping a card on a column
// submits the card's own move form (a normal POST with the CSRF token) with that stage.
// The server decides; an illegal move comes back with its reason. Without JavaScript
// the next-stage button does the same.
(function () {
  var board = document.getElementById("board");
  if (!board) { return; }
  var dragged = null;
  board.addEventListener("dragstart", function (e) {
    dragged = e.target.closest(".board__card");
    if (dragged) { e.dataTransfer.setData("text/plain", dragged.dataset.opportunity); }
  });
  board.querySelectorAll(".board__col").forEach(function (col) {
    col.addEventListener("dragover", function (e) { e.preventDefault(); col.classList.add("drop-target"); });
    col.addEventListener("dragleave", function () { col.classList.remove("drop-target"); });
    col.addEventListener("drop", function (e) {
      e.preventDefault();
      col.classList.remove("drop-target");
      if (!dragged) { return; }
      var form = dragged.querySelector("form.move-form");
      if (!form) { return; }
      form.querySelector("input[name=stage]").value = col.dataset.stage === "won" ? "won" : col.dataset.stage;
      form.submit();
    });
  });
})();
