using Google.Protobuf;
using Onnx;
using static TorchSharp.torch;

namespace MlNetMedical.Models;

/// <summary>A tensor of the graph being written: its name and its shape (dim 0, the batch, is -1: dynamic).</summary>
internal readonly record struct OnnxValue(string Name, long[] Shape)
{
    public int Rank => Shape.Length;
    public long[] Spatial => Shape[2..];
    public override string ToString() => $"{Name} [{string.Join(", ", Shape.Select(d => d < 0 ? "batch" : d.ToString(System.Globalization.CultureInfo.InvariantCulture)))}]";
}

/// <summary>
/// Writes an ONNX graph node by node, tracking every value's static shape (the batch stays symbolic). Initializers take
/// the module paths of the weights they hold (<c>encoder.stages.0.conv1.weight</c>), so a file reads like the state dict.
/// </summary>
internal sealed class OnnxGraphBuilder
{
    public const string BatchDim = "batch";
    private readonly GraphProto graph = new();
    private readonly HashSet<string> names = new(StringComparer.Ordinal);
    private int counter;

    public OnnxGraphBuilder(string name) => graph.Name = name;

    public GraphProto Graph => graph;

    /// <summary>A fresh value name starting with <paramref name="hint"/>.</summary>
    public string Fresh(string hint)
    {
        var name = $"{hint}_{counter++}";
        names.Add(name);
        return name;
    }

    public OnnxValue Input(string name, long[] shape, string doc)
    {
        graph.Input.Add(ValueInfo(name, shape, doc));
        names.Add(name);
        return new OnnxValue(name, shape);
    }

    /// <summary>Declares <paramref name="value"/> a graph output named <paramref name="name"/> (through an Identity node).</summary>
    public void Output(OnnxValue value, string name, string doc)
    {
        graph.Node.Add(Node("Identity", [value.Name], [name]));
        graph.Output.Add(ValueInfo(name, value.Shape, doc));
    }

    private static ValueInfoProto ValueInfo(string name, long[] shape, string doc)
    {
        var tensorShape = new TensorShapeProto();
        foreach (var d in shape)
            tensorShape.Dim.Add(d < 0 ? new TensorShapeProto.Types.Dimension { DimParam = BatchDim } : new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto
        {
            Name = name,
            DocString = doc,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = tensorShape } },
        };
    }

    /// <summary>A float initializer holding a copy of <paramref name="tensor"/>, named <paramref name="name"/> (a weight's module path).</summary>
    public string Weight(string name, Tensor tensor)
    {
        if (!names.Add(name)) throw new InvalidOperationException($"ONNX initializer '{name}' is written twice");
        graph.Initializer.Add(OnnxFile.FromTensor(name, tensor));
        return name;
    }

    /// <summary>A float initializer of the given values and shape.</summary>
    public string Floats(string hint, float[] values, long[] shape)
    {
        var name = Fresh(hint);
        graph.Initializer.Add(OnnxFile.FromFloats(name, values, shape));
        return name;
    }

    /// <summary>An int64 initializer (shapes, axes, pads).</summary>
    public string Int64s(string hint, long[] values)
    {
        var name = Fresh(hint);
        graph.Initializer.Add(OnnxFile.FromInt64s(name, values));
        return name;
    }

    /// <summary>Adds a node with one output of shape <paramref name="shape"/> and returns that output.</summary>
    public OnnxValue Add(string op, string hint, IReadOnlyList<string> inputs, long[] shape, params AttributeProto[] attributes)
    {
        var output = Fresh(hint);
        graph.Node.Add(Node(op, inputs, [output], attributes));
        return new OnnxValue(output, shape);
    }

    /// <summary>Adds a node whose outputs are not tracked values (shape arithmetic); returns its output's name.</summary>
    public string AddRaw(string op, string hint, IReadOnlyList<string> inputs, params AttributeProto[] attributes)
    {
        var output = Fresh(hint);
        graph.Node.Add(Node(op, inputs, [output], attributes));
        return output;
    }

    private NodeProto Node(string op, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = $"{op}_{graph.Node.Count}" };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        return node;
    }

    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Float(string name, double value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = (float)value };

    public static AttributeProto Ints(string name, IEnumerable<long> values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    public static AttributeProto String(string name, string value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };
}
