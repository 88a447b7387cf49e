using MlNetMedical.Data;
using MlNetMedical.Imaging;
using MlNetMedical.Imaging.Datasets;
using MlNetMedical.Imaging.Preprocessing;
using MlNetMedical.Pipeline;
using MlNetMedical.Serialization;
using MlNetMedical.Catalogs;
using MlNetMedical.Transforms;

namespace MlNetMedical
{
    /// <summary>Medical image loading on ML.NET's <c>ml.Transforms</c>.</summary>
    public static class MedicalImageLoadingExtensions
    {
        /// <summary>
        /// Loads the medical images named by a text column (as ML.NET's <c>LoadImages</c> does for photos): NIfTI, DICOM (a file or a
        /// series folder), MetaImage and PNG, through the imaging layer, with <paramref name="preprocessing"/> applied, into an image
        /// volume column that carries the <see cref="PreprocessingAnnotation"/>. Use it after <c>ml.Data.LoadFromTextFile</c> to combine
        /// images with a manifest's tabular columns (age, sex…). Images are loaded lazily, a few rows at a time on two threads, and
        /// cached under <paramref name="cacheFolder"/> when given.
        /// </summary>
        /// <param name="catalog">ML.NET's transforms catalog (<c>ml.Transforms</c>).</param>
        /// <param name="outputColumnName">The image volume column to add.</param>
        /// <param name="inputColumnName">A text column holding the image's path; several paths separated by ';' are stacked as channels
        /// (e.g. MR modalities of one grid).</param>
        /// <param name="imageFolder">The folder relative paths are resolved against; null = the current directory.</param>
        /// <param name="preprocessing">The chain applied to each image (and mask) when loaded; null = none.</param>
        /// <param name="cacheFolder">Folder of the on-disk cache of preprocessed images; null = no cache.</param>
        /// <param name="maskInputColumnName">Optional text column holding the path of each row's mask (empty = the row has none). The
        /// mask is loaded with the image so geometric preprocessing (resampling, cropping) treats both alike.</param>
        /// <param name="maskOutputColumnName">The mask volume column added when <paramref name="maskInputColumnName"/> is given.</param>
        public static MedicalImageLoadingEstimator LoadMedicalImages(this Microsoft.ML.TransformsCatalog catalog,
            string outputColumnName = DefaultColumnNames.Image, string inputColumnName = "ImagePath", string? imageFolder = null,
            TransformChain? preprocessing = null, string? cacheFolder = null,
            string? maskInputColumnName = null, string maskOutputColumnName = DefaultColumnNames.Mask)
        {
            ArgumentNullException.ThrowIfNull(catalog);
            return new MedicalImageLoadingEstimator(new MedicalImageLoadingTransformer(
                outputColumnName, inputColumnName, imageFolder, preprocessing, cacheFolder, maskInputColumnName, maskOutputColumnName));
        }
    }
}

namespace MlNetMedical.Transforms
{
    /// <summary>The estimator of <c>ml.Transforms.LoadMedicalImages</c> (nothing is learned: fitting checks the input columns).</summary>
    public sealed class MedicalImageLoadingEstimator : FixedTransformerEstimator<MedicalImageLoadingTransformer>
    {
        internal MedicalImageLoadingEstimator(MedicalImageLoadingTransformer transformer)
            : base(transformer, MedicalImageLoadingTransformer.Stage, transformer.Requirements, transformer.OutputColumns()) { }
    }

    /// <summary>
    /// Reads the image (and optionally mask) files named by text columns into volume columns; see
    /// <see cref="MedicalImageLoadingExtensions.LoadMedicalImages"/>. Saved in the model file with its settings (not the images).
    /// </summary>
    public sealed class MedicalImageLoadingTransformer : RowMappingTransformer
    {
        /// <summary>The name this transformer is registered under in model files.</summary>
        public const string RegisteredName = "LoadMedicalImages";

        internal const string Stage = "Transforms.LoadMedicalImages";

        // Rows loaded together (in parallel, on Workers threads) when a cursor reads the output.
        private const int BatchSize = 4;
        private const int Workers = 2;

        private readonly Lazy<SampleCache?> _cache;

