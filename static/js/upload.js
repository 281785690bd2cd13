// Upload with a progress bar: the form still works without JavaScript.
(function () {
  "use strict";
  var form = document.querySelector("form[data-upload]");
  if (!form || !window.XMLHttpRequest || !window.FormData) { return; }
  var bar = document.getElementById("upload-progress");
  var label = document.getElementById("upload-progress-label");
  var errors = document.getElementById("upload-errors");
  var limit = parseInt(form.getAttribute("data-limit"), 10);

  function fail(message) {
    errors.textContent = message;
    errors.hidden = false;
    form.querySelector("button[type=submit]").disabled = false;
  }

  form.addEventListener("submit", function (event) {
    var file = form.querySelector("input[name=bundle]").files[0];
    if (file && limit && file.size > limit) {
      event.preventDefault();
      fail("The file is " + file.size.toLocaleString() + " bytes; the limit is " + limit.toLocaleString() + " bytes.");
      return;
    }
    event.preventDefault();
    errors.hidden = true;
    form.querySelector("button[type=submit]").disabled = true;
    bar.hidden = false;
    bar.value = 0;
    label.textContent = "Starting the upload…";
    var request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.setRequestHeader("Accept", "application/json");
    request.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) {
        bar.value = Math.round(100 * e.loaded / e.total);
        label.textContent = "Uploading: " + bar.value + "%";
      }
    });
    request.addEventListener("load", function () {
      var body = {};
      try { body = JSON.parse(request.responseText); } catch (e) { /* not JSON */ }
      if (request.status < 300 && body.redirect) {
        label.textContent = "Uploaded. Opening the verification report…";
        window.location.assign(body.redirect);
      } else {
        fail(body.error || ("The upload failed (HTTP " + request.status + ")."));
      }
    });
    request.addEventListener("error", function () { fail("The connection broke during the upload; nothing was stored. Try again."); });
    request.send(new FormData(form));
  });
})();
