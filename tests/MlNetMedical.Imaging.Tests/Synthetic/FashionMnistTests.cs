using MlNetMedical.Imaging.Formats;
using MlNetMedical.Imaging.Synthetic;
using Xunit;

namespace MlNetMedical.Imaging.Tests.Synthetic;

/// <summary>A fact that needs Debian's dataset-fashion-mnist (apt-get download + dpkg -x into .cache/); a visible skip otherwise.</summary>
public sealed class FashionMnistFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> missing = new(() =>
    {
        try { FashionMnistTests.IdxFolder(); return null; }
        catch (Exception e) { return e.Message; }
    });

    public FashionMnistFactAttribute()
    {
        if (missing.Value is { } why) Skip = "SKIPPED: " + why;
    }
}

public sealed class FashionMnistTests
{
    public static string IdxFolder() => Path.Combine(DebianData.Package(FashionMnist.DebianPackage), "usr/share/datasets/fashion-mnist");

    [FashionMnistFact]
    public void WritesTheIdxImagesUprightWithTheirLabels()
    {
        using var dir = new TempDir();
        var options = new SyntheticOptions { SourceDir = IdxFolder(), Train = 20, Test = 10 };
        SyntheticDatasetWriter.Write(new FashionMnist(), options, dir.Path);
        var rows = SyntheticDatasetTests.ReadManifest(dir.Path);
        Assert.Equal(30, rows.Count);
        var (pixels, count, _, _) = FashionMnist.ReadIdx(Path.Combine(IdxFolder(), "t10k-images-idx3-ubyte.gz"), 0x803, 3);
        var (labels, _, _, _) = FashionMnist.ReadIdx(Path.Combine(IdxFolder(), "t10k-labels-idx1-ubyte.gz"), 0x801, 1);
        Assert.Equal(10000, count);
        var first = rows.First(r => r[5] == "test");
        Assert.Equal(new FashionMnist().ClassNames[labels[0]], first[3]);
        Assert.Empty(first[2]);
        var image = Nifti.Read(Path.Combine(dir.Path, first[1]));
        Assert.Equal([28, 28], image.Shape);
        var v = image.Voxels<byte>();
        // NIfTI j runs upwards: the image's top row (IDX row 0) is j = 27.
        for (int row = 0; row < 28; row++)
            for (int col = 0; col < 28; col++) Assert.Equal(pixels[row * 28 + col], v[(27 - row) * 28 + col]);
        Assert.Equal(rows.Count, rows.Select(r => r[4]).Distinct().Count());
    }

    [Fact]
    public void MissingIdxFilesNameThePackage()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<FileNotFoundException>(() => new FashionMnist().Plan(new SyntheticOptions { SourceDir = dir.Path }));
        Assert.Contains(FashionMnist.DebianPackage, e.Message);
        Assert.Contains("--source", e.Message);
    }
}
