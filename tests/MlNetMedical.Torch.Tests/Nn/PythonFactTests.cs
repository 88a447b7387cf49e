using Xunit;

namespace MlNetMedical.Torch.Tests.Nn;

public class PythonFactTests
{
    [Fact]
    public void MissingModuleBecomesAVisibleSkipReason()
    {
        var reason = Python.Missing("mlnm_no_such_module");
        Assert.NotNull(reason);
        Assert.Contains("mlnm_no_such_module", reason);
        Assert.Equal(reason, new PythonFactAttribute("mlnm_no_such_module").Skip);
    }
}
