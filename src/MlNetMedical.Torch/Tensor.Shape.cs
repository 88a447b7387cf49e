using MlNetMedical.Torch.Interop;
using static MlNetMedical.Torch.Interop.NativeMethods;

namespace MlNetMedical.Torch;

/// <summary>Padding modes of <see cref="Tensor.Pad"/> (torch.nn.functional.pad).</summary>
public enum PadMode
{
    Constant = 0,
    Reflect = 1,
    Replicate = 2,
    Circular = 3,
}

// Shape and view ops, joining and splitting, indexing.
public sealed partial class Tensor
{
    private unsafe Tensor ShapeOp(Interop.ShapeOp op, ReadOnlySpan<long> values)
    {
        fixed (long* v = values)
            return FromStatus(mlnm_shape_op(op, this, v, values.Length, out var r), r);
    }

    /// <summary>Same elements in a new shape (a view when possible, else a copy); one size may be -1.</summary>
    public Tensor Reshape(params ReadOnlySpan<long> shape) => ShapeOp(Interop.ShapeOp.Reshape, shape);
    /// <summary>A view with a new shape; fails when the memory layout does not allow one.</summary>
    public Tensor View(params ReadOnlySpan<long> shape) => ShapeOp(Interop.ShapeOp.View, shape);
    public Tensor Permute(params ReadOnlySpan<long> dims) => ShapeOp(Interop.ShapeOp.Permute, dims);
    /// <summary>A broadcast view; -1 keeps a size.</summary>
    public Tensor Expand(params ReadOnlySpan<long> shape) => ShapeOp(Interop.ShapeOp.Expand, shape);
    public Tensor BroadcastTo(params ReadOnlySpan<long> shape) => ShapeOp(Interop.ShapeOp.BroadcastTo, shape);
    /// <summary>Tiles the tensor: repeats[i] copies along dim i.</summary>
    public Tensor Repeat(params ReadOnlySpan<long> repeats) => ShapeOp(Interop.ShapeOp.Repeat, repeats);
    public Tensor Flip(params ReadOnlySpan<long> dims) => ShapeOp(Interop.ShapeOp.Flip, dims);
    /// <summary>Removes the given size-1 dims, or every size-1 dim when none are given.</summary>
    public Tensor Squeeze(params ReadOnlySpan<long> dims) => ShapeOp(Interop.ShapeOp.SqueezeDims, dims);

    public Tensor Unsqueeze(long dim) => FromStatus(mlnm_unsqueeze(this, dim, out var r), r);
    public Tensor Transpose(long dim0, long dim1) => FromStatus(mlnm_transpose(this, dim0, dim1, out var r), r);
    /// <summary>Transpose of a 2-D tensor.</summary>
    public Tensor T => Transpose(0, 1);
    public Tensor Flatten(long startDim = 0, long endDim = -1) => FromStatus(mlnm_flatten(this, startDim, endDim, out var r), r);

    /// <summary>The view of <paramref name="length"/> elements from <paramref name="start"/> along dim.</summary>
    public Tensor Narrow(long dim, long start, long length) => FromStatus(mlnm_narrow(this, dim, start, length, out var r), r);
    /// <summary>The view at <paramref name="index"/> along dim, which is removed.</summary>
    public Tensor Select(long dim, long index) => FromStatus(mlnm_select(this, dim, index, out var r), r);
    /// <summary>The view of [start, end) with a step along dim (negative bounds count from the end).</summary>
    public Tensor Slice(long dim, long start, long end, long step = 1) => FromStatus(mlnm_slice(this, dim, start, end, step, out var r), r);

    /// <summary>Indexes as Python does: <c>t[0, 1..3, TensorIndex.NewAxis, ^1]</c>; integers select, ranges slice.</summary>
    [System.Runtime.CompilerServices.IndexerName("Indexed")] // "Item" is taken by Item<T>()
    public unsafe Tensor this[params ReadOnlySpan<TensorIndex> indices]
    {
        get
        {
            Span<long> items = indices.Length <= 16 ? stackalloc long[indices.Length * 4] : new long[indices.Length * 4];
            for (var i = 0; i < indices.Length; i++) indices[i].Encode(items.Slice(i * 4, 4));
            fixed (long* p = items)
                return FromStatus(mlnm_index(this, p, indices.Length, out var r), r);
        }
    }

    public static Tensor Cat(ReadOnlySpan<Tensor> tensors, long dim = 0) => Join(tensors, dim, stack: false);
    /// <summary>Joins along a new dim.</summary>
    public static Tensor Stack(ReadOnlySpan<Tensor> tensors, long dim = 0) => Join(tensors, dim, stack: true);

    private static unsafe Tensor Join(ReadOnlySpan<Tensor> tensors, long dim, bool stack)
    {
        Span<IntPtr> handles = tensors.Length <= 64 ? stackalloc IntPtr[tensors.Length] : new IntPtr[tensors.Length];
        using var lease = new HandleLease(tensors, handles, nameof(tensors));
        fixed (IntPtr* h = handles)
            return FromStatus(mlnm_cat(h, tensors.Length, dim, stack ? 1 : 0, out var r), r);
    }

