namespace MlNetMedical.Torch;

/// <summary>
/// One item of a tensor index: an integer (selects, removing the dim), a range (slices, <c>1..^1</c>), a stepped
/// slice (<see cref="Slice"/>), <see cref="NewAxis"/> or <see cref="Ellipsis"/>. Integers and ranges convert implicitly.
/// </summary>
public readonly struct TensorIndex
{
    private enum Kind : long { Select = 0, Slice = 1, NewAxis = 2, Ellipsis = 3 }

    private readonly Kind kind;
    private readonly long a, b, step;

    private TensorIndex(Kind kind, long a = 0, long b = 0, long step = 1)
    {
        this.kind = kind;
        this.a = a;
        this.b = b;
        this.step = step;
    }

    /// <summary>Marks "to the end" for a slice's end.</summary>
    private const long End = long.MaxValue;

    public static readonly TensorIndex NewAxis = new(Kind.NewAxis);
    public static readonly TensorIndex Ellipsis = new(Kind.Ellipsis);
    /// <summary>The whole dim (Python's <c>:</c>).</summary>
    public static readonly TensorIndex All = new(Kind.Slice, 0, End);

    /// <summary>[start, end) with a step; null bounds mean the ends; negative values count from the end.</summary>
    public static TensorIndex Slice(long? start = null, long? end = null, long step = 1)
    {
        if (step <= 0) throw new ArgumentOutOfRangeException(nameof(step), step, "slice step must be positive");
        return new(Kind.Slice, start ?? 0, end ?? End, step);
    }

    public static implicit operator TensorIndex(long index) => new(Kind.Select, index);
    public static implicit operator TensorIndex(int index) => new(Kind.Select, index);

    /// <summary>^k selects the k-th element from the end.</summary>
    public static implicit operator TensorIndex(Index index) => new(Kind.Select, index.IsFromEnd ? -index.Value : index.Value);

    public static implicit operator TensorIndex(Range range)
    {
        // ^0 as a start is the (empty) end; ^0 as an end is "to the end".
        long start = range.Start.IsFromEnd ? (range.Start.Value == 0 ? End : -range.Start.Value) : range.Start.Value;
        long end = range.End.IsFromEnd ? (range.End.Value == 0 ? End : -range.End.Value) : range.End.Value;
        return new(Kind.Slice, start, end);
    }

    internal void Encode(Span<long> item)
    {
        item[0] = (long)kind;
        item[1] = a;
        item[2] = b;
        item[3] = step;
    }
}
