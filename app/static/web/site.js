// Small enhancements; every page works without them.
(function () {
  "use strict";
  // Live word counts: words are runs of non-space characters, the rule the server applies.
  document.querySelectorAll("textarea[data-word-limit]").forEach(function (area) {
    var output = document.getElementById(area.id + "-count");
    var limit = parseInt(area.getAttribute("data-word-limit"), 10);
    if (!output) { return; }
    function update() {
      var words = (area.value.match(/\S+/g) || []).length;
      output.textContent = words + " of " + limit + " words";
      output.classList.toggle("over", words > limit);
    }
    area.addEventListener("input", update);
  });
  // Score autosave: each change is saved at once; the page's own Save button still works.
  var scoring = document.querySelector("form[data-autosave]");
  if (scoring && window.fetch) {
    var status = document.getElementById("autosave-status");
    scoring.addEventListener("change", function () {
      var body = new FormData(scoring);
      body.append("autosave", "1");
      fetch(scoring.getAttribute("data-autosave"), { method: "POST", body: body, credentials: "same-origin" })
        .then(function (response) {
          if (status) { status.textContent = response.ok ? "Saved automatically." : "Not saved: use the Save button."; }
        })
        .catch(function () { if (status) { status.textContent = "Not saved: use the Save button."; } });
    });
  }
})();
