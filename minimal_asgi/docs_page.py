"""The ``/docs`` page: the OpenAPI document, listed for a person.

One self-contained HTML page - inline CSS and script, nothing from a CDN -
that fetches the document from ``openapi_url`` and lists every operation. All
text from the document is inserted as text, never as HTML, and a
Content-Security-Policy with hashes lets only this page's own script and style
run. openapi.py serves it (``add_openapi_routes``).
"""

from __future__ import annotations

import base64
import hashlib
import html
import re

__all__ = ["DOCS_HEADERS", "docs_page"]


def docs_page(title: str, openapi_url: str) -> str:
    """The HTML of the docs page for the document at ``openapi_url``."""
    values = {"TITLE": html.escape(title), "OPENAPI_URL": html.escape(openapi_url, quote=True)}
    # One pass, so a title that happens to contain "__OPENAPI_URL__" stays text.
    return _SLOT.sub(lambda match: values[match.group(1)], _DOCS_TEMPLATE)


_SLOT = re.compile(r"__(TITLE|OPENAPI_URL)__")


_DOCS_STYLE = """
:root { color-scheme: light dark; --line: #8884; --muted: #777; }
body { font: 15px/1.45 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; }
#status { color: var(--muted); margin-top: 0; }
details { border: 1px solid var(--line); border-radius: 6px; margin: .5rem 0; }
summary { cursor: pointer; padding: .5rem .75rem; display: flex; gap: .75rem;
          align-items: baseline; flex-wrap: wrap; }
.method { font: bold 12px/1.8 ui-monospace, monospace; min-width: 4.5rem; text-align: center;
          border-radius: 4px; color: #fff; background: #666; }
.get { background: #1f6feb; } .post { background: #1a7f37; } .put { background: #9a6700; }
.patch { background: #8250df; } .delete { background: #cf222e; }
.path { font-family: ui-monospace, monospace; font-weight: 600; }
.summary { color: var(--muted); } .tag { font-size: 12px; border: 1px solid var(--line);
       border-radius: 9px; padding: 0 .5rem; }
.body { padding: 0 .75rem .75rem; } .body h3 { font-size: .95rem; margin: .75rem 0 .25rem; }
table { border-collapse: collapse; width: 100%; }
td, th { text-align: left; border-top: 1px solid var(--line); padding: .25rem .5rem;
         vertical-align: top; }
code { font-family: ui-monospace, monospace; }
"""

