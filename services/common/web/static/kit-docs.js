/* Kehu CRM: starts the vendored Swagger UI (swagger-ui-bundle, Apache-2.0) on this
   gateway's own /openapi.json. Offline: no request leaves the gateway. */
(function () {
  var el = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: el.getAttribute("data-spec-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
})();