        internal MedicalImageLoadingTransformer(string outputColumnName, string inputColumnName, string? imageFolder,
            TransformChain? preprocessing, string? cacheFolder, string? maskInputColumnName, string maskOutputColumnName, bool checkImageFolder = true)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(outputColumnName);
            ArgumentException.ThrowIfNullOrWhiteSpace(inputColumnName);
            if (maskInputColumnName is not null)
            {
                ArgumentException.ThrowIfNullOrWhiteSpace(maskInputColumnName);
                ArgumentException.ThrowIfNullOrWhiteSpace(maskOutputColumnName);
                if (maskOutputColumnName == outputColumnName)
                    throw new ArgumentException($"{Stage}: the mask output column and the image output column are both '{outputColumnName}'", nameof(maskOutputColumnName));
            }
            if (checkImageFolder && imageFolder is not null && !Directory.Exists(imageFolder))
                throw new DirectoryNotFoundException($"{Stage}: imageFolder '{imageFolder}' does not exist (full path '{Path.GetFullPath(imageFolder)}')");
            (OutputColumnName, InputColumnName, ImageFolder, Preprocessing, CacheFolder) = (outputColumnName, inputColumnName, imageFolder, preprocessing, cacheFolder);
            (MaskInputColumnName, MaskOutputColumnName) = (maskInputColumnName, maskOutputColumnName ?? DefaultColumnNames.Mask);
            _cache = new(() => cacheFolder is null ? null : new SampleCache(cacheFolder, preprocessing ?? new TransformChain()));
        }

        /// <inheritdoc/>
        public override string StageName => Stage;

        /// <summary>The image volume column written.</summary>
        public string OutputColumnName { get; }

        /// <summary>The text column of image paths read.</summary>
        public string InputColumnName { get; }

        /// <summary>The folder relative paths are resolved against (null = the current directory).</summary>
        public string? ImageFolder { get; }

        /// <summary>The chain applied to each loaded image (and mask), or null.</summary>
        public TransformChain? Preprocessing { get; }

        /// <summary>The on-disk cache folder of preprocessed images, or null.</summary>
        public string? CacheFolder { get; }

        /// <summary>The text column of mask paths read, or null when masks are not loaded.</summary>
        public string? MaskInputColumnName { get; }

        /// <summary>The mask volume column written when <see cref="MaskInputColumnName"/> is set.</summary>
        public string MaskOutputColumnName { get; }

        internal IReadOnlyList<ColumnRequirement> Requirements =>
            MaskInputColumnName is null
                ? [ColumnRequirement.Scalar(InputColumnName, TextDataViewType.Instance)]
                : [ColumnRequirement.Scalar(InputColumnName, TextDataViewType.Instance), ColumnRequirement.Scalar(MaskInputColumnName, TextDataViewType.Instance)];

        internal IReadOnlyList<DataViewSchema.DetachedColumn> OutputColumns()
        {
            var image = new DataViewSchema.DetachedColumn(OutputColumnName, new VolumeDataViewType(VolumeKind.Image, typeof(Volume)), PreprocessingAnnotation.Create(Preprocessing));
            return MaskInputColumnName is null
                ? [image]
                : [image, new DataViewSchema.DetachedColumn(MaskOutputColumnName, new VolumeDataViewType(VolumeKind.Mask, typeof(Volume)), new DataViewSchema.Annotations.Builder().ToAnnotations())];
        }

        /// <inheritdoc/>
        protected override IReadOnlyList<ColumnRequirement> RequiredColumns => Requirements;

        /// <inheritdoc/>
        protected override IReadOnlyList<DataViewSchema.DetachedColumn> GetOutputColumns(DataViewSchema inputSchema) => OutputColumns();

        /// <inheritdoc/>
        protected override int MapBatchSize => BatchSize;

        /// <inheritdoc/>
        protected override void MapRow(DataViewRow input, object?[] outputs) => Write(Load(input), outputs);

        /// <inheritdoc/>
        protected override void MapRows(IReadOnlyList<DataViewRow> inputs, IReadOnlyList<object?[]> outputs)
        {
            if (inputs.Count == 1)
            {
                MapRow(inputs[0], outputs[0]);
                return;
            }
            try
            {
                Parallel.For(0, inputs.Count, new ParallelOptions { MaxDegreeOfParallelism = Workers }, i => Write(Load(inputs[i]), outputs[i]));
            }
            catch (AggregateException e) when (e.InnerExceptions.Count >= 1)
            {
                // The first failing row's own error (file and column named), not the wrapper.
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
                throw;
            }
        }

