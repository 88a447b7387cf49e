# nibabel and pydicom doing the same job: decode the .nii.gz to an array, and read a DICOM folder into a
# sorted 3D array (sorted by ImagePositionPatient along the slice normal). Prints best seconds per read.
import json, os, sys, time
import numpy as np
import nibabel as nib
import pydicom

nifti, folder, reps = sys.argv[1], sys.argv[2], int(sys.argv[3])

def read_nifti():
    return np.asanyarray(nib.load(nifti).dataobj)

def read_series():
    dss = [pydicom.dcmread(os.path.join(folder, f)) for f in sorted(os.listdir(folder))]
    iop = np.array(dss[0].ImageOrientationPatient, dtype=float)
    normal = np.cross(iop[:3], iop[3:])
    dss.sort(key=lambda d: float(np.dot(np.array(d.ImagePositionPatient, dtype=float), normal)))
    return np.stack([d.pixel_array for d in dss])

def best(fn):
    first = fn()
    t = float("inf")
    for _ in range(reps):
        s = time.perf_counter()
        a = fn()
        t = min(t, time.perf_counter() - s)
    return t, first.nbytes

n = best(read_nifti)
d = best(read_series)
print(json.dumps({"nifti_s": n[0], "nifti_bytes": n[1], "dicom_s": d[0], "dicom_bytes": d[1]}))
