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
