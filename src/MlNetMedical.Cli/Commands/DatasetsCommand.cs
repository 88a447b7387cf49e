using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using MlNetMedical.Imaging.Synthetic;
using MlNetMedical.Cli.Terminal;

namespace MlNetMedical.Cli.Commands;

/// <summary>`mlnm datasets list` and `mlnm datasets make NAME --out DIR ...`: synthetic tasks that mirror the papers' data, written as NIfTI plus manifest.csv.</summary>
public sealed class DatasetsCommand : ICliCommand
{
    public Command Build(CliContext context)
    {
        var list = new Command("list", "List the synthetic datasets with their defaults.").WithExamples("mlnm datasets list");
        list.SetAction(_ =>
        {
            foreach (var t in SyntheticTask.All)
            {
                var (train, test, pretrain) = t.DefaultCounts;
                context.Output.WriteLine($"{t.Name,-16} {t.Summary}");
                context.Output.WriteLine($"{"",-16} classes: {string.Join(", ", t.ClassNames)}; defaults train {train}, test {test}, pretrain {pretrain}, size {t.DefaultSize}");
            }
            return ExitCodes.Success;
        });

        var name = new Argument<string>("NAME") { Description = $"The dataset: {string.Join(", ", SyntheticTask.All.Select(t => t.Name))}." };
        var output = CommonOptions.OutFolder("images/, masks/, manifest.csv", fallback: null);
        var seed = CommonOptions.Seed("the generator (default 1); it gives byte-identical files");
        var train = new Option<int?>("--train") { Description = "Training cases (default: the paper's size)." };
        var test = new Option<int?>("--test") { Description = "Test cases (default: the paper's size)." };
        var pretrain = new Option<int?>("--pretrain") { Description = "Pretraining cases with masks and no labels." };
        var size = new Option<int?>("--size") { Description = "Edge length in voxels (the field of view is fixed, the spacing follows)." };
        var channels = new Option<int>("--channels") { Description = "brain-tumor-3d: 1 (T1c-like) or 4 (T1, T1c, T2, FLAIR-like).", DefaultValueFactory = _ => 1 };
        var source = new Option<string?>("--source") { Description = $"fashion-mnist: folder with the IDX files (default {FashionMnist.DebianFolder})." };
        var threads = CommonOptions.Threads("Cases generated in parallel");
        var quiet = CommonOptions.Quiet("the summary line");
        var make = new Command("make", "Generate a synthetic dataset.") { name, output, seed, train, test, pretrain, size, channels, source, threads, quiet }
            .WithExamples("mlnm datasets make cardiac-level-2d --out data/cardiac", "mlnm datasets make brain-tumor-3d --out data/brain --channels 4 --size 64 --seed 7");
        make.SetAction(parse =>
        {
            var options = new SyntheticOptions
            {
                Seed = parse.GetValue(seed) ?? 1, Train = parse.GetValue(train), Test = parse.GetValue(test), Pretrain = parse.GetValue(pretrain),
                Size = parse.GetValue(size), Channels = parse.GetValue(channels), SourceDir = parse.GetValue(source),
                Threads = parse.GetValue(threads) ?? Environment.ProcessorCount,
            };
            Make(context, parse.GetValue(name)!, parse.GetValue(output)!, options, parse.GetValue(quiet));
            return ExitCodes.Success;
        });

        return new Command("datasets", "Synthetic datasets that mirror the papers' tasks (NIfTI + manifest.csv).") { list, make }
            .WithExamples("mlnm datasets list", "mlnm datasets make liver-lesion-2d --out data/liver --train 40 --test 20 --pretrain 100");
    }

    public static void Make(CliContext context, string name, string outDir, SyntheticOptions options, bool quiet)
    {
        var watch = Stopwatch.StartNew();
        var rows = Make(new ProgressView(context, ProgressView.ChooseMode(context, quiet)), name, outDir, options);
        var counts = string.Join(", ", rows.GroupBy(r => r.Split).Select(g => $"{g.Key} {g.Count()}"));
        context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name}: wrote {rows.Count} cases ({counts}) to {Path.Combine(outDir, "manifest.csv")} in {watch.Elapsed.TotalSeconds:F1} s"));
    }

    /// <summary>Generates the dataset, showing progress on <paramref name="view"/>; also used by pipelines with synthetic data.</summary>
    public static IReadOnlyList<Imaging.Datasets.DatasetItem> Make(ProgressView view, string name, string outDir, SyntheticOptions options)
    {
        IReadOnlyList<Imaging.Datasets.DatasetItem> rows;
        try
        {
            var task = SyntheticTask.Get(name);
            var total = task.Plan(options).Count; // validates the options before any file is written
            rows = view.Run(() =>
            {
                var bar = view.AddTask(task.Name, total, "cases");
                var written = SyntheticDatasetWriter.Write(task, options, outDir, (done, _) => bar.Update(done));
                bar.Complete();
                return written;
            });
        }
        catch (SyntheticOptionException e) { throw new CliUserException(e.Message); }
        catch (FileNotFoundException e) { throw new CliUserException(e.Message); }
        catch (DirectoryNotFoundException e) { throw new CliUserException(e.Message); }
        catch (Imaging.ImageFormatException e) { throw new CliUserException(e.Message); }
        return rows;
    }
}
