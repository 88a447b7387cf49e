using Microsoft.ML.Transforms;
using MlNetMedical.Data;
using MlNetMedical.Imaging;
using MlNetMedical.Pipeline;
using MlNetMedical.Serialization;
using MlNetMedical.Transforms;

namespace MlNetMedical
{
    /// <summary>ImageNet-pretrained features (ML.NET's ResNet18 featuriser) for medical images, on <c>ml.Transforms</c>.</summary>
    public static class ImageNetFeaturesExtensions
    {
        /// <summary>
        /// Turns each medical image into the pixel vector ML.NET's <c>DnnFeaturizeImage</c> ResNet18 expects: what
        /// <c>ResizeImages(224, 224)</c> then <c>ExtractPixels()</c> (default settings) give for a photo, i.e. three planes R, G, B
        /// of <paramref name="size"/>×<paramref name="size"/> values in 0..255, row-major, no interleaving, as a
        /// <c>Vector&lt;Single, 3·size·size&gt;</c>. The featuriser's own preprocessing model (<c>ResNetPreprocess.onnx</c>, input
        /// <c>OriginalInput</c> [1, 3, 224, 224]) then subtracts a per-pixel ImageNet mean image (plane means about 103, 116 and 123)
        /// and does not rescale, so the network wants raw 0..255 values.
        /// <para>Grey levels: the slice is min–max scaled on its own (per image) to 0..255 and the same plane is written to R, G
        /// and B (a constant slice becomes all 0). The slice is resized with bilinear interpolation (half-pixel centres) to
        /// size×size, stretching a non-square slice. A 3D volume gives its middle slice along the third (k, slice) axis; an image
        /// with several channels (MR modalities) gives its first channel; an RGB image its red component.</para>
        /// </summary>
        /// <param name="catalog">ML.NET's transforms catalog (<c>ml.Transforms</c>).</param>
        /// <param name="outputColumnName">The pixel vector column to add.</param>
        /// <param name="imageColumnName">The image volume column read (as <c>LoadMedicalImages</c> or a manifest gives).</param>
        /// <param name="size">Height and width in pixels; 224 for ResNet18.</param>
        public static ImageNetPixelsEstimator ImageNetPixels(this TransformsCatalog catalog, string outputColumnName = ImageNetPixelsTransformer.DefaultOutputColumnName,
            string imageColumnName = DefaultColumnNames.Image, int size = ImageNetPixelsTransformer.ResNetSize)
        {
            ArgumentNullException.ThrowIfNull(catalog);
            return new ImageNetPixelsEstimator(new ImageNetPixelsTransformer(outputColumnName, imageColumnName, size));
        }

        /// <summary>
        /// ImageNet-pretrained ResNet18 features of each medical image: <see cref="ImageNetPixels"/> (224×224, grey replicated
        /// to R, G, B; see there) then ML.NET's <c>DnnFeaturizeImage</c> with ResNet18 (from the
        /// <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c> package, run by ONNX Runtime), giving a <c>Vector&lt;Single, 512&gt;</c>
        /// (the network's global average pool) in <paramref name="outputColumnName"/>. The 224² pixel column is dropped
        /// afterwards. The fitted chain saves with <c>ml.Model.SaveMedical</c> (the ONNX models travel inside the file, about 64 MB).
        /// </summary>
        /// <param name="catalog">ML.NET's transforms catalog (<c>ml.Transforms</c>).</param>
        /// <param name="outputColumnName">The feature column to add.</param>
        /// <param name="imageColumnName">The image volume column read.</param>
        /// <param name="modelDirectory">The folder holding <c>ResNet18Onnx/ResNet18.onnx</c> and <c>ResNetPrepOnnx/ResNetPreprocess.onnx</c>;
        /// null = the <c>DnnImageModels</c> folder the package copies next to the application.</param>
        public static EstimatorChain<ColumnSelectingTransformer> ImageNetFeatures(this TransformsCatalog catalog, string outputColumnName = DefaultColumnNames.Features,
            string imageColumnName = DefaultColumnNames.Image, string? modelDirectory = null)
        {
            ArgumentNullException.ThrowIfNull(catalog);
            var ml = Catalogs.CatalogContexts.Of(catalog);
            var directory = modelDirectory ?? Path.Combine(AppContext.BaseDirectory, "DnnImageModels");
            foreach (var file in new[] { Path.Combine("ResNet18Onnx", "ResNet18.onnx"), Path.Combine("ResNetPrepOnnx", "ResNetPreprocess.onnx") })
                if (!File.Exists(Path.Combine(directory, file)))
                    throw new FileNotFoundException($"Transforms.ImageNetFeatures: modelDirectory '{directory}' has no {file}; expected the DnnImageModels folder of the " +
                        "Microsoft.ML.DnnImageFeaturizer.ResNet18 package (copied next to the application when it references the package)", Path.Combine(directory, file));
            var pixels = ImageNetPixelsTransformer.DefaultOutputColumnName + "_" + outputColumnName;
            return catalog.ImageNetPixels(pixels, imageColumnName)
                .Append(catalog.DnnFeaturizeImage(outputColumnName, m => m.ModelSelector.ResNet18(ml, m.OutputColumn, m.InputColumn, directory), pixels))
                .Append(catalog.DropColumns(pixels));
        }
    }
}

