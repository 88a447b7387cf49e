using System.Buffers.Binary;
using System.Text;

namespace MlNetMedical.Imaging.Dicom;

/// <summary>
/// Cheap checks of the file meta information, in this process, before a decoder process is asked: no Part-10
/// preamble, a corrupt file meta group, a DICOMDIR, or no transfer syntax give an <see cref="ImageFormatException"/>
/// with a clear message at once (these also used to abort GDCM). Everything GDCM does runs in the decoder process
/// (<see cref="DicomDecoderPool"/>), where an abort cannot end the application.
/// </summary>
internal static class DicomPreflight
{
    private const string MediaDirectoryClass = "1.2.840.10008.1.3.10";

    private static byte[] ReadHead(string path, long length)
    {
        var head = new byte[length];
        using var fs = File.OpenRead(path);
        fs.ReadExactly(head);
        return head;
    }

    /// <summary>Validates the file; returns its SOP class and transfer syntax UIDs from the file meta.</summary>
    public static (string? SopClass, string? TransferSyntax) Check(string path)
    {
        long fileLength = new FileInfo(path).Length;
        // The file meta group nearly always fits in 8 KiB; a longer one is read again with room to spare.
        var head = ReadHead(path, Math.Min(fileLength, 1 << 13));
        if (head.Length < 132 || !head.AsSpan(128, 4).SequenceEqual("DICM"u8))
            throw new ImageFormatException(path, "no 'DICM' preamble: not a DICOM Part-10 file (bare datasets without file meta information are not supported)");
        string? sopClass = null;
        string? transferSyntax = null;
        int pos = 132;
        // File meta elements are explicit VR little endian, group 0002.
        while (pos + 8 <= head.Length)
        {
            ushort group = BinaryPrimitives.ReadUInt16LittleEndian(head.AsSpan(pos));
            ushort element = BinaryPrimitives.ReadUInt16LittleEndian(head.AsSpan(pos + 2));
            if (group != 0x0002) break;
            var vr = Encoding.ASCII.GetString(head, pos + 4, 2);
            long length; int valueStart;
            if (vr is "OB" or "OW" or "OF" or "SQ" or "UT" or "UN")
            {
                if (pos + 12 > head.Length) break;
                length = BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(pos + 8));
                valueStart = pos + 12;
            }
            else { length = BinaryPrimitives.ReadUInt16LittleEndian(head.AsSpan(pos + 6)); valueStart = pos + 8; }
            if (valueStart + length > head.Length && length != 0xFFFFFFFF && head.Length < fileLength && head.Length < 1 << 20)
            {
                head = ReadHead(path, Math.Min(fileLength, 1 << 20));
                continue;
            }
            if (length == 0xFFFFFFFF || valueStart + length > head.Length)
                throw new ImageFormatException(path, $"corrupt file meta element (0002,{element:X4}): length {length} runs past the header");
            if (element == 0x0002) sopClass = Encoding.ASCII.GetString(head, valueStart, (int)length).Trim('\0', ' ');
            if (element == 0x0010) transferSyntax = Encoding.ASCII.GetString(head, valueStart, (int)length).Trim('\0', ' ');
            pos = valueStart + (int)length;
        }
        if (sopClass == MediaDirectoryClass) throw new ImageFormatException(path, "a DICOMDIR (media directory), not an image");
        if (transferSyntax is null) throw new ImageFormatException(path, "file meta information lacks TransferSyntaxUID (0002,0010)");
        return (sopClass, transferSyntax);
    }
}
