// /api/v1/docs: Swagger UI (vendored in static/vendor/swagger-ui/) over the API's OpenAPI document.
// A file, not an inline script: the Content-Security-Policy allows scripts from this site only.
(function () {
  "use strict";

  var root = document.getElementById("swagger-ui");
  if (!root || typeof window.SwaggerUIBundle !== "function") {
    return;  // the bundle did not load: the link to the document is still on the page
  }
  window.SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    domNode: root,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    // Swagger UI would otherwise send the document to swagger.io's validator, another origin.
    validatorUrl: null,
    // A pasted key lives in this page's memory only, never in localStorage.
    persistAuthorization: false,
    displayRequestDuration: true,
    defaultModelsExpandDepth: 0
  });
})();
