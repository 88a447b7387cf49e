// Load+decode timing of our readers: io-bench NIFTI_GZ DICOM_FOLDER REPS. Prints one JSON line:
// best wall time per read in seconds and the voxel bytes each read produces.
using System.Diagnostics;
using System.Text.Json;
using MlNetMedical.Imaging.Dicom;
using MlNetMedical.Imaging.Formats;

var nifti = args[0];
var dicom = args[1];
int reps = int.Parse(args[2]);

(double Best, long Bytes) Time(Func<MlNetMedical.Imaging.Volume> read)
{
    var warm = read(); // first call pays JIT and library loading, as Python's first import does
    double best = double.MaxValue;
    for (int i = 0; i < reps; i++)
    {
        var sw = Stopwatch.StartNew();
        var v = read();
        sw.Stop();
        best = Math.Min(best, sw.Elapsed.TotalSeconds);
        GC.KeepAlive(v);
    }
    return (best, warm.Data.LongLength);
}

var n = Time(() => Nifti.Read(nifti));
var d = Time(() => DicomSeries.ReadFolder(dicom));
Console.WriteLine(JsonSerializer.Serialize(new { nifti_s = n.Best, nifti_bytes = n.Bytes, dicom_s = d.Best, dicom_bytes = d.Bytes }));
