// The query editor of the home page: YASGUI (@zazuko/yasgui, served from this server)
// on this server's endpoint, with the named queries one click away. A separate file
// because the Content-Security-Policy allows no inline script.
(function () {
  "use strict";

  function start() {
    var container = document.getElementById("yasgui");
    if (!container || typeof window.Yasgui === "undefined") {
      return; // the plain form stays: it works without JavaScript
    }
    var endpoint = new URL(container.dataset.endpoint, window.location.href).href;
    var queries = Array.prototype.map.call(document.querySelectorAll("pre.query-text"), function (pre) {
      return { name: pre.id.replace(/^query-/, ""), title: pre.dataset.title, text: pre.textContent };
    });
    container.textContent = "";
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
      tabName: queries.length ? queries[0].title : "Query",
    });
    var first = yasgui.getTab();
    if (first && queries.length) {
      first.setQuery(queries[0].text);
    }
    document.querySelectorAll("button.open-query").forEach(function (button) {
      var query = queries.find(function (q) { return q.name === button.dataset.query; });
      if (!query) { return; }
      button.hidden = false;
      button.addEventListener("click", function () {
        var tab = yasgui.addTab(true, { name: query.title });
        tab.setQuery(query.text);
        tab.query();
        container.scrollIntoView({ behavior: "smooth", block: "start" });
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
