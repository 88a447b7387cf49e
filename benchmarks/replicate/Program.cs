// benchmarks/replicate: both papers' comparisons on the synthetic proxy tasks (see README.md).
// Usage: replicate [--seeds 1,2,3,4,5] [--data-seed N] [--full | --toy] [--out DIR] [--work DIR] [--tasks a,b] [--threads N]
// Prints the table, then as its last line {"claims": {...}, "minutes": m, ...}; writes OUT/replicate.json and OUT/replicate.html whole.
using System.Globalization;
using MlNetMedical.Benchmarks.Replicate;
using MlNetMedical.Cli;

const string usage = "usage: benchmarks/run replicate [--seeds 1,2,3,4,5] [--data-seed N] [--full] [--out DIR] [--work DIR] [--tasks TASK,...] [--threads N]";
if (args is ["--help"] or ["-h"])
{
    Console.WriteLine(usage);
    Console.WriteLine("Both papers' comparisons on the synthetic proxy tasks; see benchmarks/replicate/README.md.");
    return 0;
}
try
{
    var options = Arguments.Parse(args);
    var result = new Suite(options, new CliContext(Console.Out, Console.Error)).Run();
    result.Write();
    foreach (var line in result.Table()) Console.WriteLine(line);
    Console.WriteLine(result.LastLine());
    return 0;
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    Console.Error.WriteLine(usage);
    return 2;
}
catch (CliUserException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}

namespace MlNetMedical.Benchmarks.Replicate
{
    public static class Arguments
    {
        public static SuiteOptions Parse(IReadOnlyList<string> args)
        {
            var o = new SuiteOptions();
            for (int i = 0; i < args.Count; i++)
            {
                string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
                switch (args[i])
                {
                    case "--seeds":
                        var text = Value();
                        var seeds = text.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : throw new ArgumentException($"--seeds: '{s}' is not a whole number (e.g. --seeds 1,2,3,4,5)")).ToList();
                        if (seeds.Count == 0 || seeds.Distinct().Count() != seeds.Count) throw new ArgumentException($"--seeds: '{text}' must list distinct whole numbers, e.g. 1,2,3,4,5");
                        o = o with { Seeds = seeds };
                        break;
                    case "--data-seed":
                        var d = Value();
                        o = o with { DataSeed = long.TryParse(d, NumberStyles.Integer, CultureInfo.InvariantCulture, out var ds) ? ds : throw new ArgumentException($"--data-seed: '{d}' is not a whole number") };
                        break;
                    case "--full": o = o with { Profile = Profile.Full }; break;
                    case "--toy": o = o with { Profile = Profile.Toy }; break;
                    case "--out": o = o with { Out = Value() }; break;
                    case "--work": o = o with { Work = Value() }; break;
                    case "--tasks": o = o with { Tasks = Value().Split(',', StringSplitOptions.RemoveEmptyEntries) }; break;
                    case "--threads":
                        var t = Value();
                        o = o with { Threads = int.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 1 ? n : throw new ArgumentException($"--threads: '{t}' must be a whole number ≥ 1") };
                        break;
                    default: throw new ArgumentException($"unknown argument '{args[i]}'");
                }
            }
            return o;
        }
    }
}
