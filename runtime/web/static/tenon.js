// Tenon's page script. No inline scripts anywhere: the CSP allows scripts from 'self' only.
// htmx is configured by <meta name="htmx-config"> (no eval, no history cache, same origin).
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : null;
  }

  // Every htmx request carries the session's CSRF token in X-CSRF-Token.
  document.addEventListener("htmx:configRequest", function (event) {
    var token = csrfToken();
    if (token) {
      event.detail.headers["X-CSRF-Token"] = token;
    }
  });

  // -- forms: touched fields, conditions from the server, unsaved changes ---------------
  function fieldName(element) {
    var holder = element.closest("[data-field]");
    return holder ? holder.getAttribute("data-field") : null;
  }

  function markTouched(form, name) {
    if (!name || form.querySelector('input[name="_touched"][value="' + CSS.escape(name) + '"]')) {
      return;
    }
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = "_touched";
    input.value = name;
    form.appendChild(input);
  }

  document.addEventListener("change", function (event) {
    var form = event.target.closest("form[data-guard]");
    if (form) {
      form.dataset.dirty = "1";
      markTouched(form, fieldName(event.target));
    }
  });
  document.addEventListener("input", function (event) {
    var form = event.target.closest("form[data-guard]");
    if (form) {
      form.dataset.dirty = "1";
    }
  });
  document.addEventListener("submit", function (event) {
    if (event.target.matches("form[data-guard]")) {
      event.target.dataset.submitting = "1";
    }
  });
  window.addEventListener("beforeunload", function (event) {
    var dirty = document.querySelector('form[data-guard][data-dirty="1"]:not([data-submitting])');
    if (dirty) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  function applyState(template) {
    var form = template.closest("form") || document;
    var lists = {};
    ["hidden", "required", "readonly"].forEach(function (key) {
      lists[key] = (template.getAttribute("data-" + key) || "").split(",").filter(Boolean);
    });
    form.querySelectorAll("[data-field]").forEach(function (holder) {
      var name = holder.getAttribute("data-field");
      holder.hidden = lists.hidden.indexOf(name) >= 0;
      var required = lists.required.indexOf(name) >= 0;
      var control = holder.querySelector("input:not([type=hidden]), select, textarea");
      if (control && !holder.dataset.declaredRequired) {
        holder.dataset.declaredRequired = control.getAttribute("aria-required") === "true" ? "yes" : "no";
      }
      if (control) {
        var always = holder.dataset.declaredRequired === "yes";
        control.setAttribute("aria-required", always || required ? "true" : "false");
        var star = holder.querySelector(".req");
        if (!star && (always || required)) {
          star = document.createElement("span");
          star.className = "req";
          star.setAttribute("aria-hidden", "true");
          star.textContent = " *";
          holder.querySelector("label").appendChild(star);
        } else if (star && !(always || required)) {
          star.remove();
        }
        control.readOnly = lists.readonly.indexOf(name) >= 0;
      }
    });
    form.querySelectorAll("[data-field]").forEach(function (holder) {
      var error = holder.querySelector(".field-error");
      var control = holder.querySelector("input:not([type=hidden]), select, textarea");
      var bad = error && error.textContent.trim() !== "";
      holder.classList.toggle("invalid", !!bad);
      if (control) {
        if (bad) { control.setAttribute("aria-invalid", "true"); } else { control.removeAttribute("aria-invalid"); }
      }
    });
  }

  document.addEventListener("htmx:oobAfterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "form-state") {
      applyState(target);
    }
  });

  // -- reference pickers ---------------------------------------------------------------
  document.addEventListener("click", function (event) {
    var option = event.target.closest("[data-pick-id]");
    if (!option) {
      return;
    }
    var picker = option.closest("[data-picker]");
    var value = picker.querySelector("[data-picker-value]");
    var text = picker.querySelector("[data-picker-text]");
    value.value = option.getAttribute("data-pick-id");
    text.value = option.getAttribute("data-pick-label");
    picker.querySelector(".picker-options").innerHTML = "";
    value.dispatchEvent(new Event("change", { bubbles: true }));
    text.focus();
  });
  document.addEventListener("input", function (event) {
    var text = event.target.closest("[data-picker-text]");
    if (text && text.value === "") {
      text.closest("[data-picker]").querySelector("[data-picker-value]").value = "";
    }
  });

  // -- board: dragging a card onto a lane submits the card's own move form -------------
  var dragged = null;
  document.addEventListener("dragstart", function (event) {
    dragged = event.target.closest && event.target.closest("[data-card][draggable]");
    if (dragged) {
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", dragged.getAttribute("data-card"));
    }
  });
  function laneOf(event) {
    var lane = event.target.closest && event.target.closest("[data-lane]");
    if (!lane || !dragged) {
      return null;
    }
    var select = dragged.querySelector("form.move select[name=to]");
    var value = lane.getAttribute("data-lane");
    var offered = select && Array.prototype.some.call(select.options, function (o) { return o.value === value; });
    return offered ? lane : null;
  }
  document.addEventListener("dragover", function (event) {
    var lane = laneOf(event);
    if (lane) {
      event.preventDefault();
      lane.classList.add("drop");
    }
  });
  document.addEventListener("dragleave", function (event) {
    var lane = event.target.closest && event.target.closest("[data-lane]");
    if (lane && !lane.contains(event.relatedTarget)) {
      lane.classList.remove("drop");
    }
  });
  document.addEventListener("drop", function (event) {
    var lane = laneOf(event);
    if (!lane) {
      return;
    }
    event.preventDefault();
    lane.classList.remove("drop");
    var form = dragged.querySelector("form.move");
    form.querySelector("select[name=to]").value = lane.getAttribute("data-lane");
    lane.querySelector(".lane-cards").appendChild(dragged);
    form.requestSubmit();
  });
  document.addEventListener("dragend", function () {
    dragged = null;
  });

  // -- form tabs: one tab's sections shown; a tab holding an error is marked and opened ---
  function showTab(strip, name) {
    var form = strip.closest("form");
    strip.querySelectorAll("[data-tab]").forEach(function (button) {
      button.setAttribute("aria-selected", button.getAttribute("data-tab") === name ? "true" : "false");
    });
    form.querySelectorAll("[data-tab-panel]").forEach(function (panel) {
      panel.hidden = panel.getAttribute("data-tab-panel") !== name;
    });
  }
  function markTabs(strip) {
    var form = strip.closest("form");
    var first = null;
    strip.querySelectorAll("[data-tab]").forEach(function (button) {
      var name = button.getAttribute("data-tab");
      var bad = Array.prototype.some.call(
        form.querySelectorAll('[data-tab-panel="' + CSS.escape(name) + '"]'),
        function (panel) { return panel.querySelector(".field.invalid, [aria-invalid=true]"); }
      );
      button.classList.toggle("has-error", !!bad);
      if (bad && first === null) {
        first = name;
      }
    });
    return first;
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-tabs] [data-tab]");
    if (button) {
      showTab(button.closest("[data-tabs]"), button.getAttribute("data-tab"));
    }
  });
  document.addEventListener("htmx:oobAfterSwap", function () {
    document.querySelectorAll("[data-tabs]").forEach(markTabs);
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-tabs]").forEach(function (strip) {
      var bad = markTabs(strip);
      var first = strip.querySelector("[data-tab]");
      showTab(strip, bad !== null ? bad : first.getAttribute("data-tab"));
    });
  });

  // -- child rows: "Add a row" copies the blank row with the next number ---------------
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-add-row]");
    if (!button) {
      return;
    }
    var box = button.closest("[data-children]");
    var n = parseInt(box.getAttribute("data-next"), 10);
    box.setAttribute("data-next", String(n + 1));
    var row = document.createElement("tr");
    row.innerHTML = box.querySelector("template[data-row]").innerHTML.split("__n__").join(String(n));
    box.querySelector("tbody").appendChild(row);
    var form = box.closest("form[data-guard]");
    if (form) {
      form.dataset.dirty = "1";
    }
    var first = row.querySelector("input:not([type=hidden]), select, textarea");
    if (first) {
      first.focus();
    }
  });

  // -- focus: the first error of a refused form, or an error notice -----------------------
  document.addEventListener("DOMContentLoaded", function () {
    var first = document.querySelector('[aria-invalid="true"], [data-focus]');
    if (first) {
      first.focus();
    }
  });
})();
