"""Files for the upload tests, written by pydicom (a writer independent of ours).

  upload_files.py folder OUT PATIENT_ID FAMILY COUNT   -> COUNT CT images of one new study
  upload_files.py cd OUT PATIENT_ID FAMILY COUNT       -> a CD image: DICOMDIR, its files, a README
  upload_files.py read FILE                            -> a VL photo's facts as JSON

Prints JSON: the study UID and each file's path and SOP Instance UID.
"""
import json
import os
import struct
import sys

import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.fileset import FileSet
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid


def image(patient_id, family, study_uid, series_uid, number):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.PatientName = f"{family}^Test"
    ds.PatientID = patient_id
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.StudyID = "1"
    ds.StudyDate = "20261207"
    ds.StudyTime = "101500"
    ds.StudyDescription = "Outside CT"
    ds.Modality = "CT"
    ds.SeriesNumber = 1
    ds.InstanceNumber = number
    ds.ImagePositionPatient = [0, 0, float(number)]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = [0.5, 0.5]
    ds.SliceThickness = 1
    ds.Rows = ds.Columns = 64
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.RescaleIntercept = -1024
    ds.RescaleSlope = 1
    ds.PixelData = struct.pack("<4096h", *((p * (number + 1)) % 2000 for p in range(64 * 64)))
    return ds


def folder(out, patient_id, family, count):
    os.makedirs(out, exist_ok=True)
    study_uid, series_uid = generate_uid(), generate_uid()
    files = []
    for i in range(count):
        ds = image(patient_id, family, study_uid, series_uid, i + 1)
        path = os.path.join(out, f"IM{i + 1:04d}.dcm")
        ds.save_as(path, enforce_file_format=True)
        files.append({"path": path, "sop": ds.SOPInstanceUID, "series": series_uid})
    return {"study": study_uid, "files": files}


def cd(out, patient_id, family, count):
    staging = out + ".in"
    made = folder(staging, patient_id, family, count)
    fs = FileSet()
    for f in made["files"]:
        fs.add(pydicom.dcmread(f["path"]))
    fs.write(out)
    with open(os.path.join(out, "README.TXT"), "w") as readme:
        readme.write("Not a DICOM file: the DICOMDIR does not name it.\n")
    files = []
    for instance in fs:
        files.append({"path": instance.path, "sop": instance.SOPInstanceUID})
    return {"study": made["study"], "files": files}


def read(path):
    ds = pydicom.dcmread(path)
    frame = next(pydicom.encaps.generate_frames(ds.PixelData, number_of_frames=1))
    site = ds.get("AnatomicRegionSequence")
    return {
        "sopClass": str(ds.SOPClassUID),
        "syntax": str(ds.file_meta.TransferSyntaxUID),
        "patientId": str(ds.PatientID),
        "patientName": str(ds.PatientName),
        "rows": int(ds.Rows),
        "columns": int(ds.Columns),
        "photometric": str(ds.PhotometricInterpretation),
        "bodySite": str(site[0].CodeValue) if site else None,
        "frame": frame.hex(),
    }


if __name__ == "__main__":
    kind = sys.argv[1]
    if kind == "read":
        print(json.dumps(read(sys.argv[2])))
    else:
        maker = {"folder": folder, "cd": cd}[kind]
        print(json.dumps(maker(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))))