# Every piece of text from the document is set with textContent, never as
# HTML: a docstring that contains "<script>" is shown, not run.
_DOCS_SCRIPT = """
"use strict";
(() => {
  const list = document.getElementById("endpoints");
  const status = document.getElementById("status");
  const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function resolve(doc, value) {
    // Follows a local {"$ref": "#/components/..."} to what it names.
    while (value && typeof value.$ref === "string" && value.$ref.startsWith("#/")) {
      value = value.$ref.slice(2).split("/").reduce((node, key) => node && node[key], doc);
    }
    return value || {};
  }

  function typeName(schema) {
    if (!schema) return "";
    if (schema.$ref) return schema.$ref.split("/").pop();
    if (schema.const !== undefined) return JSON.stringify(schema.const);
    if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
    if (schema.anyOf) return schema.anyOf.map(typeName).join(" | ");
    if (schema.allOf) return schema.allOf.map(typeName).join(" & ");
    const kinds = [].concat(schema.type || "any");
    return kinds.map((kind) => {
      if (kind === "array") {
        const item = typeName(schema.items || {});
        return (item.includes(" ") ? "(" + item + ")" : item) + "[]";
      }
      if (kind === "string" && schema.format) return "string (" + schema.format + ")";
      return kind;
    }).join(" | ");
  }

  function table(headings, rows) {
    const t = el("table");
    const head = el("tr");
    headings.forEach((h) => head.append(el("th", "", h)));
    t.append(head);
    rows.forEach((cells) => {
      const row = el("tr");
      cells.forEach((cell) => row.append(el("td", "", cell)));
      t.append(row);
    });
    return t;
  }

  function describeScheme(scheme) {
    // One line for a Security Scheme Object: how the credential travels.
    if (scheme.type === "http") {
      const format = scheme.bearerFormat ? " (" + scheme.bearerFormat + ")" : "";
      return "HTTP " + scheme.scheme + format;
    }
    if (scheme.type === "apiKey") return scheme.in + " " + scheme.name;
    if (scheme.type === "oauth2") {
      return "OAuth2 " + Object.entries(scheme.flows || {}).map(
        ([flow, value]) => flow + (value.tokenUrl ? " (token: " + value.tokenUrl + ")" : "")
      ).join(", ");
    }
    return scheme.type || "?";
  }

  function security(doc, requirements) {
    // The alternatives of an operation's "security", any one of which is enough.
    const schemes = (doc.components || {}).securitySchemes || {};
    return table(["credential", "sent as", "scopes"], requirements.map((requirement) => {
      const names = Object.keys(requirement);
      if (!names.length) return ["none", "", ""];
      return [
        names.join(" + "),
        names.map((name) => describeScheme(resolve(doc, schemes[name]))).join(" + "),
        names.map((name) => (requirement[name] || []).join(" ")).filter(Boolean).join("; "),
      ];
    }));
  }

  function operation(doc, method, path, op) {
    const box = el("details");
    const line = el("summary");
    line.append(el("span", "method " + method, method.toUpperCase()), el("code", "path", path));
    if (op.summary) line.append(el("span", "summary", op.summary));
    (op.tags || []).forEach((tag) => line.append(el("span", "tag", tag)));
    box.append(line);
    const body = el("div", "body");
    if (op.description) body.append(el("p", "", op.description));
    if (op.security && op.security.length) {
      body.append(el("h3", "", "Security (any one of)"));
      body.append(security(doc, op.security));
    }
    const params = (op.parameters || []).map((p) => resolve(doc, p));
    if (params.length) {
      body.append(el("h3", "", "Parameters"));
      body.append(table(["name", "in", "type", "required", "description"], params.map((p) => [
        p.name, p.in, typeName(p.schema), p.required ? "yes" : "no", p.description || ""])));
    }
    if (op.requestBody) {
      const request = resolve(doc, op.requestBody);
      body.append(el("h3", "", "Request body" + (request.required ? "" : " (optional)")));
      body.append(table(["media type", "type"], Object.entries(request.content || {}).map(
        ([media, value]) => [media, typeName(value.schema)])));
    }
    body.append(el("h3", "", "Responses"));
    body.append(table(["status", "description", "type"], Object.entries(op.responses || {}).map(
      ([code, value]) => {
        const response = resolve(doc, value);
        const media = Object.entries(response.content || {});
        const types = media.map(([name, m]) => name + (m.schema ? ": " + typeName(m.schema) : ""));
        return [code, response.description || "", types.join(", ")];
      })));
    body.append(el("p", "summary", "operationId: " + op.operationId));
    box.append(body);
    return box;
  }

  function render(doc) {
    const title = (doc.info && doc.info.title) || "API";
    document.title = title + " - endpoints";
    document.getElementById("title").textContent = title + " " + ((doc.info || {}).version || "");
    let count = 0;
    Object.entries(doc.paths || {}).forEach(([path, item]) => {
      METHODS.forEach((method) => {
        if (item[method]) {
          list.append(operation(doc, method, path, item[method]));
          count += 1;
        }
      });
    });
    status.textContent = count + " endpoint" + (count === 1 ? "" : "s") + ", from OpenAPI "
      + doc.openapi + " at " + document.body.dataset.openapiUrl;
  }

  fetch(document.body.dataset.openapiUrl, { headers: { accept: "application/json" } })
    .then((response) => {
      if (!response.ok) throw new Error(response.status + " " + response.statusText);
      return response.json();
    })
    .then(render)
    .catch((error) => {
      status.textContent = "Could not load the OpenAPI document: " + error.message;
    });
})();
"""


def _csp_hash(source: str) -> str:
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


# The page may run exactly its own script and style (by hash) and fetch only
# from its own origin: nothing is loaded from anywhere else, and injected
# markup could not run even if some text slipped through unescaped.
DOCS_HEADERS = {
    "content-security-policy": (
        f"default-src 'none'; script-src {_csp_hash(_DOCS_SCRIPT)}; "
        f"style-src {_csp_hash(_DOCS_STYLE)}; connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
    ),
    "x-content-type-options": "nosniff",
}

_DOCS_TEMPLATE = (
    "<!doctype html>\n"
    '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
    "<title>__TITLE__ - endpoints</title>\n"
    f"<style>{_DOCS_STYLE}</style>\n"
    "</head>\n"
    '<body data-openapi-url="__OPENAPI_URL__">\n'
    '<h1 id="title">__TITLE__</h1>\n'
    '<p id="status">Loading the OpenAPI document...</p>\n'
    '<main id="endpoints"></main>\n'
    f"<script>{_DOCS_SCRIPT}</script>\n"
    "</body>\n</html>\n"
)