    /// <summary>Pieces of <paramref name="size"/> along dim (the last may be smaller).</summary>
    public unsafe Tensor[] Split(long size, long dim = 0)
    {
        if (size <= 0) throw new ArgumentOutOfRangeException(nameof(size), size, "split size must be positive");
        var n = Size(dim);
        return Pieces(Math.Max(1, (n + size - 1) / size), (IntPtr* h, long cap, out long count) => mlnm_split(this, size, dim, 0, h, cap, out count));
    }

    /// <summary>Pieces of the given sizes along dim (they must sum to its size).</summary>
    public unsafe Tensor[] Split(long[] sizes, long dim = 0)
    {
        ArgumentNullException.ThrowIfNull(sizes);
        return Pieces(sizes.Length, (IntPtr* h, long cap, out long count) =>
        {
            fixed (long* s = sizes) return mlnm_split_sizes(this, s, sizes.Length, dim, h, cap, out count);
        });
    }

    /// <summary>At most <paramref name="chunks"/> nearly equal pieces along dim.</summary>
    public unsafe Tensor[] Chunk(long chunks, long dim = 0)
    {
        if (chunks <= 0) throw new ArgumentOutOfRangeException(nameof(chunks), chunks, "chunk count must be positive");
        return Pieces(chunks, (IntPtr* h, long cap, out long count) => mlnm_split(this, chunks, dim, 1, h, cap, out count));
    }

    private unsafe delegate int PiecesCall(IntPtr* handles, long capacity, out long count);

    private static unsafe Tensor[] Pieces(long capacity, PiecesCall call)
    {
        var handles = new IntPtr[capacity];
        long count;
        fixed (IntPtr* h = handles) Check(call(h, capacity, out count));
        var result = new Tensor[count];
        for (var i = 0; i < count; i++) result[i] = new Tensor(handles[i]);
        return result;
    }

    /// <summary>The entries at the int64 <paramref name="index"/> positions along dim.</summary>
    public Tensor IndexSelect(long dim, Tensor index) => FromStatus(mlnm_index_select(this, dim, index, out var r), r);

    /// <summary>out[i][j] = this[index[i][j]][j] for dim 0 (torch.gather).</summary>
    public Tensor Gather(long dim, Tensor index) => FromStatus(mlnm_gather(this, dim, index, out var r), r);

    /// <summary>A copy with src written at index along dim (torch.scatter).</summary>
    public Tensor Scatter(long dim, Tensor index, Tensor src) => ScatterCore(dim, index, src, add: false, inPlace: false);
    public Tensor Scatter_(long dim, Tensor index, Tensor src) => ScatterCore(dim, index, src, add: false, inPlace: true);
    /// <summary>A copy with src added at index along dim (torch.scatter_add).</summary>
    public Tensor ScatterAdd(long dim, Tensor index, Tensor src) => ScatterCore(dim, index, src, add: true, inPlace: false);
    public Tensor ScatterAdd_(long dim, Tensor index, Tensor src) => ScatterCore(dim, index, src, add: true, inPlace: true);

    private unsafe Tensor ScatterCore(long dim, Tensor index, Tensor src, bool add, bool inPlace)
    {
        IntPtr r = IntPtr.Zero;
        Check(mlnm_scatter(this, dim, index, src, add ? 1 : 0, inPlace ? null : &r));
        return inPlace ? this : new Tensor(r);
    }

    /// <summary>A copy with <paramref name="value"/> written at index along dim.</summary>
    public unsafe Tensor Scatter(long dim, Tensor index, double value)
    {
        IntPtr r;
        Check(mlnm_scatter_value(this, dim, index, value, 0, &r));
        return new Tensor(r);
    }

    /// <summary>
    /// Pads the last dims: <paramref name="pads"/> = (last-dim before, last-dim after, previous-dim before, ...), as
    /// torch.nn.functional.pad. Non-constant modes need the batch and channel dims in front.
    /// </summary>
    public unsafe Tensor Pad(ReadOnlySpan<long> pads, PadMode mode = PadMode.Constant, double value = 0)
    {
        fixed (long* p = pads)
            return FromStatus(mlnm_pad(this, p, pads.Length, (int)mode, value, out var r), r);
    }

    /// <summary>Rolls elements along dims by shifts (wrapping around).</summary>
    public unsafe Tensor Roll(ReadOnlySpan<long> shifts, ReadOnlySpan<long> dims)
    {
        fixed (long* s = shifts)
        fixed (long* d = dims)
            return FromStatus(mlnm_roll(this, s, shifts.Length, d, dims.Length, out var r), r);
    }

    public Tensor Roll(long shift, long dim) => Roll([shift], [dim]);

    /// <summary>One-hot int64 encoding of class indices; numClasses = -1 infers it from the largest index.</summary>
    public Tensor OneHot(long numClasses = -1) => FromStatus(mlnm_one_hot(this, numClasses, out var r), r);
}
