// Drag-select a span of tokens: on mouseup inside a `.token-text` container, find the tokens (elements with
// data-i) that the browser's selection touches and hand their first and last index to the Dash store named by
// the container's data-store attribute. Dash then ranks the emotions over that span on the server.
(function () {
    function selectedTokens(container, range) {
        var lo = null, hi = null;
        container.querySelectorAll("[data-i]").forEach(function (node) {
            if (range.intersectsNode(node)) {
                var i = parseInt(node.getAttribute("data-i"), 10);
                lo = lo === null ? i : Math.min(lo, i);
                hi = hi === null ? i : Math.max(hi, i);
            }
        });
        return lo === null ? null : {start: lo, end: hi};
    }

    document.addEventListener("mouseup", function (event) {
        var container = event.target.closest ? event.target.closest(".token-text[data-store]") : null;
        var selection = window.getSelection();
        if (!container || !selection || selection.isCollapsed || selection.rangeCount === 0) {
            return;
        }
        var span = selectedTokens(container, selection.getRangeAt(0));
        if (span && window.dash_clientside && window.dash_clientside.set_props) {
            span.at = Date.now();
            window.dash_clientside.set_props(container.getAttribute("data-store"), {data: span});
        }
    });
})();
