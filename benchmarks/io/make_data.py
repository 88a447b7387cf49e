# Writes the benchmark inputs: a 256x256x160 int16 .nii.gz with smooth, CT-like content (so gzip
# compresses it as it would a real scan) and a 120-slice 512x512 int16 CT series, uncompressed DICOM.
import os, sys
import numpy as np
import nibabel as nib
import pydicom
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

out = sys.argv[1]
rng = np.random.default_rng(1)

def phantom(shape):
    z, y, x = np.meshgrid(*[np.linspace(-1, 1, s) for s in shape], indexing="ij")
    body = (x ** 2 + y ** 2 < 0.8).astype(np.float32) * 1000 - 1000
    organ = ((x - 0.2) ** 2 + y ** 2 + (z * 0.5) ** 2 < 0.1) * 60.0
    noise = rng.normal(0, 15, shape)
    return (body + organ + noise).astype(np.int16)

vol = phantom((160, 256, 256))  # z, y, x
img = nib.Nifti1Image(np.ascontiguousarray(vol.transpose(2, 1, 0)), np.diag([0.8, 0.8, 1.5, 1]))
img.header.set_data_dtype(np.int16)
img.header["scl_slope"] = np.nan
nib.save(img, os.path.join(out, "volume.nii.gz"))

series = os.path.join(out, "series")
os.makedirs(series, exist_ok=True)
ct = phantom((120, 512, 512))
study, series_uid = generate_uid(), generate_uid()
for k in range(ct.shape[0]):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "CT"
    ds.PatientID = "BENCH"
    ds.StudyInstanceUID = study
    ds.SeriesInstanceUID = series_uid
    ds.InstanceNumber = k + 1
    ds.ImagePositionPatient = [-200.0, -200.0, k * 1.25]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = [0.78, 0.78]
    ds.SliceThickness = 1.25
    ds.Rows, ds.Columns = ct.shape[1], ct.shape[2]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
    ds.PixelRepresentation = 1
    ds.RescaleIntercept, ds.RescaleSlope = 0, 1
    ds.PixelData = ct[k].tobytes()
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.save_as(os.path.join(series, f"slice{(k * 7919) % ct.shape[0]:04d}.dcm"), write_like_original=False)
