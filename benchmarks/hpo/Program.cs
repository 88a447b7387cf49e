using MlNetMedical.AutoML;
using MlNetMedical.AutoML.Benchmarks;

if (args.Length > 0 && args[0] == "trace")
{
    var f = TestFunctions.All.First(x => x.Name == args[1]);
    var cfo = new CfoTuner(0);
    var h = new List<TrialRecord>();
    for (int i = 0; i < int.Parse(args[2]); i++)
    {
        var p = cfo.Propose(new TuningContext(f.Space, Direction.Minimize, i, h))!;
        var r = new TrialRecord { Id = i, Number = i, State = TrialState.Complete, Parameters = p, Value = f.TrueValue(p) };
        h.Add(r); cfo.Observe(r, f.Space, Direction.Minimize);
        Console.WriteLine($"{i,4} {p} {r.Value:F4} step {cfo.Step:F4} best {h.Min(t => t.Value):F4}");
    }
    return;
}
