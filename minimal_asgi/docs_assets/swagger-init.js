// Starts Swagger UI on the /docs page (docs_page.py, App(docs_ui="swagger-ui")).
// A file, not an inline <script>, so the page's Content-Security-Policy can
// allow scripts from this origin only. The document's URL comes from the page.
"use strict";
window.addEventListener("load", () => {
  window.ui = SwaggerUIBundle({
    url: document.body.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    layout: "BaseLayout", // no top bar to load other documents from elsewhere
    presets: [SwaggerUIBundle.presets.apis],
    // Swagger UI would ask a public validator about the document: it stays here.
    validatorUrl: null,
    tryItOutEnabled: false,
    displayRequestDuration: true,
  });
});
