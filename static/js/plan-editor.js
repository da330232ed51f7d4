// The plan editor: show each benefit's own fields for its type, and add benefits from the
// template the server rendered. No inline scripts: this file is loaded by the editor page.
(function () {
  "use strict";
  function showFields(card) {
    var select = card.querySelector("[data-benefit-type-select]");
    if (!select) { return; }
    var kind = select.value;
    card.querySelectorAll(".benefit-fields[data-benefit-types]").forEach(function (group) {
      var kinds = group.getAttribute("data-benefit-types").split(/[\s,]+/);
      group.hidden = kind !== "" && kinds.indexOf(kind) === -1;
    });
  }
  function wire(card) {
    var select = card.querySelector("[data-benefit-type-select]");
    if (select) { select.addEventListener("change", function () { showFields(card); }); }
    showFields(card);
  }
  document.querySelectorAll("[data-benefit]").forEach(wire);
  var add = document.querySelector("[data-add-benefit]");
  var template = document.getElementById("benefit-template");
  var list = document.getElementById("benefit-list");
  var total = document.querySelector("input[name$='benefits-TOTAL_FORMS']");
  if (add && template && list && total) {
    add.addEventListener("click", function () {
      var index = parseInt(total.value, 10);
      // Only the benefit's own __prefix__ is replaced: nested row templates keep theirs.
      var html = template.innerHTML.replace(/benefits-__prefix__/g, "benefits-" + index);
      var holder = document.createElement("div");
      holder.innerHTML = html;
      var card = holder.firstElementChild;
      list.appendChild(card);
      total.value = index + 1;
      wire(card);
    });
  }
}());
