namespace MlNetMedical.Catalogs;

/// <summary>Base of the context's catalogs: access to the owning context.</summary>
public abstract class CatalogBase
{
    private protected CatalogBase(MedicalContext context) => Context = context;

    /// <summary>The context this catalog belongs to.</summary>
    protected MedicalContext Context { get; }

    /// <summary>The seed to use: the argument if given, else the context's.</summary>
    private protected long SeedOr(int? seed) => seed ?? Context.Seed;
}
