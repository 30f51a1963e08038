/* nxx example site: a little script to show the server at work.
   Served precompressed when the client accepts it (app.js.gz, app.js.br). */
"use strict";

(function () {
  var servedBy = document.getElementById("served-by");
  var button = document.getElementById("probe");
  var result = document.getElementById("probe-result");

  if (servedBy) {
    servedBy.textContent = "This page was served by nxx; the script loaded too.";
    servedBy.className = "live";
  }

  if (!button || !result || !window.fetch) {
    return;
  }

  // Ask for a file that does not exist and show the explanation nxx sends:
  // with Accept: application/json it is an RFC 9457 problem object.
  button.addEventListener("click", function () {
    result.textContent = "requesting /missing ...";
    fetch("/missing", { headers: { Accept: "application/problem+json, application/json" } })
      .then(function (resp) {
        var head = "HTTP " + resp.status + " " + resp.statusText + "\n" +
                   "Content-Type: " + (resp.headers.get("Content-Type") || "(none)") + "\n\n";
        return resp.text().then(function (body) {
          try {
            body = JSON.stringify(JSON.parse(body), null, 2);
          } catch (e) {
            /* not JSON: show it as it came */
          }
          result.textContent = head + body;
        });
      })
      .catch(function (err) {
        result.textContent = "request failed: " + err;
      });
  });
})();
