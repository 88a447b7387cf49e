namespace MlNetMedical.Torch.Nn;

public sealed class Identity : Module
{
    public override Tensor Forward(Tensor input) => input;
}

public sealed class ReLU : Module
{
    public override Tensor Forward(Tensor input) => Functional.Relu(input);
}

public sealed class LeakyReLU(double negativeSlope = 0.01) : Module
{
    public double NegativeSlope { get; } = negativeSlope;
    public override Tensor Forward(Tensor input) => Functional.LeakyRelu(input, NegativeSlope);
}

/// <summary>Leaky ReLU with a learned slope: one shared (numParameters = 1) or one per channel.</summary>
public sealed class PReLU : Module
{
    public PReLU(long numParameters = 1, double init = 0.25)
    {
        Weight = RegisterParameter("weight", Tensor.Full([numParameters], init))!;
    }

    public Tensor Weight { get; }
    public override Tensor Forward(Tensor input) => Functional.Prelu(input, Weight);
}

public sealed class GELU(bool tanhApproximation = false) : Module
{
    public override Tensor Forward(Tensor input) => Functional.Gelu(input, tanhApproximation);
}

public sealed class Sigmoid : Module
{
    public override Tensor Forward(Tensor input) => Functional.Sigmoid(input);
}

public sealed class Tanh : Module
{
    public override Tensor Forward(Tensor input) => Functional.Tanh(input);
}

public sealed class Softmax(long dim) : Module
{
    public long Dim { get; } = dim;
    public override Tensor Forward(Tensor input) => Functional.Softmax(input, Dim);
}

public sealed class Flatten(long startDim = 1, long endDim = -1) : Module
{
    public override Tensor Forward(Tensor input) => Functional.Flatten(input, startDim, endDim);
}

/// <summary>Dropout; <paramref name="channelwise"/> drops whole channels (Dropout2d/3d). Identity in eval mode.</summary>
public sealed class Dropout(double p = 0.5, bool channelwise = false) : Module
{
    public double P { get; } = p is >= 0 and <= 1 ? p : throw new ArgumentOutOfRangeException(nameof(p), p, "dropout probability must be in [0, 1]");
    public bool Channelwise { get; } = channelwise;
    public override Tensor Forward(Tensor input) => Functional.Dropout(input, P, Training, Channelwise);
}
