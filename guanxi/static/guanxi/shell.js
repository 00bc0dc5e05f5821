/* guanxi shell behaviour: the search drop-down's keyboard use and the list row selection.
   Plain JavaScript, delegated from the document so it keeps working after HTMX swaps. */
(function () {
  "use strict";

  // --- Global search drop-down ------------------------------------------------------------
  function searchParts() {
    var input = document.getElementById("nav-search");
    var box = document.getElementById("nav-search-results");
    return input && box ? { input: input, box: box } : null;
  }

  function hits(box) {
    return Array.prototype.slice.call(box.querySelectorAll(".search-hit"));
  }

  function setOpen(parts, open) {
    parts.box.hidden = !open;
    parts.input.setAttribute("aria-expanded", open ? "true" : "false");
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    var parts = searchParts();
    if (parts && event.target === parts.box) {
      setOpen(parts, parts.box.textContent.trim() !== "" && document.activeElement === parts.input);
    }
  });

  document.addEventListener("keydown", function (event) {
    var parts = searchParts();
    if (!parts) { return; }
    var inInput = event.target === parts.input;
    var inBox = parts.box.contains(event.target);
    if (!inInput && !inBox) { return; }
    var items = hits(parts.box);
    var index = items.indexOf(document.activeElement);
    if (event.key === "ArrowDown" && items.length) {
      event.preventDefault();
      setOpen(parts, true);
      items[Math.min(index + 1, items.length - 1)].focus();
    } else if (event.key === "ArrowUp" && inBox) {
      event.preventDefault();
      if (index <= 0) { parts.input.focus(); } else { items[index - 1].focus(); }
    } else if (event.key === "Escape") {
      setOpen(parts, false);
      parts.input.focus();
    }
  });

  document.addEventListener("focusin", function (event) {
    var parts = searchParts();
    if (!parts) { return; }
    var inside = event.target === parts.input || parts.box.contains(event.target);
    if (!inside) { setOpen(parts, false); }
    else if (event.target === parts.input && parts.box.textContent.trim() !== "") { setOpen(parts, true); }
  });

  document.addEventListener("click", function (event) {
    var parts = searchParts();
    if (parts && !parts.input.closest("form").contains(event.target)) { setOpen(parts, false); }
  });

  // --- List row selection and bulk actions -------------------------------------------------
  document.addEventListener("change", function (event) {
    var target = event.target;
    var list = target.closest ? target.closest("[data-list-table]") : null;
    if (!list) { return; }
    if (target.matches("[data-select-page]")) {
      list.querySelectorAll("[data-select-row]").forEach(function (box) { box.checked = target.checked; });
    } else if (target.matches("[data-select-row]")) {
      var rows = list.querySelectorAll("[data-select-row]");
      var checked = list.querySelectorAll("[data-select-row]:checked");
      var all = list.querySelector("[data-select-page]");
      if (all) {
        all.checked = rows.length > 0 && checked.length === rows.length;
        all.indeterminate = checked.length > 0 && checked.length < rows.length;
      }
    } else if (target.matches("[data-bulk-action]")) {
      list.querySelectorAll("[data-bulk-fields]").forEach(function (block) {
        block.hidden = block.getAttribute("data-bulk-fields") !== target.value;
      });
    }
  });
})();
