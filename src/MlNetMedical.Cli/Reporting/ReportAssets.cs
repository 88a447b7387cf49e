namespace MlNetMedical.Cli.Reporting;

/// <summary>The report's inline stylesheet and scripts (kept tiny; no external resources).</summary>
internal static class ReportAssets
{
    /// <summary>
    /// First script in &lt;head&gt;: collects uncaught errors into #script-errors (shown at the top of the page),
    /// so a reader sees a broken report and the browser test can read the errors back from the DOM.
    /// </summary>
    public const string ErrorCatcherScript = """
        window.addEventListener('error', function (e) {
          var box = document.getElementById('script-errors');
          var text = (e.message || 'error') + (e.lineno ? ' (line ' + e.lineno + ')' : '');
          if (!box) { document.documentElement.setAttribute('data-early-error', text); return; }
          var p = document.createElement('p'); p.textContent = text; box.appendChild(p); box.hidden = false;
        });
        """;

    /// <summary>Last script: tabs, mask toggles, then marks the page ready (data-ready="1" on &lt;body&gt;).</summary>
    public const string PageScript = """
        (function () {
          var early = document.documentElement.getAttribute('data-early-error');
          if (early) { var box = document.getElementById('script-errors'); box.textContent = early; box.hidden = false; }
          document.querySelectorAll('.tabs').forEach(function (bar) {
            var buttons = bar.querySelectorAll('button[data-tab]');
            function show(id) {
              buttons.forEach(function (b) {
                var on = b.getAttribute('data-tab') === id;
                b.classList.toggle('active', on); b.setAttribute('aria-selected', on ? 'true' : 'false');
                var panel = document.getElementById(b.getAttribute('data-tab'));
                if (panel) panel.hidden = !on;
              });
            }
            buttons.forEach(function (b) { b.addEventListener('click', function () { show(b.getAttribute('data-tab')); }); });
            if (buttons.length) show(buttons[0].getAttribute('data-tab'));
          });
          document.querySelectorAll('input[data-toggle]').forEach(function (box) {
            box.addEventListener('change', function () {
              document.body.classList.toggle('hide-' + box.getAttribute('data-toggle'), !box.checked);
            });
          });
          document.body.setAttribute('data-ready', '1');
        })();
        """;

