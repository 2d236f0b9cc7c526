// The dashboard reads without JavaScript; this only adds two conveniences: the API key's copy
// button, and pending changes that turn into WordPress's answer without a reload.
document.addEventListener("click", function (event) {
  var button = event.target.closest("button[data-copy]");
  if (!button) return;
  var field = document.getElementById(button.getAttribute("data-copy"));
  if (!field) return;
  var done = function () {
    button.textContent = "Copied";
    setTimeout(function () { button.textContent = "Copy"; }, 2000);
  };
  var fallback = function () {
    field.focus();
    field.select();
    try { document.execCommand("copy"); done(); } catch (e) { /* selected: the user can copy by hand */ }
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(field.value).then(done, fallback);
  } else {
    fallback();
  }
});

// While a region marked data-live shows a pending change, the page is read again every second
// and the region replaced when the server's version of it changed (forms elsewhere on the page
// keep what the user typed). Without JavaScript such pages refresh themselves instead.
document.addEventListener("DOMContentLoaded", function () {
  var regions = Array.prototype.map.call(document.querySelectorAll("[data-live][id]"), function (el) {
    return { id: el.id, html: el.innerHTML };
  });
  if (!regions.length || !window.fetch || !window.DOMParser) return;
  var pending = function () { return document.querySelector("[data-live] [data-pending]") !== null; };
  var poll = function () {
    if (!pending()) return;
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html");
          regions.forEach(function (region) {
            var now = fresh.getElementById(region.id);
            var here = document.getElementById(region.id);
            if (now && here && now.innerHTML !== region.html) {
              here.innerHTML = now.innerHTML;
              region.html = now.innerHTML;
            }
          });
        }
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 1000); });
  };
  setTimeout(poll, 1000);
});
