using System.Globalization;
using System.Net;
using System.Text;

namespace MlNetMedical.Cli.Reporting;

/// <summary>Escaping, number formatting and the page head shared by the report's HTML and SVG (and replicate.html).</summary>
internal static class Html
{
    /// <summary>Opens a self-contained report page: doctype, title, the script-error catcher, the report CSS, the error banner.</summary>
    public static void DocumentStart(StringBuilder html, string title)
    {
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        html.Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        html.Append($"<title>{Esc(title)}</title>\n");
        html.Append("<script>").Append(ReportAssets.ErrorCatcherScript).Append("</script>\n");
        html.Append("<style>").Append(ReportAssets.Css).Append("</style>\n</head>\n<body>\n");
        html.Append("<div id=\"script-errors\" class=\"script-errors\" hidden></div>\n");
    }

    /// <summary>Escapes text for element content and double-quoted attributes (&amp; &lt; &gt; &quot; &#39;).</summary>
    public static string Esc(string? text) => WebUtility.HtmlEncode(text ?? "");

    /// <summary>A metric for a table cell: "—" for NaN/infinite, otherwise <paramref name="digits"/> decimals.</summary>
    public static string Num(double value, int digits = 3) =>
        double.IsFinite(value) ? value.ToString("F" + digits, CultureInfo.InvariantCulture) : "—";

    /// <summary>A coordinate for SVG attributes: invariant, at most two decimals.</summary>
    public static string Coord(double value) => Math.Round(value, 2).ToString(CultureInfo.InvariantCulture);

    /// <summary>A compact label for an axis tick or parameter value (3 significant digits, no exponent below 1e5).</summary>
    public static string Short(double value)
    {
        if (!double.IsFinite(value)) return "—";
        double a = Math.Abs(value);
        if (a != 0 && (a < 1e-3 || a >= 1e5)) return value.ToString("0.##e0", CultureInfo.InvariantCulture);
        return value.ToString("0.###", CultureInfo.InvariantCulture);
    }

    /// <summary>Seconds as "850 ms", "12.3 s", "4 min 05 s" or "1 h 02 min".</summary>
    public static string Duration(double seconds)
    {
        if (!double.IsFinite(seconds) || seconds < 0) return "—";
        if (seconds < 1) return $"{seconds * 1000:F0} ms";
        if (seconds < 60) return string.Create(CultureInfo.InvariantCulture, $"{seconds:F1} s");
        var t = TimeSpan.FromSeconds(Math.Round(seconds));
        return t.TotalHours >= 1 ? $"{(int)t.TotalHours} h {t.Minutes:D2} min" : $"{t.Minutes} min {t.Seconds:D2} s";
    }
}
