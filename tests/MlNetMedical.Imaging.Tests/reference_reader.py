# Independent reference: nibabel for NIfTI, pydicom for DICOM. Reads a JSON list of
# {"path", "kind"} on stdin-argument file and prints {path: result-or-error} as JSON.
import json, os, sys, warnings
import numpy as np
warnings.simplefilter("ignore")

def stats(values):
    d = np.asarray(values, dtype=np.float64)
    f = d[np.isfinite(d)]
    if f.size == 0:
        return dict(min=None, max=None, mean=None, sum=None, nonfinite=int(d.size))
    return dict(min=float(f.min()), max=float(f.max()), mean=float(f.mean()), sum=float(f.sum()), nonfinite=int(d.size - f.size))

def ras(a):
    a = np.array(a, dtype=np.float64)
    a[:2, :] *= -1
    return a

def nifti(path):
    import nibabel as nib
    img = nib.load(path)
    if type(img).__name__ == "Cifti2Image":  # CIFTI is NIfTI-2 plus an extension: read the NIfTI part
        img = nib.Nifti2Image.from_filename(path)
    kinds = (nib.Nifti1Image, nib.Nifti1Pair, nib.Nifti2Image, nib.Nifti2Pair)
    if type(img) not in kinds:
        raise ValueError("nibabel reads it as " + type(img).__name__ + ", not NIfTI")
    raw = np.asanyarray(img.dataobj)
    if raw.dtype.names:  # RGB: every component counts as a value
        values = np.stack([raw[n] for n in raw.dtype.names], -1)
    else:
        values = img.get_fdata()
    return dict(shape=list(img.shape), affine=img.affine.tolist(), **stats(values))

def dicom_values(ds):
    from pydicom.pixel_data_handlers.util import apply_modality_lut
    arr = ds.pixel_array
    if int(getattr(ds, "SamplesPerPixel", 1)) == 1:
        arr = apply_modality_lut(arr, ds)
    if getattr(ds, "Modality", "") == "RTDOSE" and "DoseGridScaling" in ds:
        arr = arr * float(ds.DoseGridScaling)  # dose in Gy, as GDCM reports it
    return arr

def dicom_file(path):
    import pydicom
    ds = pydicom.dcmread(path)
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    out = dict(shape=[int(ds.Columns), int(ds.Rows), frames], **stats(dicom_values(ds)))
    if frames == 1 and all(k in ds for k in ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing")):
        iop = np.array([float(x) for x in ds.ImageOrientationPatient])
        ps = [float(x) for x in ds.PixelSpacing]
        a = np.eye(4)
        a[:3, 0] = iop[:3] * ps[1]
        a[:3, 1] = iop[3:] * ps[0]
        a[:3, 3] = [float(x) for x in ds.ImagePositionPatient]
        # The slice-normal column depends on the spacing convention for a lone slice: compare i, j and origin.
        out["affine_columns"] = [0, 1, 3]
        out["affine"] = ras(a).tolist()
    return out

def dicom_series(folder):
    import pydicom
    dss = []
    for name in sorted(os.listdir(folder)):
        try:
            ds = pydicom.dcmread(os.path.join(folder, name))
            if "PixelData" in ds:
                dss.append(ds)
        except Exception:
            pass
    iop = np.array([float(x) for x in dss[0].ImageOrientationPatient])
    normal = np.cross(iop[:3], iop[3:])
    dss.sort(key=lambda d: float(np.dot([float(x) for x in d.ImagePositionPatient], normal)))
    vols = np.stack([np.asarray(dicom_values(d), dtype=np.float64) for d in dss])
    first = np.array([float(x) for x in dss[0].ImagePositionPatient])
    last = np.array([float(x) for x in dss[-1].ImagePositionPatient])
    ps = [float(x) for x in dss[0].PixelSpacing]
    a = np.eye(4)
    a[:3, 0] = iop[:3] * ps[1]
    a[:3, 1] = iop[3:] * ps[0]
    a[:3, 2] = (last - first) / (len(dss) - 1)
    a[:3, 3] = first
    return dict(shape=[int(dss[0].Columns), int(dss[0].Rows), len(dss)], affine=ras(a).tolist(), **stats(vols))

def main():
    items = json.load(open(sys.argv[1]))
    result = {}
    for item in items:
        try:
            fn = {"nifti": nifti, "dicom": dicom_file, "dicomseries": dicom_series}[item["kind"]]
            result[item["path"]] = fn(item["path"])
        except Exception as e:
            result[item["path"]] = {"error": type(e).__name__ + ": " + str(e)[:200]}
    print(json.dumps(result))

main()
