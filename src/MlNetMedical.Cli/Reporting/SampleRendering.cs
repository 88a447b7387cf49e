using System.Text;
using MlNetMedical.Imaging;
using MlNetMedical.Imaging.Formats;
using static MlNetMedical.Cli.Reporting.Html;

namespace MlNetMedical.Cli.Reporting;

/// <summary>
/// Draws a <see cref="SampleImage"/> as an SVG: the windowed grey image as an embedded PNG (data: URI), the true
/// mask as a translucent fill and the predicted mask as outlines, one colour per foreground label.
/// </summary>
internal static class SampleRendering
{
    /// <summary>Bright colours that stand out on grey, one per mask label 1, 2, ...</summary>
    public static readonly string[] MaskColours = ["#ff3b3b", "#2ec4ff", "#ffd60a", "#3dff7a", "#ff5ce1", "#ff9f1c", "#b388ff", "#ffffff"];

    public static string MaskColour(int label) => MaskColours[(label - 1) % MaskColours.Length];

    /// <summary>The SVG for one sample, <paramref name="displayWidth"/> pixels wide; throws when sizes disagree.</summary>
    public static string Svg(SampleImage s, int displayWidth = 240)
    {
        int w = s.Width, h = s.Height, n = w * h;
        if (w <= 0 || h <= 0 || s.Pixels.Length != n)
            throw new ArgumentException($"sample '{s.Id}': {s.Pixels.Length} pixels for {w}×{h}; Pixels must hold Width*Height values");
        foreach (var (mask, name) in new[] { (s.TrueMask, "TrueMask"), (s.PredictedMask, "PredictedMask") })
            if (mask is not null && mask.Length != n)
                throw new ArgumentException($"sample '{s.Id}': {name} has {mask.Length} values for {w}×{h}");
        int displayHeight = (int)Math.Round(displayWidth * (double)h / w);
        var svg = new StringBuilder();
        svg.Append($"<svg class=\"sample\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{displayWidth}\" height=\"{displayHeight}\" role=\"img\" aria-label=\"{Esc(s.Id)}\">");
        svg.Append($"<image width=\"{w}\" height=\"{h}\" preserveAspectRatio=\"none\" href=\"data:image/png;base64,{Convert.ToBase64String(GreyPng(s.Pixels, w, h))}\"/>");
        if (s.TrueMask is { } truth) svg.Append(Fills(truth, w, h, "mask-true"));
        if (s.PredictedMask is { } pred) svg.Append(Outlines(pred, w, h, "mask-pred"));
        return svg.Append("</svg>").ToString();
    }

    /// <summary>Windows to the 1st–99th percentile of the finite pixels and encodes an 8-bit grey PNG.</summary>
    internal static byte[] GreyPng(float[] pixels, int w, int h)
    {
        var finite = pixels.Where(float.IsFinite).Order().ToArray();
        float lo = finite.Length > 0 ? finite[(int)((finite.Length - 1) * 0.01)] : 0;
        float hi = finite.Length > 0 ? finite[(int)((finite.Length - 1) * 0.99)] : 1;
        if (hi <= lo) hi = lo + 1;
        var grey = new byte[pixels.Length];
        for (int i = 0; i < pixels.Length; i++)
            grey[i] = float.IsFinite(pixels[i]) ? (byte)Math.Round(Math.Clamp((pixels[i] - lo) / (hi - lo), 0, 1) * 255) : (byte)0;
        // The imaging layer's writer works on files; a temporary one keeps a single PNG encoder in the code base. It holds a
        // patient's slice: it goes in a folder only this user can enter (mode 0700), is itself 0600, and is removed at once.
        var folder = Directory.CreateTempSubdirectory("mlnm-report-");
        try
        {
            if (!OperatingSystem.IsWindows()) folder.UnixFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
            var path = Path.Combine(folder.FullName, "slice.png");
            var privateFile = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows()) privateFile.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            new FileStream(path, privateFile).Dispose(); // the writer truncates it and keeps its mode
            Png.Write(new Volume(VoxelType.UInt8, [w, h], grey, spatialRank: 2), path);
            TemporaryPngWritten?.Invoke(path);
            return File.ReadAllBytes(path);
        }
        finally { folder.Delete(recursive: true); }
    }

    /// <summary>Tests: called with the temporary PNG's path before it is removed.</summary>
    internal static Action<string>? TemporaryPngWritten;

    /// <summary>One filled path per label made of its row runs (a rectangle per run).</summary>
    internal static string Fills(byte[] mask, int w, int h, string cls)
    {
        var sb = new StringBuilder();
        foreach (var label in mask.Where(v => v != 0).Distinct().Order())
        {
            var d = new StringBuilder();
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w;)
                {
                    if (mask[y * w + x] != label) { x++; continue; }
                    int start = x;
                    while (x < w && mask[y * w + x] == label) x++;
                    d.Append($"M{start} {y}h{x - start}v1h{start - x}z");
                }
            sb.Append($"<path class=\"{cls}\" data-label=\"{label}\" d=\"{d}\" fill=\"{MaskColour(label)}\"/>");
        }
        return sb.ToString();
    }

    /// <summary>
    /// One path per label tracing the pixel edges between that label and anything else (image border included).
    /// Higher labels are drawn first, so where two structures share an edge the lower label's colour shows.
    /// </summary>
    internal static string Outlines(byte[] mask, int w, int h, string cls)
    {
        var sb = new StringBuilder();
        foreach (var label in mask.Where(v => v != 0).Distinct().OrderDescending())
        {
            var d = new StringBuilder();
            bool Is(int x, int y) => x >= 0 && y >= 0 && x < w && y < h && mask[y * w + x] == label;
            // Horizontal edges: above row y, merged into runs.
            for (int y = 0; y <= h; y++)
                for (int x = 0; x < w;)
                {
                    if (Is(x, y) == Is(x, y - 1)) { x++; continue; }
                    int start = x;
                    while (x < w && Is(x, y) != Is(x, y - 1)) x++;
                    d.Append($"M{start} {y}h{x - start}");
                }
            // Vertical edges: left of column x, merged into runs.
            for (int x = 0; x <= w; x++)
                for (int y = 0; y < h;)
                {
                    if (Is(x, y) == Is(x - 1, y)) { y++; continue; }
                    int start = y;
                    while (y < h && Is(x, y) != Is(x - 1, y)) y++;
                    d.Append($"M{x} {start}v{y - start}");
                }
            sb.Append($"<path class=\"{cls}\" data-label=\"{label}\" d=\"{d}\" stroke=\"{MaskColour(label)}\"/>");
        }
        return sb.ToString();
    }
}