        private void Write(Sample sample, object?[] outputs)
        {
            outputs[0] = sample.Image;
            if (MaskInputColumnName is not null) outputs[1] = sample.Label;
        }

        /// <summary>Reads one row's files; errors name the row, the column and the file.</summary>
        private Sample Load(DataViewRow input)
        {
            var row = input.Position;
            var images = Paths(input, InputColumnName, row, required: true);
            var mask = MaskInputColumnName is null ? null : Paths(input, MaskInputColumnName, row, required: false);
            if (mask is { Count: > 1 })
                throw new InvalidDataException($"{Stage}: row {row}, column '{MaskInputColumnName}' lists {mask.Count} files; a mask is one file or series folder");
            var item = new DatasetItem(string.Join(';', images), images, mask?.FirstOrDefault());
            try
            {
                return _cache.Value?.Get(item) ?? item.Load(Preprocessing);
            }
            catch (ImageFormatException e)
            {
                var column = mask is not null && e.Path == mask.FirstOrDefault() ? MaskInputColumnName : InputColumnName;
                throw new ImageFormatException(e.Path, $"{Stage}: row {row}, column '{column}': {e.Problem}", e);
            }
        }

        private List<string> Paths(DataViewRow input, string column, long row, bool required)
        {
            var text = input.GetClrValue<string>(column) ?? "";
            var written = text.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            if (written.Length == 0 && required)
                throw new InvalidDataException($"{Stage}: row {row}, column '{column}' is empty; expected the path of an image file or DICOM series folder");
            var paths = new List<string>(written.Length);
            foreach (var w in written)
            {
                var path = Path.GetFullPath(ImageFolder is null || Path.IsPathRooted(w) ? w : Path.Combine(ImageFolder, w));
                if (!File.Exists(path) && !Directory.Exists(path))
                    throw new FileNotFoundException(
                        $"{Stage}: row {row}, column '{column}': file '{path}' not found" +
                        (ImageFolder is null && !Path.IsPathRooted(w) ? $" (relative to the current directory; pass imageFolder to resolve '{w}' elsewhere)" : ""), path);
                paths.Add(path);
            }
            return paths;
        }

        /// <inheritdoc/>
        public override void SaveToArchive(ArchiveSaveContext context)
        {
            ArgumentNullException.ThrowIfNull(context);
            context.WriteConfig(new SavedConfig(OutputColumnName, InputColumnName, ImageFolder, Preprocessing?.ToJson(), CacheFolder,
                MaskInputColumnName, MaskOutputColumnName));
        }

        internal static MedicalImageLoadingTransformer Load(ArchiveLoadContext context)
        {
            ArgumentNullException.ThrowIfNull(context);
            var c = context.ReadConfig<SavedConfig>();
            if (string.IsNullOrWhiteSpace(c.OutputColumnName) || string.IsNullOrWhiteSpace(c.InputColumnName))
                throw new InvalidDataException($"{context.Where}: {RegisteredName} config names no input or output column");
            TransformChain? chain;
            try
            {
                chain = c.Preprocessing is null ? null : TransformChain.FromJson(c.Preprocessing);
            }
            catch (ArgumentException e)
            {
                throw new InvalidDataException($"{context.Where}: {RegisteredName} preprocessing is not a valid chain: {e.Message}", e);
            }
            // The image folder may not exist on the machine that loads the model: check it when rows are read, not here.
            return new MedicalImageLoadingTransformer(c.OutputColumnName, c.InputColumnName, c.ImageFolder, chain, c.CacheFolder,
                c.MaskInputColumnName, c.MaskOutputColumnName ?? DefaultColumnNames.Mask, checkImageFolder: false);
        }

        private sealed record SavedConfig(string OutputColumnName, string InputColumnName, string? ImageFolder, string? Preprocessing,
            string? CacheFolder, string? MaskInputColumnName, string? MaskOutputColumnName);
    }
}
