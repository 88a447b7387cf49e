using System.Diagnostics;
using System.Globalization;
using Spectre.Console;

namespace MlNetMedical.Cli.Terminal;

/// <summary>How long work is shown: live bars, log lines, or only the completion lines.</summary>
public enum ProgressMode
{
    /// <summary>Spectre.Console bars with ETA on stderr (a terminal, not --quiet/--json).</summary>
    Bars,
    /// <summary>A plain line about every tenth of each task, plus its end.</summary>
    LogLines,
    /// <summary>Only the line that says a task finished (--quiet, --json).</summary>
    Quiet,
}

/// <summary>One unit of long work (epochs × steps, trials, generated cases) shown as a bar or as log lines.</summary>
public interface IProgressTask
{
    /// <summary>Sets the amount done (0..total) and, optionally, the text after the name (e.g. "epoch 3/10 loss 0.41").</summary>
    void Update(double done, string? status = null);
    void Increment(double amount = 1);
    /// <summary>Marks the task done and logs its last line.</summary>
    void Complete(string? summary = null);
}

/// <summary>The progress display of one command. Work runs inside <see cref="Run"/>; tasks come from <see cref="AddTask"/>,
/// free text from <see cref="Log"/>. Bars need a terminal on stderr; otherwise the same calls print plain lines.
/// Every line also goes to an optional log file (run.log).</summary>
public sealed class ProgressView
{
    private readonly TextWriter _error;
    private readonly TextWriter? _logFile;
    private readonly object _gate = new();
    private IAnsiConsole? _console;
    private ProgressContext? _live;

    public ProgressMode Mode { get; }

    public ProgressView(CliContext context, ProgressMode mode, TextWriter? logFile = null)
    {
        _error = context.Error;
        _logFile = logFile;
        Mode = mode;
    }

    /// <summary>Bars when stderr is the process's terminal and neither --quiet nor --json was given.</summary>
    public static ProgressMode ChooseMode(CliContext context, bool quiet, bool json = false)
    {
        if (quiet || json) return ProgressMode.Quiet;
        bool terminal = !Console.IsErrorRedirected && ReferenceEquals(context.Error, Console.Error);
        return terminal ? ProgressMode.Bars : ProgressMode.LogLines;
    }

    /// <summary>Runs <paramref name="work"/> with the display live (bars are drawn only while it runs).</summary>
    public T Run<T>(Func<T> work)
    {
        if (Mode != ProgressMode.Bars || _live is not null) return work(); // nested: the bars are already live
        _console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        T result = default!;
        _console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                _live = ctx;
                try { result = work(); }
                finally { _live = null; }
            });
        return result;
    }

    public void Run(Action work) => Run(() => { work(); return 0; });

    /// <summary>A line for the user (and the log file); above the bars when they are live.</summary>
    public void Log(string line)
    {
        lock (_gate)
        {
            _logFile?.WriteLine($"{DateTime.UtcNow:HH:mm:ss} {line}");
            _logFile?.Flush();
            if (_live is not null && _console is not null) _console.WriteLine(line);
            else _error.WriteLine(line);
        }
    }

    /// <summary>Writes only to the log file (details the screen does not need).</summary>
    public void LogFileOnly(string line)
    {
        lock (_gate)
        {
            _logFile?.WriteLine($"{DateTime.UtcNow:HH:mm:ss} {line}");
            _logFile?.Flush();
        }
    }

    public IProgressTask AddTask(string name, double total, string unit)
    {
        lock (_gate)
        {
            var bar = _live?.AddTask(Markup.Escape(name), maxValue: Math.Max(total, 1e-9));
            return new Task(this, name, total, unit, bar);
        }
    }

    private sealed class Task(ProgressView view, string name, double total, string unit, ProgressTask? bar) : IProgressTask
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private double _done, _nextLine;
        private string? _status;
        private bool _completed;

        public void Increment(double amount = 1) => Update(_done + amount);

        public void Update(double done, string? status = null)
        {
            lock (view._gate)
            {
                _done = Math.Clamp(done, 0, total);
                if (status is not null) _status = status;
                if (bar is not null)
                {
                    bar.Value = _done;
                    bar.Description = BarLabel();
                    return;
                }
                if (view.Mode != ProgressMode.LogLines || _done < _nextLine || _done >= total) return;
                _nextLine = _done + total / 10;
            }
            view.Log(Line());
        }

        public void Complete(string? summary = null)
        {
            lock (view._gate)
            {
                if (_completed) return;
                _completed = true;
                _done = total;
                if (summary is not null) _status = summary;
                if (bar is not null)
                {
                    bar.Value = total;
                    bar.Description = BarLabel();
                    bar.StopTask();
                }
            }
            // With bars the finished bar stays on screen; the log file still gets the line.
            if (bar is not null) view.LogFileOnly(Line());
            else view.Log(Line());
        }

        private string BarLabel() => Markup.Escape(_status is null ? name : $"{name}  {_status}");

        private string Line()
        {
            double elapsed = _clock.Elapsed.TotalSeconds;
            var eta = _done > 0 && _done < total ? string.Create(CultureInfo.InvariantCulture, $", ETA {elapsed / _done * (total - _done):F0} s") : "";
            var status = _status is null ? "" : $" {_status}";
            return string.Create(CultureInfo.InvariantCulture, $"{name}: {_done:0.##}/{total:0.##} {unit}{status}, {elapsed:F1} s elapsed{eta}");
        }
    }
}
