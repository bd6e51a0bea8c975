// Starts Swagger UI on the API's OpenAPI document (a file, so the page needs no inline script).

// Since 5.33, Swagger UI's operations list is "virtualized" once it has 150 rows (tags plus
// the operations of open tags; a fixed number, no option): only the rows in view, plus 3, are
// in the page. Ours has more (17 tags, 138 operations), so the rest of the document was not
// in the page until scrolled to: find-in-page, screen readers and tests saw the first tag and
// stopped. This plugin keeps Swagger UI's own unvirtualized layout (the one it uses below the
// threshold: each tag's OperationTag holding its OperationContainers) at any size; a document
// of a few hundred operations renders at once without trouble.
function EveryOperationRendered(system) {
  var h = system.React.createElement;

  function Operations(props) {
    var tagged = props.specSelectors.taggedOperations();
    var methods = props.specSelectors.validOperationMethods();
    if (tagged.size === 0) {
      return h("h3", null, " No operations defined in spec!");
    }
    var OperationTag = props.getComponent("OperationTag");
    var OperationContainer = props.getComponent("OperationContainer", true);
    var sections = tagged
      .map(function (tagObj, tag) {
        var operations = tagObj
          .get("operations")
          .filter(function (op) {
            return methods.indexOf(op.get("method")) !== -1;
          })
          .map(function (op) {
            return h(OperationContainer, {
              key: op.get("path") + "-" + op.get("method"),
              specPath: op.get("specPath"),
              op: op,
              path: op.get("path"),
              method: op.get("method"),
              tag: tag,
            });
          })
          .toArray();
        return h(
          OperationTag,
          {
            key: "operation-" + tag,
            tagObj: tagObj,
            tag: tag,
            oas3Selectors: props.oas3Selectors,
            layoutSelectors: props.layoutSelectors,
            layoutActions: props.layoutActions,
            getConfigs: props.getConfigs,
            getComponent: props.getComponent,
            specUrl: props.specSelectors.url(),
          },
          h("div", { className: "operation-tag-content" }, operations),
        );
      })
      .valueSeq()
      .toArray();
    return h("div", null, sections);
  }

  return { components: { operations: Operations } };
}

window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: document.getElementById("swagger-ui").getAttribute("data-openapi"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    plugins: [EveryOperationRendered],
    layout: "BaseLayout",
  });
});
