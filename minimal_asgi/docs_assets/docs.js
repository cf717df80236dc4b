// The /docs page of minimal_asgi: the app's OpenAPI document, for a person.
//
// In under 500 lines it does what Swagger UI does in a megabyte and a half:
// fetch the document, list every operation, show its parameters, its request
// and response schemas with an example of each, keep the credentials typed
// into "Authorize", and send a request built from a small form ("try it").
//
// Two rules keep it safe (docs/08-openapi.md, "Why the files are served by
// the app, under a strict CSP"):
// - every piece of text from the document is set with textContent, never as
//   HTML, so a docstring that contains "<script>" is shown, not run;
// - this file is served by the app itself, under a Content-Security-Policy
//   that lets the page run scripts from its own origin only, and fetch from
//   its own origin only: nothing comes from a CDN, nothing leaves for one.
"use strict";
(() => {
  const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
  const page = document.body.dataset;
  const list = document.getElementById("endpoints");
  const status = document.getElementById("status");
  // What the person typed into "Authorize": scheme name -> value(s). Kept in
  // memory only, so closing the tab forgets it.
  const credentials = {};

  // -- small DOM helpers --------------------------------------------------------
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function input(name, placeholder, type) {
    const field = el("input");
    field.name = name;
    field.type = type || "text";
    if (placeholder) field.placeholder = placeholder;
    return field;
  }

  function labelled(text, field) {
    const label = el("label", "field");
    label.append(el("span", "label", text), field);
    return label;
  }

  function table(headings, rows) {
    const t = el("table");
    const head = el("tr");
    headings.forEach((h) => head.append(el("th", "", h)));
    t.append(head);
    rows.forEach((cells) => {
      const row = el("tr");
      cells.forEach((cell) => {
        const td = el("td");
        if (cell instanceof Object && cell.nodeType) td.append(cell);
        else td.textContent = cell === undefined || cell === null ? "" : String(cell);
        row.append(td);
      });
      t.append(row);
    });
    return t;
  }

  // -- reading the document -----------------------------------------------------
  function resolve(doc, value) {
    // Follows a local {"$ref": "#/components/..."} to what it names.
    let hops = 0;
    while (value && typeof value.$ref === "string" && value.$ref.startsWith("#/") && hops < 20) {
      value = value.$ref.slice(2).split("/").reduce((node, key) => node && node[key], doc);
      hops += 1;
    }
    return value || {};
  }

  function flatten(doc, schema) {
    // {"allOf": [A, B]} -> one object schema with the properties of both
    // (how a ValidationProblem extends Problem).
    const target = resolve(doc, schema);
    if (!target.allOf) return target;
    const merged = { type: "object", properties: {}, required: [] };
    target.allOf.map((part) => flatten(doc, part)).forEach((part) => {
      Object.assign(merged.properties, part.properties || {});
      merged.required.push(...(part.required || []));
    });
    return merged;
  }

  function typeName(schema) {
    if (!schema) return "";
    if (schema.$ref) return schema.$ref.split("/").pop();
    if (schema.const !== undefined) return JSON.stringify(schema.const);
    if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
    if (schema.anyOf) return schema.anyOf.map(typeName).join(" | ");
    if (schema.oneOf) return schema.oneOf.map(typeName).join(" | ");
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

  const RULES = ["minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum", "minLength",
    "maxLength", "pattern", "minItems", "maxItems", "uniqueItems", "default"];

  function rules(schema) {
    // "minLength 1, maxLength 200": the constraints a value must meet.
    return RULES.filter((key) => schema[key] !== undefined)
      .map((key) => key + " " + JSON.stringify(schema[key])).join(", ");
  }

  // A schema as a nested list: each property with its type, whether it is
  // required, its constraints and description; $refs opened up to a depth,
  // and never twice on one branch (a recursive schema stays finite).
  function schemaView(doc, schema, seen, depth) {
    const box = el("ul", "schema");
    const target = flatten(doc, schema);
    const props = target.properties || {};
    const required = new Set(target.required || []);
    const names = Object.keys(props);
    if (!names.length) {
      const line = el("li");
      line.append(el("code", "type", typeName(schema)));
      const more = rules(target);
      if (more) line.append(el("span", "rules", " " + more));
      if (target.items && depth < 4) {
        line.append(schemaView(doc, target.items, seen, depth + 1));
      }
      box.append(line);
      return box;
    }
    names.forEach((name) => {
      const prop = props[name];
      const inner = resolve(doc, prop);
      const line = el("li");
      line.append(el("code", "name", name), el("span", "", ": "), el("code", "type", typeName(prop)));
      if (required.has(name)) line.append(el("span", "required", " required"));
      if (inner.readOnly) line.append(el("span", "rules", " read-only"));
      const more = rules(inner);
      if (more) line.append(el("span", "rules", " " + more));
      if (inner.description) line.append(el("div", "muted", inner.description));
      const ref = prop.$ref || (prop.items && prop.items.$ref);
      if (ref && !seen.includes(ref) && depth < 4) {
        line.append(schemaView(doc, prop.items || prop, seen.concat([ref]), depth + 1));
      }
      box.append(line);
    });
    return box;
  }

  // An example value for a schema: its own example if it has one, otherwise
  // one made from the types (the first enum value, the minimum, a date...).
  const FORMATS = {
    "date-time": "2025-01-31T12:00:00Z", date: "2025-01-31", time: "12:00:00",
    uuid: "3fa85f64-5717-4562-b3fc-2c963f66afa6", email: "ada@example.com",
  };

  function example(doc, schema, forRequest, seen) {
    seen = seen || [];
    if (!schema) return null;
    if (schema.$ref) {
      if (seen.includes(schema.$ref)) return null;
      return example(doc, resolve(doc, schema), forRequest, seen.concat([schema.$ref]));
    }
    if (schema.allOf) return example(doc, flatten(doc, schema), forRequest, seen);
    if (schema.example !== undefined) return schema.example;
    if (schema.examples && schema.examples.length) return schema.examples[0];
    if (schema.default !== undefined) return schema.default;
    if (schema.const !== undefined) return schema.const;
    if (schema.enum) return schema.enum[0];
    const options = schema.anyOf || schema.oneOf;
    if (options) {
      const real = options.find((option) => option.type !== "null") || options[0];
      return example(doc, real, forRequest, seen);
    }
    const kind = [].concat(schema.type || "").find((k) => k !== "null") || "";
    if (kind === "object" || schema.properties) {
      const value = {};
      Object.entries(schema.properties || {}).forEach(([name, prop]) => {
        if (forRequest && resolve(doc, prop).readOnly) return; // never sent
        value[name] = example(doc, prop, forRequest, seen);
      });
      return value;
    }
    if (kind === "array") {
      const item = example(doc, schema.items, forRequest, seen);
      return item === null ? [] : [item];
    }
    if (kind === "integer" || kind === "number") {
      if (schema.minimum !== undefined) return schema.minimum;
      if (schema.exclusiveMinimum !== undefined) return schema.exclusiveMinimum + 1;
      return kind === "integer" ? 1 : 1.5;
    }
    if (kind === "boolean") return true;
    if (kind === "string") {
      if (FORMATS[schema.format]) return FORMATS[schema.format];
      const text = "string";
      return schema.minLength > text.length ? text.padEnd(schema.minLength, "x") : text;
    }
    return null;
  }

  function pre(value) {
    return el("pre", "example", typeof value === "string" ? value : JSON.stringify(value, null, 2));
  }

  // -- Authorize ------------------------------------------------------------------
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

  function authorize(doc) {
    // One form per security scheme. Typing into it only stores the value;
    // "try it" adds it to the requests of the operations that need it.
    const schemes = (doc.components || {}).securitySchemes || {};
    const names = Object.keys(schemes);
    const panel = document.getElementById("authorize");
    if (!names.length) return;
    panel.hidden = false;
    panel.append(el("h2", "", "Authorize"));
    names.forEach((name) => {
      const scheme = resolve(doc, schemes[name]);
      const row = el("div", "scheme");
      row.append(el("strong", "", name), el("span", "muted", " " + describeScheme(scheme)));
      const basic = scheme.type === "http" && String(scheme.scheme).toLowerCase() === "basic";
      if (basic) {
        const user = input(name + "-user", "username");
        const pass = input(name + "-password", "password", "password");
        const keep = () => { credentials[name] = { user: user.value, password: pass.value }; };
        user.addEventListener("input", keep);
        pass.addEventListener("input", keep);
        row.append(user, pass);
      } else {
        const token = input(name, scheme.type === "apiKey" ? "key" : "token");
        token.addEventListener("input", () => { credentials[name] = token.value; });
        row.append(token);
        const password = ((scheme.flows || {}).password || {}).tokenUrl;
        if (password) row.append(passwordLogin(password, token, name));
      }
      panel.append(row);
    });
  }

  function passwordLogin(tokenUrl, tokenField, name) {
    // OAuth2's password flow (RFC 6749 4.3): POST a form with the username and
    // password to the token URL; the answer's access_token is the bearer token.
    const box = el("form", "login");
    const user = input(name + "-login-user", "username");
    const pass = input(name + "-login-password", "password", "password");
    const button = el("button", "", "Get a token");
    const said = el("span", "muted");
    box.append(user, pass, button, said);
    box.addEventListener("submit", async (event) => {
      event.preventDefault();
      const form = new URLSearchParams({ grant_type: "password", username: user.value,
        password: pass.value });
      // A tokenUrl is usually a path of this app (under the proxy's prefix);
      // the page's policy lets it reach its own origin only anyway.
      const url = tokenUrl.startsWith("/") ? page.rootPath + tokenUrl : tokenUrl;
      const response = await fetch(url, { method: "POST", body: form });
      const answer = await response.json().catch(() => ({}));
      if (response.ok && answer.access_token) {
        tokenField.value = answer.access_token;
        credentials[name] = answer.access_token;
        said.textContent = " got a token";
      } else {
        said.textContent = " " + response.status + " " + (answer.detail || answer.title || "");
      }
    });
    return box;
  }

  function addCredentials(doc, op, headers, query) {
    // The first alternative of the operation's "security" whose schemes all
    // have a value typed in: any one alternative is enough.
    const schemes = (doc.components || {}).securitySchemes || {};
    const filled = (name) => {
      const value = credentials[name];
      return value && (typeof value === "string" || value.user);
    };
    const chosen = (op.security || []).find((req) => Object.keys(req).every(filled));
    Object.keys(chosen || {}).forEach((name) => {
      const scheme = resolve(doc, schemes[name]);
      const value = credentials[name];
      if (scheme.type === "apiKey" && scheme.in === "header") headers[scheme.name] = value;
      else if (scheme.type === "apiKey" && scheme.in === "query") query.append(scheme.name, value);
      else if (scheme.type === "http" && String(scheme.scheme).toLowerCase() === "basic") {
        const pair = new TextEncoder().encode(value.user + ":" + (value.password || ""));
        headers.Authorization = "Basic " + btoa(String.fromCharCode(...pair));
      } else if (scheme.type !== "apiKey") headers.Authorization = "Bearer " + value;
      // An apiKey in a cookie is sent by the browser itself, if it has it.
    });
  }

  function fromAuthorize(doc, op, param) {
    // A guard that reads its API key as a Header() parameter lists it as a
    // parameter too; the key typed into Authorize is what fills it.
    const schemes = (doc.components || {}).securitySchemes || {};
    const lower = (text) => String(text).toLowerCase();
    return (op.security || []).some((req) => Object.keys(req).some((name) => {
      const scheme = resolve(doc, schemes[name]);
      return scheme.type === "apiKey" && scheme.in === param.in
        && (param.in === "header" ? lower(scheme.name) === lower(param.name)
          : scheme.name === param.name);
    }));
  }

  // -- try it -------------------------------------------------------------------------
  function tryIt(doc, method, path, op, params) {
    const form = el("form", "try");
    form.append(el("h3", "", "Try it"));
    const fields = [];
    params.forEach((p) => {
      if (p.in === "cookie") return; // a page's script cannot set a Cookie header
      if (fromAuthorize(doc, op, p)) return; // Authorize supplies it
      const field = input(p.in + ":" + p.name, typeName(p.schema));
      const value = example(doc, p.schema || {}, true);
      if (p.required && value !== null) field.value = String(value);
      fields.push([p, field]);
      form.append(labelled(p.name + " (" + p.in + ")" + (p.required ? " *" : ""), field));
    });
    const request = op.requestBody ? resolve(doc, op.requestBody) : null;
    const media = request ? Object.keys(request.content || {})[0] : null;
    let body = null;
    if (media) {
      body = el("textarea");
      body.name = "body";
      body.rows = 8;
      const value = example(doc, request.content[media].schema, true);
      body.value = media.includes("json") ? JSON.stringify(value, null, 2) : "";
      form.append(labelled("body (" + media + ")", body));
    }
    const send = el("button", "send", "Send " + method.toUpperCase());
    send.type = "submit";
    form.append(send);
    const result = el("div", "result");
    form.append(result);
    form.addEventListener("submit", async (event) => {
      event.preventDefault(); // the script sends it; the page stays
      const headers = {};
      const query = new URLSearchParams();
      let url = path;
      fields.forEach(([p, field]) => {
        if (field.value === "") return;
        if (p.in === "path") url = url.replace("{" + p.name + "}", encodeURIComponent(field.value));
        else if (p.in === "query") query.append(p.name, field.value);
        else if (p.in === "header") headers[p.name] = field.value;
      });
      addCredentials(doc, op, headers, query);
      const search = query.toString();
      url = page.rootPath + url + (search ? "?" + search : "");
      const init = { method: method.toUpperCase(), headers };
      if (body && body.value !== "") {
        headers["Content-Type"] = media;
        init.body = body.value;
      }
      result.replaceChildren(el("p", "muted", init.method + " " + url + " ..."));
      try {
        const response = await fetch(url, init);
        const text = await response.text();
        let shown = text;
        try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (_) { /* not JSON */ }
        const lines = [];
        response.headers.forEach((value, name) => lines.push(name + ": " + value));
        result.replaceChildren(
          el("p", "status s" + String(response.status)[0], response.status + " " + response.statusText),
          el("p", "muted", init.method + " " + url),
          el("pre", "headers", lines.join("\n")),
          el("pre", "response", shown),
        );
      } catch (error) {
        result.replaceChildren(el("p", "status s5", "The request failed: " + error.message));
      }
    });
    return form;
  }

  // -- one operation ----------------------------------------------------------------
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
    const box = el("details", "operation");
    box.id = op.operationId || method + path;
    const line = el("summary");
    line.append(el("span", "method " + method, method.toUpperCase()), el("code", "path", path));
    if (op.summary) line.append(el("span", "summary", op.summary));
    if (op.security && op.security.length) line.append(el("span", "lock", "auth"));
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
      body.append(table(["name", "in", "type", "required", "rules", "description"],
        params.map((p) => [p.name, p.in, typeName(p.schema), p.required ? "yes" : "no",
          rules(p.schema || {}), p.description || ""])));
    }
    if (op.requestBody) {
      const request = resolve(doc, op.requestBody);
      body.append(el("h3", "", "Request body" + (request.required ? "" : " (optional)")));
      Object.entries(request.content || {}).forEach(([media, value]) => {
        body.append(el("p", "media", media + ": " + typeName(value.schema)));
        if (value.schema) {
          body.append(schemaView(doc, value.schema, [], 0));
          body.append(el("p", "muted", "Example"), pre(example(doc, value.schema, true)));
        }
      });
    }
    body.append(el("h3", "", "Responses"));
    Object.entries(op.responses || {}).forEach(([code, value]) => {
      const response = resolve(doc, value);
      const head = el("p", "response-code");
      head.append(el("strong", "status s" + code[0], code), el("span", "", " " + (response.description || "")));
      body.append(head);
      Object.entries(response.content || {}).forEach(([media, m]) => {
        body.append(el("p", "media", media + (m.schema ? ": " + typeName(m.schema) : "")));
        if (m.schema) {
          body.append(schemaView(doc, m.schema, [], 0));
          body.append(el("p", "muted", "Example"), pre(example(doc, m.schema, false)));
        }
      });
    });
    body.append(tryIt(doc, method, path, op, params));
    body.append(el("p", "muted", "operationId: " + op.operationId));
    box.append(body);
    return box;
  }

  function render(doc) {
    const title = (doc.info && doc.info.title) || "API";
    document.title = title + " - endpoints";
    document.getElementById("title").textContent = title + " " + ((doc.info || {}).version || "");
    authorize(doc);
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
      + doc.openapi + " at " + page.openapiUrl;
  }

  fetch(page.openapiUrl, { headers: { accept: "application/json" } })
    .then((response) => {
      if (!response.ok) throw new Error(response.status + " " + response.statusText);
      return response.json();
    })
    .then(render)
    .catch((error) => {
      status.textContent = "Could not load the OpenAPI document: " + error.message;
    });
})();
