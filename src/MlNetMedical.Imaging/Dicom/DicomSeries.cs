namespace MlNetMedical.Imaging.Dicom;

public static class DicomSeries
{
    public static Volume ReadFolder(string folder) => throw new NotImplementedException("DICOM series: " + folder);
    public static Volume ReadFile(string path) => throw new NotImplementedException("DICOM file: " + path);
}
