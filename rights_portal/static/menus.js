/* The header's disclosure menus (<details>/<summary>) work without this script; it only adds
 * what people expect of a menu: one open at a time, Escape closes it (focus back on its
 * summary), a click or focus elsewhere closes it.
 */
(function () {
  "use strict";
  var menus = Array.prototype.slice.call(document.querySelectorAll("details.menu"));
  if (!menus.length) {
    return;
  }
  function closeAll(except) {
    menus.forEach(function (menu) {
      if (menu !== except) {
        menu.open = false;
      }
    });
  }
  menus.forEach(function (menu) {
    menu.addEventListener("toggle", function () {
      if (menu.open) {
        closeAll(menu);
      }
    });
    menu.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && menu.open) {
        menu.open = false;
        menu.querySelector("summary").focus();
      }
    });
  });
  document.addEventListener("click", function (event) {
    if (!event.target.closest("details.menu")) {
      closeAll(null);
    }
  });
  document.addEventListener("focusin", function (event) {
    if (!event.target.closest("details.menu")) {
      closeAll(null);
    }
  });
})();
