using System.Globalization;
using System.Text;
using static MlNetMedical.Cli.Reporting.Html;

namespace MlNetMedical.Cli.Reporting;

/// <summary>One line or point set of a <see cref="SvgCharts.Line"/> chart. Non-finite points are gaps.</summary>
internal sealed record ChartSeries(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y, string Color)
{
    public bool Dashed { get; init; }
    /// <summary>Draws the points joined; false = markers only.</summary>
    public bool Joined { get; init; } = true;
    /// <summary>Joins points with horizontal-then-vertical steps (a best-so-far curve).</summary>
    public bool Step { get; init; }
    /// <summary>"circle", "cross" or null (none; a lone point still gets a circle so it is visible).</summary>
    public string? Marker { get; init; }
    /// <summary>Hover text per point (SVG &lt;title&gt;), same length as X when set.</summary>
    public IReadOnlyList<string>? PointTitles { get; init; }
}

/// <summary>An axis: label and optional fixed bounds (otherwise fitted to the data with round ticks).</summary>
internal sealed record ChartAxis(string Label, double? Min = null, double? Max = null);

/// <summary>
/// Charts as inline SVG strings (no script, no external resources): line/scatter charts, horizontal bars and
/// parallel coordinates. Every chart is an &lt;svg class="chart" data-chart="KIND"&gt; with its title inside, so
/// the page and the browser test can find it; hover text uses SVG &lt;title&gt;.
/// </summary>
internal static class SvgCharts
{
    /// <summary>Ten colours that stay distinguishable (Tableau 10).</summary>
    public static readonly string[] Palette =
        ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];

    public static string Colour(int i) => Palette[((i % Palette.Length) + Palette.Length) % Palette.Length];

    private const double CharWidth = 6.4; // DejaVu Sans at 11px, an estimate for layout
    private const int FontSize = 11;

    /// <summary>A line/scatter chart with axes, grid, ticks and a legend on the right.</summary>
    /// <param name="diagonal">Draws the y = x reference (ROC chance line).</param>
    public static string Line(string kind, string title, ChartAxis x, ChartAxis y, IReadOnlyList<ChartSeries> series,
        int plotWidth = 340, int plotHeight = 220, bool diagonal = false)
    {
        var named = series.Where(s => s.Name.Length > 0).ToList();
        int legendWidth = named.Count == 0 ? 0 : (int)(named.Max(s => s.Name.Length) * CharWidth) + 34;
        const int left = 56, top = 30, bottom = 44;
        int width = left + plotWidth + 16 + legendWidth, height = top + plotHeight + bottom;
        var svg = Open(kind, width, height, title);
        var xs = series.SelectMany(s => s.X).Where(double.IsFinite).ToList();
        var ys = series.SelectMany(s => s.Y).Where(double.IsFinite).ToList();
        if (xs.Count == 0 || ys.Count == 0)
        {
            svg.Append(Text(left + plotWidth / 2.0, top + plotHeight / 2.0, "no data", "middle", "muted"));
            return svg.Append("</svg>").ToString();
        }
        var (x0, x1, xTicks) = Scale(xs, x.Min, x.Max);
        var (y0, y1, yTicks) = Scale(ys, y.Min, y.Max);
        double Px(double v) => left + (v - x0) / (x1 - x0) * plotWidth;
        double Py(double v) => top + plotHeight - (v - y0) / (y1 - y0) * plotHeight;

        Frame(svg, left, top, plotWidth, plotHeight, x.Label, y.Label,
            xTicks.Select(t => (Px(t), Short(t))), yTicks.Select(t => (Py(t), Short(t))));
        if (diagonal)
            svg.Append($"<line class=\"ref\" x1=\"{Coord(Px(Math.Max(x0, y0)))}\" y1=\"{Coord(Py(Math.Max(x0, y0)))}\" x2=\"{Coord(Px(Math.Min(x1, y1)))}\" y2=\"{Coord(Py(Math.Min(x1, y1)))}\"/>");

        svg.Append("<g>");
        foreach (var s in series)
        {
            int n = Math.Min(s.X.Count, s.Y.Count);
            var points = Enumerable.Range(0, n).Where(i => double.IsFinite(s.X[i]) && double.IsFinite(s.Y[i])).ToList();
            if (s.Joined && points.Count > 1)
                svg.Append($"<path class=\"series\" d=\"{PathData(points.Select(i => (Px(s.X[i]), Py(s.Y[i]))).ToList(), s.Step)}\" stroke=\"{s.Color}\"{(s.Dashed ? " stroke-dasharray=\"5 3\"" : "")}><title>{Esc(s.Name)}</title></path>");
            var marker = s.Marker ?? (points.Count == 1 ? "circle" : null);
            if (marker is null) continue;
            foreach (var i in points)
            {
                var tip = s.PointTitles is { } t && i < t.Count ? $"<title>{Esc(t[i])}</title>" : "";
                svg.Append(Marker(marker, Px(s.X[i]), Py(s.Y[i]), s.Color, tip));
            }
        }
        svg.Append("</g>");
        Legend(svg, left + plotWidth + 16, top, named.Select(s => (s.Name, s.Color, s.Dashed, s.Joined ? null : s.Marker)));
        return svg.Append("</svg>").ToString();
    }

    /// <summary>Horizontal bars, largest first as given, with the value printed at each bar's end.</summary>
    public static string HorizontalBars(string kind, string title, IReadOnlyList<(string Label, double Value)> bars, string valueLabel, int barAreaWidth = 320)
    {
        int labelWidth = bars.Count == 0 ? 40 : (int)(bars.Max(b => b.Label.Length) * CharWidth) + 12;
        const int top = 30, barHeight = 18, gap = 6;
        int height = top + Math.Max(1, bars.Count) * (barHeight + gap) + 30, width = labelWidth + barAreaWidth + 60;
        var svg = Open(kind, width, height, title);
        double max = bars.Select(b => b.Value).Where(double.IsFinite).DefaultIfEmpty(0).Max();
        if (bars.Count == 0)
            svg.Append(Text(width / 2.0, top + 20, "no data", "middle", "muted"));
        for (int i = 0; i < bars.Count; i++)
        {
            var (label, value) = bars[i];
            double y = top + i * (barHeight + gap), w = max > 0 && double.IsFinite(value) ? value / max * barAreaWidth : 0;
            svg.Append(Text(labelWidth - 6, y + barHeight / 2.0 + 4, label, "end"));
            svg.Append($"<rect class=\"bar\" x=\"{labelWidth}\" y=\"{Coord(y)}\" width=\"{Coord(Math.Max(w, 1))}\" height=\"{barHeight}\" fill=\"{Colour(0)}\"><title>{Esc(label)}: {Short(value)}</title></rect>");
            svg.Append(Text(labelWidth + w + 5, y + barHeight / 2.0 + 4, Num(value, 3), "start"));
        }
        svg.Append(Text(labelWidth + barAreaWidth / 2.0, height - 8, valueLabel, "middle", "axis-label"));
        return svg.Append("</svg>").ToString();
    }

    /// <summary>One vertical axis of a parallel-coordinates chart: values per line (null = absent), numbers or labels.</summary>
    internal sealed record ParallelAxis(string Name, IReadOnlyList<object?> Values);

    /// <summary>
    /// Parallel coordinates: one polyline per row across the axes, coloured by <paramref name="colourBy"/>
    /// (dark purple = low, yellow = high; <paramref name="highlight"/> row drawn thick on top). Numeric axes are
    /// linear, or logarithmic when all values are positive and span more than two decades; text axes space their
    /// levels evenly. A row missing a value (an inactive conditional parameter) breaks its line at that axis.
    /// </summary>
    public static string ParallelCoordinates(string kind, string title, IReadOnlyList<ParallelAxis> axes,
        IReadOnlyList<double> colourBy, int? highlight, IReadOnlyList<string> rowTitles)
    {
        const int left = 60, right = 60, top = 48, plotHeight = 240, bottom = 30;
        int spacing = Math.Max(110, axes.Count == 0 ? 0 : axes.Max(a => (int)(a.Name.Length * CharWidth) + 20));
        int width = left + right + Math.Max(1, axes.Count - 1) * spacing, height = top + plotHeight + bottom;
        var svg = Open(kind, width, height, title);
        int rows = colourBy.Count;
        if (axes.Count == 0 || rows == 0)
        {
            svg.Append(Text(width / 2.0, top + plotHeight / 2.0, "no completed trials", "middle", "muted"));
            return svg.Append("</svg>").ToString();
        }
        // Each axis maps its values to [0, 1] (0 = bottom) and has tick labels.
        var positions = new double?[axes.Count][];
        var ticks = new List<(double Pos, string Label)>[axes.Count];
        for (int a = 0; a < axes.Count; a++) (positions[a], ticks[a]) = AxisPositions(axes[a].Values);
        var finite = colourBy.Where(double.IsFinite).DefaultIfEmpty(0).ToList();
        double cMin = finite.Min(), cMax = finite.Max();

        for (int a = 0; a < axes.Count; a++)
        {
            double ax = left + a * spacing;
            svg.Append($"<line class=\"pc-axis\" x1=\"{Coord(ax)}\" y1=\"{top}\" x2=\"{Coord(ax)}\" y2=\"{top + plotHeight}\"/>");
            svg.Append(Text(ax, top - 14, axes[a].Name, "middle", "axis-label"));
        }
        var order = Enumerable.Range(0, rows).OrderBy(r => r == highlight ? 1 : 0).ToList();
        foreach (var r in order)
        {
            var pts = new List<(double, double)?>();
            for (int a = 0; a < axes.Count; a++)
                pts.Add(positions[a][r] is double p ? (left + a * spacing, top + (1 - p) * plotHeight) : null);
            double c = double.IsFinite(colourBy[r]) && cMax > cMin ? (colourBy[r] - cMin) / (cMax - cMin) : 0.5;
            var cls = r == highlight ? "pc-line best" : "pc-line";
            svg.Append($"<path class=\"{cls}\" d=\"{BrokenPath(pts)}\" stroke=\"{Viridis(c)}\"><title>{Esc(rowTitles[r])}</title></path>");
        }
        for (int a = 0; a < axes.Count; a++)
        {
            double ax = left + a * spacing;
            foreach (var (pos, label) in ticks[a])
            {
                double ty = top + (1 - pos) * plotHeight;
                svg.Append($"<line class=\"tick\" x1=\"{Coord(ax - 3)}\" y1=\"{Coord(ty)}\" x2=\"{Coord(ax + 3)}\" y2=\"{Coord(ty)}\"/>");
                svg.Append(Text(ax + 5, ty + 4, label, "start", "pc-tick"));
            }
        }
        return svg.Append("</svg>").ToString();
    }

    /// <summary>A colour on a viridis-like ramp, t in [0, 1].</summary>
    public static string Viridis(double t)
    {
        (double R, double G, double B)[] stops = [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)];
        t = Math.Clamp(double.IsFinite(t) ? t : 0.5, 0, 1) * (stops.Length - 1);
        int i = Math.Min((int)t, stops.Length - 2);
        double f = t - i;
        int Mix(double a, double b) => (int)Math.Round(a + (b - a) * f);
        return $"#{Mix(stops[i].R, stops[i + 1].R):x2}{Mix(stops[i].G, stops[i + 1].G):x2}{Mix(stops[i].B, stops[i + 1].B):x2}";
    }

    private static (double?[] Positions, List<(double, string)> Ticks) AxisPositions(IReadOnlyList<object?> values)
    {
        var pos = new double?[values.Count];
        var present = values.Where(v => v is not null).ToList();
        if (present.Count > 0 && present.All(IsNumber))
        {
            var nums = values.Select(v => v is null ? (double?)null : Convert.ToDouble(v, CultureInfo.InvariantCulture)).ToList();
            var finite = nums.Where(v => v is double d && double.IsFinite(d)).Select(v => v!.Value).ToList();
            double lo = finite.DefaultIfEmpty(0).Min(), hi = finite.DefaultIfEmpty(1).Max();
            bool log = lo > 0 && hi / lo > 100;
            Func<double, double> f = log ? Math.Log10 : v => v;
            double flo = f(lo), fhi = f(hi);
            if (fhi - flo < 1e-12) { flo -= 0.5; fhi += 0.5; }
            for (int i = 0; i < nums.Count; i++)
                if (nums[i] is double d && double.IsFinite(d)) pos[i] = (f(d) - flo) / (fhi - flo);
            var distinct = finite.Distinct().Order().ToList();
            var tickValues = distinct.Count <= 6 ? distinct // a few levels (batch sizes, widths): label exactly those
                : log
                ? Enumerable.Range((int)Math.Ceiling(flo - 1e-9), (int)Math.Floor(fhi + 1e-9) - (int)Math.Ceiling(flo - 1e-9) + 1).Select(e => Math.Pow(10, e)).ToList()
                : NiceTicks(lo, hi, 5).Where(t => t >= lo - 1e-12 && t <= hi + 1e-12).ToList();
            if (tickValues.Count < 2) tickValues = [lo, hi];
            return (pos, tickValues.Distinct().Select(t => ((f(t) - flo) / (fhi - flo), Short(t))).ToList());
        }
        var levels = present.Select(Label).Distinct().Order(StringComparer.Ordinal).ToList();
        for (int i = 0; i < values.Count; i++)
            if (values[i] is { } v) pos[i] = levels.Count == 1 ? 0.5 : (double)levels.IndexOf(Label(v)) / (levels.Count - 1);
        return (pos, levels.Select((l, i) => (levels.Count == 1 ? 0.5 : (double)i / (levels.Count - 1), l)).ToList());
    }

    internal static bool IsNumber(object? v) => v is double or float or int or long or short or byte or decimal;

    /// <summary>Text for a parameter value: numbers invariant and short, bools lower-case.</summary>
    internal static string Label(object? v) => v switch
    {
        null => "",
        bool b => b ? "true" : "false",
        _ when IsNumber(v) => Short(Convert.ToDouble(v, CultureInfo.InvariantCulture)),
        _ => Convert.ToString(v, CultureInfo.InvariantCulture) ?? "",
    };

    private static StringBuilder Open(string kind, int width, int height, string title)
    {
        var svg = new StringBuilder();
        svg.Append($"<svg class=\"chart\" data-chart=\"{Esc(kind)}\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"{Esc(title)}\">");
        svg.Append(Text(8, 16, title, "start", "chart-title"));
        return svg;
    }

    private static void Frame(StringBuilder svg, int left, int top, int w, int h, string xLabel, string yLabel,
        IEnumerable<(double Pos, string Label)> xTicks, IEnumerable<(double Pos, string Label)> yTicks)
    {
        foreach (var (py, label) in yTicks)
        {
            svg.Append($"<line class=\"grid\" x1=\"{left}\" y1=\"{Coord(py)}\" x2=\"{left + w}\" y2=\"{Coord(py)}\"/>");
            svg.Append(Text(left - 5, py + 4, label, "end", "tick-label"));
        }
        foreach (var (px, label) in xTicks)
        {
            svg.Append($"<line class=\"grid\" x1=\"{Coord(px)}\" y1=\"{top}\" x2=\"{Coord(px)}\" y2=\"{top + h}\"/>");
            svg.Append(Text(px, top + h + 15, label, "middle", "tick-label"));
        }
        svg.Append($"<rect class=\"plot-frame\" x=\"{left}\" y=\"{top}\" width=\"{w}\" height=\"{h}\"/>");
        svg.Append(Text(left + w / 2.0, top + h + 34, xLabel, "middle", "axis-label"));
        double cy = top + h / 2.0;
        svg.Append($"<text class=\"axis-label\" text-anchor=\"middle\" transform=\"translate(14 {Coord(cy)}) rotate(-90)\">{Esc(yLabel)}</text>");
    }

    private static void Legend(StringBuilder svg, double x, double y, IEnumerable<(string Name, string Color, bool Dashed, string? Marker)> entries)
    {
        int row = 0;
        foreach (var (name, color, dashed, marker) in entries)
        {
            double cy = y + 8 + row++ * 17;
            if (marker is null)
                svg.Append($"<line class=\"series\" x1=\"{Coord(x)}\" y1=\"{Coord(cy)}\" x2=\"{Coord(x + 22)}\" y2=\"{Coord(cy)}\" stroke=\"{color}\"{(dashed ? " stroke-dasharray=\"5 3\"" : "")}/>");
            else
                svg.Append(Marker(marker, x + 11, cy, color, ""));
            svg.Append(Text(x + 28, cy + 4, name, "start", "legend"));
        }
    }

    private static string Marker(string kind, double x, double y, string color, string tip) => kind == "cross"
        ? $"<path class=\"marker\" d=\"M{Coord(x - 4)} {Coord(y - 4)}L{Coord(x + 4)} {Coord(y + 4)}M{Coord(x - 4)} {Coord(y + 4)}L{Coord(x + 4)} {Coord(y - 4)}\" stroke=\"{color}\">{tip}</path>"
        : $"<circle class=\"marker\" cx=\"{Coord(x)}\" cy=\"{Coord(y)}\" r=\"3.5\" fill=\"{color}\">{tip}</circle>";

    private static string PathData(List<(double X, double Y)> pts, bool step)
    {
        var d = new StringBuilder($"M{Coord(pts[0].X)} {Coord(pts[0].Y)}");
        for (int i = 1; i < pts.Count; i++)
        {
            if (step) d.Append($"H{Coord(pts[i].X)}V{Coord(pts[i].Y)}");
            else d.Append($"L{Coord(pts[i].X)} {Coord(pts[i].Y)}");
        }
        return d.ToString();
    }

    private static string BrokenPath(List<(double X, double Y)?> pts)
    {
        var d = new StringBuilder();
        bool pen = false;
        foreach (var p in pts)
        {
            if (p is not { } q) { pen = false; continue; }
            d.Append(pen ? 'L' : 'M').Append(Coord(q.X)).Append(' ').Append(Coord(q.Y));
            pen = true;
        }
        return d.ToString();
    }

    private static string Text(double x, double y, string text, string anchor, string cls = "") =>
        $"<text{(cls.Length > 0 ? $" class=\"{cls}\"" : "")} x=\"{Coord(x)}\" y=\"{Coord(y)}\" text-anchor=\"{anchor}\">{Esc(text)}</text>";

    /// <summary>Axis bounds and ticks: fixed bounds when given, otherwise the data range widened to round ticks.</summary>
    private static (double Lo, double Hi, List<double> Ticks) Scale(List<double> values, double? min, double? max)
    {
        double lo = min ?? values.Min(), hi = max ?? values.Max();
        if (hi - lo < 1e-12 * Math.Max(1, Math.Abs(lo))) { double pad = Math.Abs(lo) > 0 ? Math.Abs(lo) * 0.1 : 0.5; if (min is null) lo -= pad; if (max is null) hi += pad; }
        var ticks = NiceTicks(lo, hi, 5);
        if (min is null) lo = Math.Min(lo, ticks[0]);
        if (max is null) hi = Math.Max(hi, ticks[^1]);
        return (lo, hi, ticks.Where(t => t >= lo - 1e-9 * (hi - lo) && t <= hi + 1e-9 * (hi - lo)).ToList());
    }

    /// <summary>Round tick values (1, 2 or 5 × 10^k apart) covering [lo, hi] with about <paramref name="count"/> steps.</summary>
    internal static List<double> NiceTicks(double lo, double hi, int count)
    {
        double raw = (hi - lo) / count, mag = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = new[] { 1.0, 2, 5, 10 }.Select(m => m * mag).First(s => s >= raw * 0.999);
        var ticks = new List<double>();
        for (double t = Math.Floor(lo / step) * step; t <= hi + step * 0.999; t += step)
        {
            ticks.Add(Math.Round(t / step) * step);
            if (ticks[^1] >= hi - 1e-12 * step) break;
        }
        return ticks;
    }
}
