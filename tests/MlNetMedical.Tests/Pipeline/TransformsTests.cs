using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMedical.Catalogs;
using MlNetMedical.Data;
using MlNetMedical.Imaging;
using MlNetMedical.Imaging.Formats;
using MlNetMedical.Imaging.Preprocessing;
using MlNetMedical.Pipeline;
using MlNetMedical.Transforms;
using Xunit;

namespace MlNetMedical.Tests.Pipeline;

/// <summary>
/// <c>ml.Transforms.LoadMedicalImages</c> after ML.NET's <c>ml.Data.LoadFromTextFile</c>: a manifest with image paths and tabular
/// columns, the images read into volume columns next to the tabular ones.
/// </summary>
public sealed class TransformsTests : IDisposable
{
    private readonly MLContext _ml = new(seed: 3);
    private readonly string _dir = Directory.CreateTempSubdirectory("mlnm-loadimages-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public sealed class CsvRow
    {
        [LoadColumn(0)] public string ImagePath { get; set; } = "";
        [LoadColumn(1)] public float Age { get; set; }
        [LoadColumn(2)] public string MaskPath { get; set; } = "";
    }

    private static float[] Voxels(int i) => Enumerable.Range(0, 4 * 5).Select(v => v * 0.5f + i).ToArray();

    /// <summary>Three 4×5 images (and a mask for the first two) under images/, listed with relative paths in a CSV.</summary>
    private string WriteCsv(params string[] extraLines)
    {
        var images = Directory.CreateDirectory(Path.Combine(_dir, "images")).FullName;
        var lines = new List<string> { "ImagePath,Age,MaskPath" };
        for (var i = 0; i < 3; i++)
        {
            Nifti.Write(Volume.Create<float>(Voxels(i), [4, 5]), Path.Combine(images, $"scan{i}.nii"));
            var mask = "";
            if (i < 2)
            {
                Nifti.Write(Volume.Create<byte>(Enumerable.Range(0, 20).Select(v => (byte)(v % 2)).ToArray(), [4, 5]), Path.Combine(images, $"seg{i}.nii"));
                mask = $"seg{i}.nii";
            }
            lines.Add($"scan{i}.nii,{40 + 10 * i},{mask}");
        }
        lines.AddRange(extraLines);
        var path = Path.Combine(_dir, "table.csv");
        File.WriteAllLines(path, lines);
        return path;
    }

    private IDataView Table(string csv) => _ml.Data.LoadFromTextFile<CsvRow>(csv, separatorChar: ',', hasHeader: true);

    private string ImageFolder => Path.Combine(_dir, "images");

    [Fact]
    public void LoadsImagesNamedByATextColumnBesideTheTabularColumns()
    {
        var table = Table(WriteCsv());
        var chain = new TransformChain(new PercentileClip { Lower = 1, Upper = 99 });
        var estimator = _ml.Transforms.LoadMedicalImages(inputColumnName: "ImagePath", imageFolder: ImageFolder, preprocessing: chain);
        var output = estimator.Fit(table).Transform(table);
        Assert.Equal(new VolumeDataViewType(VolumeKind.Image, typeof(Volume)), output.Schema["Image"].Type);
        Assert.Equal(chain.ToJson(), PreprocessingAnnotation.Read(output.Schema)?.ToJson());
        Assert.Equal([40f, 50, 60], output.GetColumn<float>("Age"));
        Assert.Equal(["scan0.nii", "scan1.nii", "scan2.nii"], output.GetColumn<string>("ImagePath"));
        Assert.All(output.GetColumn<Volume>("Image"), v => Assert.Equal([4, 5], v.Shape.Take(2)));

        // Without preprocessing the voxels are the files'.
        var plain = _ml.Transforms.LoadMedicalImages(inputColumnName: "ImagePath", imageFolder: ImageFolder).Fit(table).Transform(table);
        Assert.Equal(Enumerable.Range(0, 3).Select(Voxels), plain.GetColumn<Volume>("Image").Select(v => v.ToFloatArray()));
        Assert.Null(PreprocessingAnnotation.Read(plain.Schema));
        // The estimator's output shape is what the transformer writes.
        var shape = estimator.GetOutputSchema(SchemaShapes.Create(table.Schema));
        Assert.IsType<VolumeDataViewType>(shape.Find("Image")!.Value.ItemType);
    }

    [Fact]
    public void MasksLoadWithTheirImagesAndARowWithoutOneIsNull()
    {
        var table = Table(WriteCsv());
        var output = _ml.Transforms.LoadMedicalImages(inputColumnName: "ImagePath", imageFolder: ImageFolder, maskInputColumnName: "MaskPath")
            .Fit(table).Transform(table);
        Assert.Equal(new VolumeDataViewType(VolumeKind.Mask, typeof(Volume)), output.Schema["Mask"].Type);
        var masks = output.GetColumn<Volume?>("Mask").ToList();
        Assert.Equal(Enumerable.Range(0, 20).Select(v => (float)(v % 2)), masks[0]!.ToFloatArray());
        Assert.NotNull(masks[1]);
        Assert.Null(masks[2]);
        Assert.Contains("both 'Image'", Assert.Throws<ArgumentException>(() =>
            _ml.Transforms.LoadMedicalImages(inputColumnName: "ImagePath", maskInputColumnName: "MaskPath", maskOutputColumnName: "Image")).Message);
    }

    [Fact]
    public void InAChainWithMLNetStagesAndSavedWithTheModel()
    {
        var table = Table(WriteCsv());
        var pipeline = _ml.Transforms.NormalizeMinMax("Age")
            .Append(_ml.Transforms.LoadMedicalImages(inputColumnName: "ImagePath", imageFolder: ImageFolder, preprocessing: new TransformChain(new ZScore())))
            .Append(_ml.Transforms.Concatenate("Tabular", "Age"));
        var model = pipeline.Fit(table);
        var path = Path.Combine(_dir, "model.zip");
        _ml.Model.SaveMedical(model, table.Schema, path);
        var loaded = _ml.Model.LoadMedical(path, out var schema);
        Assert.Equal(table.Schema.Select(c => (c.Name, c.Type)), schema!.Select(c => (c.Name, c.Type)));
        var stages = ((IEnumerable<ITransformer>)loaded).ToList();
        Assert.Equal(3, stages.Count);
        var loader = Assert.IsType<MedicalImageLoadingTransformer>(stages[1]);
        Assert.Equal((ImageFolder, "ImagePath", "Image"), (loader.ImageFolder, loader.InputColumnName, loader.OutputColumnName));
        var before = model.Transform(table);
        var after = loaded.Transform(table);
        Assert.Equal(before.GetColumn<Volume>("Image").Select(v => v.ToFloatArray()), after.GetColumn<Volume>("Image").Select(v => v.ToFloatArray()));
        Assert.Equal(before.GetColumn<float[]>("Tabular"), after.GetColumn<float[]>("Tabular"));
        Assert.Equal(new TransformChain(new ZScore()).ToJson(), PreprocessingAnnotation.Read(after.Schema)?.ToJson());
    }

    [Fact]
    public void AMissingFileIsNamedWithItsRowAndColumn()
    {
        var table = Table(WriteCsv("nope.nii,70,"));
        var output = _ml.Transforms.LoadMedicalImages(inputColumnName: "ImagePath", imageFolder: ImageFolder).Fit(table).Transform(table);
        var e = Assert.Throws<FileNotFoundException>(() => output.GetColumn<Volume>("Image").ToList());
        var expected = Path.Combine(ImageFolder, "nope.nii");
        Assert.Equal(expected, e.FileName);
        Assert.Contains($"Transforms.LoadMedicalImages: row 3, column 'ImagePath': file '{expected}' not found", e.Message);
        // Columns that do not need the images still read.
        Assert.Equal(4, output.GetColumn<float>("Age").Count());

        // Relative to the current directory when no folder is given: the message says how to point elsewhere.
        var relative = _ml.Transforms.LoadMedicalImages(inputColumnName: "ImagePath").Fit(table).Transform(table);
        Assert.Contains("pass imageFolder", Assert.Throws<FileNotFoundException>(() => relative.GetColumn<Volume>("Image").First()).Message);
    }

    [Fact]
    public void BadSettingsAndColumnsAreNamed()
    {
        var table = Table(WriteCsv(",80,"));
        var missingFolder = Path.Combine(_dir, "no-such-folder");
        var folder = Assert.Throws<DirectoryNotFoundException>(() => _ml.Transforms.LoadMedicalImages(inputColumnName: "ImagePath", imageFolder: missingFolder));
        Assert.Contains($"imageFolder '{missingFolder}' does not exist", folder.Message);

        var wrongType = Assert.Throws<SchemaMismatchException>(() => _ml.Transforms.LoadMedicalImages(inputColumnName: "Age").Fit(table));
        Assert.Equal("Transforms.LoadMedicalImages", wrongType.Stage);
        Assert.Contains("needs column 'Age' to be a scalar String column, but it is Single", wrongType.Message);
        var missing = Assert.Throws<SchemaMismatchException>(() => _ml.Transforms.LoadMedicalImages(inputColumnName: "Path").Fit(table));
        Assert.Contains("needs column 'Path' (a scalar String column), but the input has no such column", missing.Message);

        var empty = _ml.Transforms.LoadMedicalImages(inputColumnName: "ImagePath", imageFolder: ImageFolder).Fit(table).Transform(table);
        Assert.Contains("row 3, column 'ImagePath' is empty", Assert.Throws<InvalidDataException>(() => empty.GetColumn<Volume>("Image").ToList()).Message);
    }
}
