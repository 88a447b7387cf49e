using MlNetMedical.Cli.Yaml;
using Xunit;

namespace MlNetMedical.Cli.Tests;

public sealed class YamlTests
{
    public enum Flavor { Plain, HierarchicalUnfreezing }

    public sealed class Inner : IYamlValidated
    {
        public int Epochs { get; set; } = 3;
        public double LearningRate { get; set; } = 1e-3;
        public Flavor Flavor { get; set; }
        public int[]? Levels { get; set; }
        public void Validate(YamlValidation check) => check.Check(Epochs >= 1, this, nameof(Epochs), "must be ≥ 1");
    }

    public sealed class Root
    {
        public string Name { get; set; } = "";
        public string? Note { get; set; }
        public bool Enabled { get; set; }
        public Inner Training { get; set; } = new();
        public List<Inner> Stages { get; set; } = [];
    }

    private static YamlConfigException Fails(string yaml, params string[] overrides) =>
        Assert.Throws<YamlConfigException>(() => YamlConfigReader.Read<Root>(yaml, "p.yaml", overrides));

    [Fact]
    public void BindsKeysInSnakeCaseAndEnumsInKebabCase()
    {
        var root = YamlConfigReader.Read<Root>("name: a\nenabled: true\ntraining:\n  epochs: 5\n  learning_rate: 0.01\n  flavor: hierarchical-unfreezing\n  levels: [-1, -2]\nstages:\n  - epochs: 2\n", "p.yaml");
        Assert.Equal("a", root.Name);
        Assert.True(root.Enabled);
        Assert.Equal(5, root.Training.Epochs);
        Assert.Equal(0.01, root.Training.LearningRate);
        Assert.Equal(Flavor.HierarchicalUnfreezing, root.Training.Flavor);
        Assert.Equal([-1, -2], root.Training.Levels!);
        Assert.Equal(2, Assert.Single(root.Stages).Epochs);
        Assert.Null(root.Note);
    }

    [Fact]
    public void UnknownKeyNamesFileLineColumnAndAllowedKeys()
    {
        var e = Fails("name: a\ntraining:\n  epoch: 5\n");
        Assert.Equal("p.yaml:3:3", e.Where);
        Assert.Contains("unknown key 'epoch'", e.Message);
        Assert.Contains("allowed keys: epochs, learning_rate, flavor, levels", e.Message);
    }

    [Fact]
    public void WrongTypesSayWhatWasExpected()
    {
        Assert.Contains("'training.epochs' is 'five'; expected an integer", Fails("training:\n  epochs: five\n").Message);
        Assert.Contains("expected a number", Fails("training:\n  learning_rate: fast\n").Message);
        Assert.Contains("expected true or false", Fails("enabled: yes\n").Message);
        Assert.Contains("must be a mapping", Fails("training: 3\n").Message);
        Assert.Contains("must be a list", Fails("stages: 3\n").Message);
        Assert.Contains("is empty", Fails("name:\n").Message);
        var quotedNumber = Fails("training:\n  epochs: \"5\"\n");
        Assert.Contains("expected an integer", quotedNumber.Message);
    }

    [Fact]
    public void BadEnumValueListsAllowedValues()
    {
        var e = Fails("training:\n  flavor: HierarchicalUnfreezing\n");
        Assert.Equal("p.yaml:2:11", e.Where);
        Assert.Contains("allowed values: plain, hierarchical-unfreezing", e.Message);
    }

    [Fact]
    public void ValidationNamesTheLineOfTheKey()
    {
        var e = Fails("stages:\n  - epochs: 1\n  - epochs: 0\n");
        Assert.Equal("p.yaml:3:13", e.Where);
        Assert.Contains("'epochs' must be ≥ 1", e.Message);
    }

    [Fact]
    public void SyntaxErrorsAndDuplicateKeysNameTheLine()
    {
        Assert.StartsWith("p.yaml:2:", Fails("name: a\n  bad: [\n").Where);
        Assert.Contains("p.yaml:2", Fails("name: a\nname: b\n").Where);
    }

    [Fact]
    public void OverridesApplyBeforeValidationAndNameThemselvesInErrors()
    {
        var root = YamlConfigReader.Read<Root>("training:\n  epochs: 5\nstages:\n  - epochs: 2\n", "p.yaml",
            ["training.epochs=7", "stages.0.learning_rate=0.5", "note=hello", "training.levels=[1, 2]"]);
        Assert.Equal(7, root.Training.Epochs);
        Assert.Equal(0.5, root.Stages[0].LearningRate);
        Assert.Equal("hello", root.Note);
        Assert.Equal([1, 2], root.Training.Levels!);

        Assert.Equal("--set training.epochs=0", Fails("training:\n  epochs: 5\n", "training.epochs=0").Where);
        Assert.Contains("unknown key 'epoch'", Fails("name: a\n", "training.epoch=3").Message);
        Assert.Contains("must be an index 0..0", Fails("stages:\n  - epochs: 2\n", "stages.4.epochs=1").Message);
        Assert.Contains("expected KEY.PATH=VALUE", Fails("name: a\n", "training.epochs").Message);
    }

    [Fact]
    public void WriterRoundTripsEveryKey()
    {
        var root = new Root { Name = "x: y", Note = null, Enabled = true, Training = new Inner { Epochs = 4, Flavor = Flavor.HierarchicalUnfreezing, Levels = [-1] }, Stages = [new Inner { LearningRate = 0.25 }] };
        var text = YamlConfigWriter.Write(root);
        Assert.Contains("learning_rate: 0.001", text);
        Assert.DoesNotContain("...", text);
        var back = YamlConfigReader.Read<Root>(text, "resolved.yaml");
        Assert.Equal(YamlConfigWriter.Write(back), text);
        Assert.Equal("x: y", back.Name);
        Assert.Equal(0.25, back.Stages[0].LearningRate);
    }

    [Fact]
    public void MissingFileIsAUserError()
    {
        var e = Assert.Throws<YamlConfigException>(() => YamlConfigReader.ReadFile<Root>("/nonexistent/p.yaml"));
        Assert.Contains("/nonexistent/p.yaml", e.Message);
    }
}
