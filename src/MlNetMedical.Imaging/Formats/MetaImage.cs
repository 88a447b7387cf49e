namespace MlNetMedical.Imaging.Formats;

public static class MetaImage
{
    public static Volume Read(string path) => throw new NotImplementedException(path);
    public static void Write(Volume v, string path) => throw new NotImplementedException(path);
}
