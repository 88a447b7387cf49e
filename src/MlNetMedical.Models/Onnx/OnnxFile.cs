using Google.Protobuf;
using Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace MlNetMedical.Models;

/// <summary>
/// Reads and writes ONNX model files through the classes protoc generates from ONNX's <c>onnx.proto</c>
/// (build/onnx-proto). Reading is for weights (initializers) only: nothing in a file is executed here.
/// </summary>
public static class OnnxFile
{
    /// <summary>Largest ONNX file read (protobuf messages are limited to 2 GiB; larger models keep weights outside).</summary>
    public const long MaxBytes = int.MaxValue;

    /// <summary>The float32 initializers of the ONNX file at <paramref name="path"/>, by name, as CPU tensors the
    /// caller owns. Other element types are skipped; weights stored outside the file are refused.</summary>
    public static Dictionary<string, Tensor> ReadInitializers(string path)
    {
        return Initializers(Read(path), path);
    }

    /// <summary>The float initializers of an already read <paramref name="model"/> by name (<paramref name="source"/> names it in errors).</summary>
    internal static Dictionary<string, Tensor> Initializers(ModelProto model, string source)
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var t in model.Graph?.Initializer ?? [])
        {
            if (t.DataType != (int)TensorProto.Types.DataType.Float) continue;
            result[t.Name] = ToTensor(t, source);
        }
        return result;
    }

    internal static ModelProto Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"ONNX file '{path}' does not exist", path);
        if (info.Length > MaxBytes) throw new InvalidDataException($"ONNX file '{path}' is {info.Length} bytes; at most {MaxBytes} are read");
        try
        {
            using var stream = File.OpenRead(path);
            var model = ModelProto.Parser.ParseFrom(stream);
            if (model.Graph is null) throw new InvalidDataException($"'{path}' is not an ONNX model: it has no graph");
            return model;
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"'{path}' is not an ONNX model: {e.Message}", e);
        }
    }

    /// <summary>Writes <paramref name="model"/> whole: to a temporary file beside <paramref name="path"/>, then renamed.</summary>
    internal static void Write(ModelProto model, string path)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = full + $".{Environment.ProcessId}.tmp";
        try
        {
            using (var stream = File.Create(temp)) model.WriteTo(stream);
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>A float32 tensor of <paramref name="proto"/> (raw little-endian bytes or the float_data field).</summary>
    internal static Tensor ToTensor(TensorProto proto, string source)
    {
        if (proto.DataType != (int)TensorProto.Types.DataType.Float)
            throw new InvalidDataException($"'{source}': tensor '{proto.Name}' has ONNX element type {proto.DataType}; float (1) expected");
        if (proto.DataLocation == TensorProto.Types.DataLocation.External)
            throw new InvalidDataException($"'{source}': tensor '{proto.Name}' keeps its data in an external file, which is not read");
        var shape = proto.Dims.ToArray();
        long count = 1;
        foreach (var d in shape)
        {
            if (d < 0) throw new InvalidDataException($"'{source}': tensor '{proto.Name}' has a negative dimension {d}");
            count = checked(count * d);
        }
        float[] values;
        if (proto.RawData.Length > 0)
        {
            if (proto.RawData.Length != count * sizeof(float))
                throw new InvalidDataException($"'{source}': tensor '{proto.Name}' has {proto.RawData.Length} bytes of data; its shape [{string.Join(", ", shape)}] needs {count * sizeof(float)}");
            values = new float[count];
            proto.RawData.Span.CopyTo(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
            if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX raw data is little-endian");
        }
        else
        {
            if (proto.FloatData.Count != count)
                throw new InvalidDataException($"'{source}': tensor '{proto.Name}' has {proto.FloatData.Count} values; its shape [{string.Join(", ", shape)}] needs {count}");
            values = proto.FloatData.ToArray();
        }
        return torch.tensor(values, shape);
    }

    /// <summary>An ONNX int64 vector initializer (shapes, axes, pads of a written graph).</summary>
    internal static TensorProto FromInt64s(string name, long[] values)
    {
        var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        proto.Dims.Add(values.Length);
        proto.Int64Data.AddRange(values);
        return proto;
    }

    /// <summary>An ONNX float32 initializer of <paramref name="values"/> with <paramref name="shape"/>.</summary>
    internal static TensorProto FromFloats(string name, float[] values, long[] shape)
    {
        var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        proto.Dims.AddRange(shape);
        proto.FloatData.AddRange(values);
        return proto;
    }

    /// <summary>An ONNX float32 initializer named <paramref name="name"/> holding a copy of <paramref name="tensor"/>.</summary>
    internal static TensorProto FromTensor(string name, Tensor tensor)
    {
        using var cpu = tensor.detach().to(ScalarType.Float32, torch.CPU).contiguous();
        var values = cpu.data<float>().ToArray();
        var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        proto.Dims.AddRange(cpu.shape);
        proto.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
        return proto;
    }
}