    public const string Css = """
        :root { --fg: #1d2330; --muted: #6b7280; --line: #d8dce3; --accent: #4e79a7; --bg-alt: #f5f7fa; }
        * { box-sizing: border-box; }
        body { font-family: "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif; font-size: 14px; color: var(--fg);
               margin: 0 auto; padding: 16px 28px 40px; max-width: 1400px; line-height: 1.4; }
        header h1 { margin: 8px 0 2px; font-size: 24px; }
        .meta { color: var(--muted); margin: 4px 0 12px; }
        .meta b { color: var(--fg); }
        nav.toc { display: flex; flex-wrap: wrap; gap: 6px 16px; padding: 8px 0 10px; border-bottom: 1px solid var(--line); }
        nav.toc a { color: var(--accent); text-decoration: none; }
        section { margin-top: 26px; }
        h2 { font-size: 19px; border-bottom: 2px solid var(--accent); padding-bottom: 3px; }
        h3 { font-size: 16px; margin: 14px 0 6px; }
        h4 { font-size: 14px; margin: 6px 0; color: var(--muted); }
        table { border-collapse: collapse; margin: 6px 0; }
        th, td { padding: 4px 9px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
        thead th { background: var(--bg-alt); font-weight: 600; }
        td.num { text-align: right; font-variant-numeric: tabular-nums; }
        td.best { font-weight: 700; }
        td.kind, td.path { color: var(--muted); }
        tr.mean td { font-weight: 600; background: var(--bg-alt); }
        .note { color: var(--muted); font-size: 12px; }
        .charts { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
        figure { margin: 0; }
        .chart-box { border: 1px solid var(--line); border-radius: 4px; padding: 4px; background: #fff; width: fit-content; max-width: 100%; overflow-x: auto; margin-bottom: 12px; }
        svg.chart { display: block; font-family: inherit; }
        svg.chart text { font-size: 11px; fill: var(--fg); }
        svg.chart .chart-title { font-size: 13px; font-weight: 600; }
        svg.chart .muted, svg.chart .tick-label, svg.chart .pc-tick { fill: var(--muted); }
        svg.chart .axis-label { font-size: 12px; }
        svg.chart .grid { stroke: #eceef2; }
        svg.chart .plot-frame { fill: none; stroke: #9aa1ad; }
        svg.chart .ref { stroke: #9aa1ad; stroke-dasharray: 4 4; }
        svg.chart .series { fill: none; stroke-width: 2; }
        svg.chart path.marker { stroke-width: 2; fill: none; }
        svg.chart .pc-axis { stroke: #555; stroke-width: 1.5; }
        svg.chart .tick { stroke: #555; }
        svg.chart .pc-tick { font-size: 10px; paint-order: stroke; stroke: #fff; stroke-width: 3px; }
        svg.chart .pc-line { fill: none; stroke-width: 1.4; opacity: 0.75; }
        svg.chart .pc-line.best { stroke-width: 4; opacity: 1; }
        svg.chart .pc-line:hover { stroke-width: 4; opacity: 1; }
        .tabs { display: flex; flex-wrap: wrap; gap: 4px; border-bottom: 1px solid var(--line); margin-bottom: 8px; }
        .tabs button { font: inherit; border: 1px solid var(--line); border-bottom: none; background: var(--bg-alt);
                       padding: 5px 12px; border-radius: 4px 4px 0 0; cursor: pointer; }
        .tabs button.active { background: var(--accent); color: #fff; border-color: var(--accent); }
        .panel-row { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; margin-bottom: 10px; }
        table.confusion td { text-align: center; min-width: 36px; border: 1px solid #fff; font-variant-numeric: tabular-nums; }
        table.confusion th.col { vertical-align: bottom; padding: 4px 2px; }
        table.confusion th.col span { writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap; display: inline-block; }
        table.confusion th.corner { font-weight: 400; color: var(--muted); font-size: 12px; vertical-align: bottom; }
        .legend { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 10px; margin: 6px 0 10px; }
        .legend .swatch { display: inline-block; width: 14px; height: 14px; border-radius: 2px; border: 1px solid #888; margin-right: -5px; }
        .legend .line { display: inline-block; width: 26px; border-top: 2px solid #333; margin-right: -5px; }
        .legend .fill { display: inline-block; width: 22px; height: 12px; background: rgba(120,120,120,0.45); border: 1px solid #888; margin-right: -5px; }
        .samples { display: flex; flex-wrap: wrap; gap: 14px; }
        .sample-card { width: 244px; }
        svg.sample { display: block; background: #000; border-radius: 3px; }
        svg.sample image { image-rendering: pixelated; }
        svg.sample path.mask-pred { fill: none; stroke-width: 1.8; vector-effect: non-scaling-stroke; }
        svg.sample path.mask-true { stroke: none; fill-opacity: 0.38; }
        body.hide-mask-true svg.sample .mask-true, body.hide-mask-pred svg.sample .mask-pred { display: none; }
        .sample-card figcaption { font-size: 12px; margin-top: 3px; }
        .right { color: #2e7d32; font-weight: 600; }
        .wrong { color: #c62828; font-weight: 600; }
        .error, .script-errors { color: #b00020; }
        .script-errors { border: 2px solid #b00020; padding: 6px 10px; margin: 8px 0; }
        details summary { cursor: pointer; margin: 10px 0 4px; color: var(--accent); }
        table.trials td { font-size: 12px; }
        tr.state-pruned td { color: var(--muted); }
        tr.state-failed td { color: #b00020; }
        tr.best td { font-weight: 700; background: #fff8d6; }
        table.kv th { font-weight: 600; background: var(--bg-alt); }
        pre.config { background: var(--bg-alt); border: 1px solid var(--line); padding: 10px; overflow-x: auto; font-size: 12px; }
        footer { margin-top: 30px; color: var(--muted); font-size: 12px; }
        @media print { .tabs { display: none; } .tab-panel[hidden] { display: block !important; } }
        """;
}
