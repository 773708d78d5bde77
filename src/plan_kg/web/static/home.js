// The query editor of the home page: YASGUI (@zazuko/yasgui, served from this server)
// on this server's endpoint, with the named queries one click away. A separate file
// because the Content-Security-Policy allows no inline script.
(function () {
  "use strict";

  // The query of a link made by YASGUI's "Share query" button (…/#query=…&tabTitle=…&endpoint=…), or null.
  // Only the query and its title are taken: the editor stays on this server's endpoint whatever the link says.
  function sharedQuery() {
    var params = new URLSearchParams(window.location.hash.slice(1));
    var text = params.get("query");
    return text ? { title: params.get("tabTitle") || "Query", text: text } : null;
  }

  // The IRIs this server describes, in the editor's results, link to their pages here, as on the results page
  // without JavaScript (web.views.local_href), not to the IRIs' own host: the public IRIs may lead to another
  // copy of the data, or nowhere yet. Without data-local-base (a static export) the IRIs are left as they are.
  function localHref(container) {
    var base = container.dataset.localBase;
    var root = container.dataset.localRoot || "";
    var ontology = container.dataset.ontologyIri;
    return function (iri) {
      if (!base) { return null; }
      if (ontology && (iri === ontology || iri.indexOf(ontology + "#") === 0)) {
        return root + "/ontology" + iri.slice(ontology.length);
      }
      // Not when the rest begins with a slash: "//host/…" is a link to another host.
      if (iri.indexOf(base) === 0 && !/^[\/\\]/.test(iri.slice(base.length))) {
        return root + "/" + iri.slice(base.length);
      }
      return null;
    };
  }

  // Names for the editor's controls that YASGUI leaves unnamed (a screen reader announced "edit text" alone).
  var CONTROL_NAMES = [
    [".CodeMirror textarea", "SPARQL クエリ / SPARQL query"],
    [".autocompleteWrapper input", "SPARQL エンドポイント / SPARQL endpoint"],
    [".acceptWrapper select", function (select) {
      return select.querySelector("option[value*='turtle']")
        ? "CONSTRUCT・DESCRIBE の答えの形式 / Format of CONSTRUCT and DESCRIBE answers"
        : "SELECT・ASK の答えの形式 / Format of SELECT and ASK answers";
    }],
    [".pageSizeWrapper select", "1 ページの行数 / Rows per page"],
    [".tabsList .tab input", "タブの名前 / Tab name"],
  ];

  // What YASGUI adds (a tab, a results table) is tidied as it comes: IRIs linked here, controls named.
  function tidy(container) {
    var local = localHref(container);
    function each(node, selector, action) {
      Array.prototype.forEach.call(node.matches(selector) ? [node] : node.querySelectorAll(selector), action);
    }
    function tidyNode(node) {
      each(node, "a.iri", function (a) {
        var href = local(a.getAttribute("href") || "");
        if (href !== null) { a.setAttribute("href", href); }
      });
      CONTROL_NAMES.forEach(function (entry) {
        each(node, entry[0], function (control) {
          if (!control.hasAttribute("aria-label")) {
            control.setAttribute("aria-label", typeof entry[1] === "function" ? entry[1](control) : entry[1]);
          }
        });
      });
    }
    new MutationObserver(function (changes) {
      changes.forEach(function (change) {
        change.addedNodes.forEach(function (node) { if (node.nodeType === 1) { tidyNode(node); } });
      });
    }).observe(container, { childList: true, subtree: true });
  }

  function start() {
    var container = document.getElementById("yasgui");
    if (!container || typeof window.Yasgui === "undefined") {
      return; // the plain form stays: it works without JavaScript
    }
    var endpoint = new URL(container.dataset.endpoint, window.location.href).href;
    var queries = Array.prototype.map.call(document.querySelectorAll("pre.query-text"), function (pre) {
      return { name: pre.id.replace(/^query-/, ""), title: pre.dataset.title, text: pre.textContent };
    });
    // The editor keeps Tab for indenting (CodeMirror): the note says how to leave it (Esc, then Tab).
    document.querySelectorAll("p.editor-keys").forEach(function (note) { note.hidden = false; });
    var shared = sharedQuery();
    var opening = shared || queries[0];
    container.textContent = "";
    tidy(container);
    var yasgui = new window.Yasgui(container, {
      requestConfig: { endpoint: endpoint, method: "POST" },
      copyEndpointOnNewTab: true,
      // Nothing leaves this server: one endpoint, no remembered tabs from other sites,
      // no prefix.cc or Linked Open Vocabularies look-ups while typing.
      endpointCatalogueOptions: { getData: function () { return [{ endpoint: endpoint }]; }, keys: [] },
      persistenceId: null,
      populateFromUrl: false,
      autofocus: false,
      yasqe: { autocompleters: ["variables", "prefixes"], prefixCcApi: null, persistenceId: null },
      yasr: { persistenceId: null },
      tabName: opening ? opening.title : "Query",
    });
    var first = yasgui.getTab();
    if (first && opening) {
      first.setQuery(opening.text);
    }
    if (shared) {
      container.scrollIntoView({ block: "start" });
    }
    // A query in a tab of its own, shown; a named query is run at once, a shared one waits for its reader.
    function openTab(query, run) {
      var tab = yasgui.addTab(true, { name: query.title });
      tab.setQuery(query.text);
      if (run) { tab.query(); }
      container.scrollIntoView({ behavior: "smooth", block: "start" });
    }
    // A shared link followed from this very page changes only the fragment.
    window.addEventListener("hashchange", function () {
      var query = sharedQuery();
      if (query) { openTab(query, false); }
    });
    document.querySelectorAll("button.open-query").forEach(function (button) {
      var query = queries.find(function (q) { return q.name === button.dataset.query; });
      if (!query) { return; }
      button.hidden = false;
      button.addEventListener("click", function () { openTab(query, true); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