namespace MlNetMedical.Transforms
{
    /// <summary>The estimator of <c>ml.Transforms.ImageNetPixels</c> (nothing is learned: fitting checks the image column).</summary>
    public sealed class ImageNetPixelsEstimator : FixedTransformerEstimator<ImageNetPixelsTransformer>
    {
        internal ImageNetPixelsEstimator(ImageNetPixelsTransformer transformer)
            : base(transformer, ImageNetPixelsTransformer.Stage, transformer.Requirements, [new(transformer.OutputColumnName, transformer.OutputType)]) { }
    }

    /// <summary>
    /// Writes each image as ResNet18's pixel vector (3 planes of size×size grey values in 0..255); see
    /// <see cref="ImageNetFeaturesExtensions.ImageNetPixels"/>. Saved in the model file as its settings.
    /// </summary>
    public sealed class ImageNetPixelsTransformer : RowMappingTransformer
    {
        /// <summary>The name this transformer is registered under in model files.</summary>
        public const string RegisteredName = "ImageNetPixels";

        /// <summary>The output column's default name.</summary>
        public const string DefaultOutputColumnName = "ImagePixels";

        /// <summary>The input size of ML.NET's ResNet18 featuriser.</summary>
        public const int ResNetSize = 224;

        internal const string Stage = "Transforms.ImageNetPixels";

        internal ImageNetPixelsTransformer(string outputColumnName, string imageColumnName, int size)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(outputColumnName);
            ArgumentException.ThrowIfNullOrWhiteSpace(imageColumnName);
            if (size is < 1 or > 4096)
                throw new ArgumentOutOfRangeException(nameof(size), size, $"{Stage}: size must be 1..4096 pixels (224 for ResNet18)");
            (OutputColumnName, ImageColumnName, Size) = (outputColumnName, imageColumnName, size);
        }

        /// <inheritdoc/>
        public override string StageName => Stage;

        /// <summary>The pixel vector column written.</summary>
        public string OutputColumnName { get; }

        /// <summary>The image volume column read.</summary>
        public string ImageColumnName { get; }

        /// <summary>Height and width of the output planes.</summary>
        public int Size { get; }

        internal VectorDataViewType OutputType => new(NumberDataViewType.Single, 3, Size, Size);

        internal IReadOnlyList<ColumnRequirement> Requirements => [ColumnRequirement.Volume(ImageColumnName, VolumeKind.Image)];

        /// <inheritdoc/>
        protected override IReadOnlyList<ColumnRequirement> RequiredColumns => Requirements;

        /// <inheritdoc/>
        protected override IReadOnlyList<DataViewSchema.DetachedColumn> GetOutputColumns(DataViewSchema inputSchema) => [new(OutputColumnName, OutputType)];

