namespace MlNetMedical.Models;

/// <summary>Normalisation after each convolution.</summary>
public enum NormKind { Batch, Instance, Group, None }

/// <summary>Nonlinearity after each normalisation.</summary>
public enum ActivationKind { Relu, LeakyRelu }

/// <summary>Plain conv-norm-act stacks, or the same stack with an identity (or 1×1 projection) shortcut.</summary>
public enum BlockKind { Plain, Residual }

/// <summary>How an encoder halves the resolution between levels.</summary>
public enum DownsamplingKind { MaxPool, StridedConv }

/// <summary>How a decoder doubles the resolution: a learned 2× transposed convolution, or interpolation.</summary>
public enum UpsamplingKind { TransposedConv, Nearest, Linear }

/// <summary>Global pooling of a feature map: average, max, or both concatenated (average first).</summary>
public enum PoolingKind { Average, Max, AverageMax }

/// <summary>The first layer of a <see cref="ResNetEncoder"/>: a 3×3 conv-norm-act at full resolution (<see cref="Plain"/>, the
/// small ResNet's), or torchvision's ImageNet stem (<see cref="ImageNet"/>: 7×7 stride-2 conv, norm, act, 3×3 stride-2 max pool).</summary>
public enum ResNetStem { Plain, ImageNet }