        /// <inheritdoc/>
        protected override void MapRow(DataViewRow input, object?[] outputs)
        {
            var image = input.GetClrValue<Volume>(ImageColumnName)
                ?? throw new InvalidDataException($"{Stage}: row {input.Position}, column '{ImageColumnName}' has no image");
            outputs[0] = Pixels(image, Size);
        }

        /// <summary>The pixel vector of one image (see <see cref="ImageNetFeaturesExtensions.ImageNetPixels"/>).</summary>
        public static float[] Pixels(Volume image, int size)
        {
            ArgumentNullException.ThrowIfNull(image);
            var (width, height, slice) = Slice(image);
            var plane = Resize(slice, width, height, size);
            float min = float.PositiveInfinity, max = float.NegativeInfinity;
            foreach (var v in plane)
            {
                if (float.IsNaN(v)) continue;
                if (v < min) min = v;
                if (v > max) max = v;
            }
            var scale = max > min ? 255f / (max - min) : 0f;
            var result = new float[3 * plane.Length];
            for (var i = 0; i < plane.Length; i++)
            {
                var v = float.IsNaN(plane[i]) ? 0f : (plane[i] - min) * scale;
                result[i] = result[plane.Length + i] = result[2 * plane.Length + i] = v;
            }
            return result;
        }

        /// <summary>The grey slice fed to the network: row-major (j rows of i columns), first channel, middle k slice.</summary>
        private static (int Width, int Height, float[] Values) Slice(Volume image)
        {
            var size = image.Size3;
            var (width, height) = (size[0], size[1]);
            var values = image.ToFloatArray();
            long pixels = (long)width * height;
            var rgb = image.DataType == VoxelType.Rgb24 ? 3 : 1;
            long start = (long)(size[2] / 2) * pixels; // first channel's middle slice (k = 0 for a 2D image)
            var slice = new float[pixels];
            for (long p = 0; p < pixels; p++) slice[p] = values[(start + p) * rgb];
            return (width, height, slice);
        }

        /// <summary>Bilinear resize (half-pixel centres, edges clamped) of a row-major width×height plane to size×size.</summary>
        internal static float[] Resize(float[] plane, int width, int height, int size)
        {
            if (width == size && height == size) return (float[])plane.Clone();
            var result = new float[size * size];
            for (var y = 0; y < size; y++)
            {
                var sy = Math.Clamp((y + 0.5) * height / size - 0.5, 0, height - 1);
                var y0 = (int)sy;
                var y1 = Math.Min(y0 + 1, height - 1);
                var fy = (float)(sy - y0);
                for (var x = 0; x < size; x++)
                {
                    var sx = Math.Clamp((x + 0.5) * width / size - 0.5, 0, width - 1);
                    var x0 = (int)sx;
                    var x1 = Math.Min(x0 + 1, width - 1);
                    var fx = (float)(sx - x0);
                    var top = plane[y0 * width + x0] * (1 - fx) + plane[y0 * width + x1] * fx;
                    var bottom = plane[y1 * width + x0] * (1 - fx) + plane[y1 * width + x1] * fx;
                    result[y * size + x] = top * (1 - fy) + bottom * fy;
                }
            }
            return result;
        }

        /// <inheritdoc/>
        public override void SaveToArchive(ArchiveSaveContext context)
        {
            ArgumentNullException.ThrowIfNull(context);
            context.WriteConfig(new SavedConfig(OutputColumnName, ImageColumnName, Size));
        }

        internal static ImageNetPixelsTransformer Load(ArchiveLoadContext context)
        {
            ArgumentNullException.ThrowIfNull(context);
            var c = context.ReadConfig<SavedConfig>();
            if (string.IsNullOrWhiteSpace(c.OutputColumnName) || string.IsNullOrWhiteSpace(c.ImageColumnName))
                throw new InvalidDataException($"{context.Where}: {RegisteredName} config names no image or output column");
            if (c.Size is < 1 or > 4096)
                throw new InvalidDataException($"{context.Where}: {RegisteredName} size is {c.Size}; expected 1..4096");
            return new ImageNetPixelsTransformer(c.OutputColumnName, c.ImageColumnName, c.Size);
        }

        private sealed record SavedConfig(string OutputColumnName, string ImageColumnName, int Size);
    }
}
