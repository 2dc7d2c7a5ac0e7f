#!/usr/bin/env python3
"""Writes expected.json: for every file bundled in pydicom's data/test_files, what pydicom (with
the pylibjpeg decoders) reads, in the form the `dicom-lite dump --json` tool prints.

    pip install pydicom numpy pylibjpeg pylibjpeg-libjpeg pylibjpeg-openjpeg pylibjpeg-rle
    python3 make_fixtures.py            # writes expected.json next to this script

The stored and rendered bytes follow the tool's definitions (frame 1):
  stored   decoded values before colour conversion, unused high bits masked (unsigned) or
           sign-extended (signed), typed by Bits Allocated and Pixel Representation (1-bit as
           u8 0/1), samples interleaved, little endian;
  rendered grayscale: Modality LUT (sequence, else rescale looked up at top level, then the
           first per-frame functional group, then the shared one), the first window (or one
           spanning the modality values), LINEAR per PS3.3 C.11.2.1.2, MONOCHROME1 inverted,
           1 byte per pixel; colour: RGB scaled floor(v*255/(2^BitsStored-1)+0.5), 3 bytes per
           pixel; PALETTE COLOR: LUT value scaled by 255/(2^bits-1).
The arithmetic is written in the same order as the Rust so float64 results agree exactly.

Lossy transfer syntaxes (JPEG baseline/extended, JPEG-LS near-lossless, JPEG 2000 and HTJ2K
irreversible): decoders may legitimately differ from pydicom's by rounding (IDCT, chroma
upsampling, wavelet arithmetic), so for those files `lossy` also holds what a tolerance check
needs, in a few kilobytes at most:
  stride, count  every stride-th stored sample (in the interleaved order of `stored`), count of
                 them; stride is 1 (every sample) for frames of up to LOSSY_SAMPLES samples,
                 otherwise the smallest value >= n/LOSSY_SAMPLES sharing no factor with 2 or 3,
                 so the kept samples fall on every column parity and every colour channel;
  values         those samples, little endian at their own width, zlib-compressed, base64;
  min, max, mean over the whole frame.
The Rust test requires every kept sample within +-2 of ours, and min, max and mean within 2.
"""

import base64
import hashlib
import json
import math
import zlib
import os
import struct
import sys
import warnings

import numpy as np
import pydicom
from pydicom.pixels import pixel_array
from pydicom.pixels.processing import _expand_segmented_lut
from pydicom.multival import MultiValue

warnings.simplefilter("ignore")

ATTRIBUTES = [
    ("StudyInstanceUID", False), ("SeriesInstanceUID", False), ("SOPInstanceUID", False),
    ("PatientID", False), ("Modality", False), ("Rows", True), ("Columns", True),
    ("NumberOfFrames", True), ("SamplesPerPixel", True), ("BitsAllocated", True),
    ("BitsStored", True), ("PixelRepresentation", True), ("PhotometricInterpretation", False),
]


LOSSY_SYNTAXES = {
    "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.81",
    "1.2.840.10008.1.2.4.91", "1.2.840.10008.1.2.4.203",
}
LOSSY_SAMPLES = 4096


def lossy_check(stored):
    flat = np.ascontiguousarray(stored).ravel()
    n = flat.size
    stride = 1
    if n > LOSSY_SAMPLES:
        stride = math.ceil(n / LOSSY_SAMPLES)
        while stride % 2 == 0 or stride % 3 == 0:
            stride += 1
    kept = flat[::stride]
    return {
        "stride": stride,
        "count": int(kept.size),
        "values": base64.b64encode(zlib.compress(kept.tobytes(), 9)).decode("ascii"),
        "min": float(flat.min()),
        "max": float(flat.max()),
        "mean": float(flat.astype(np.float64).mean()),
    }


def test_files_dir():
    return os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")


def first(v):
    return v[0] if isinstance(v, (MultiValue, list, tuple)) else v


def attribute(ds, name, numeric):
    try:
        v = ds.get(name)
    except Exception:
        return None
    if v is None:
        return None
    v = first(v)
    if v is None:
        return None
    if numeric:
        try:
            f = float(v)
        except (TypeError, ValueError):
            return None
        return int(f) if f >= 0 and f == int(f) and f <= 2**32 - 1 else None
    return str(v)


def transfer_syntax(ds):
    uid = ds.file_meta.get("TransferSyntaxUID") if hasattr(ds, "file_meta") else None
    if uid:
        return str(uid).strip("\0 "), False
    implicit, little = ds.original_encoding
    if implicit:
        return "1.2.840.10008.1.2", True
    return ("1.2.840.10008.1.2.1" if little else "1.2.840.10008.1.2.2"), True


def sha(a):
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def stored_values(ds, arr):
    ba, pr = int(ds.BitsAllocated), int(ds.get("PixelRepresentation", 0) or 0)
    bs = int(ds.get("BitsStored", ba) or ba)
    if ba == 1:
        return arr.astype("<u1")
    width = {8: 1, 16: 2, 32: 4}[ba]
    unsigned = np.dtype(f"<u{width}")
    raw = arr.astype(np.int64) & ((1 << ba) - 1)
    raw &= (1 << bs) - 1
    if pr:
        raw = np.where(raw >= (1 << (bs - 1)), raw - (1 << bs), raw)
        return raw.astype(np.dtype(f"<i{width}"))
    return raw.astype(unsigned)


def frame_sources(ds, group):
    yield ds
    for seq in ("PerFrameFunctionalGroupsSequence", "SharedFunctionalGroupsSequence"):
        items = ds.get(seq)
        if items:
            inner = items[0].get(group)
            if inner:
                yield inner[0]


def words(ds, value, n=None):
    if isinstance(value, (bytes, bytearray)):
        little = ds.original_encoding[1] if ds.original_encoding[1] is not None else True
        count = len(value) // 2
        return list(struct.unpack(("<" if little else ">") + f"{count}H", value[: count * 2]))
    return [int(x) & 0xFFFF for x in (value if isinstance(value, (list, MultiValue)) else [value])]


def descriptor(ds, value):
    vals = words(ds, value) if isinstance(value, (bytes, bytearray)) else [int(x) & 0xFFFF for x in value]
    n, fm, bits = vals[:3]
    n = n or 65536
    if int(ds.get("PixelRepresentation", 0) or 0) == 1 and fm >= 32768:
        fm -= 65536
    return n, fm, bits


def lookup(lut, first_mapped, x):
    idx = np.clip(np.asarray(x, dtype=np.int64) - first_mapped, 0, len(lut) - 1)
    return np.asarray(lut)[idx]


def modality(ds, values):
    seq = ds.get("ModalityLUTSequence")
    if seq and "LUTDescriptor" in seq[0] and "LUTData" in seq[0]:
        n, fm, _ = descriptor(ds, seq[0].LUTDescriptor)
        data = words(ds, seq[0].LUTData)
        if len(data) >= n:
            return lookup(np.array(data[:n], dtype=np.float64), fm, np.round(values)).astype(np.float64)
    for d in frame_sources(ds, "PixelValueTransformationSequence"):
        if "RescaleSlope" in d or "RescaleIntercept" in d:
            slope = float(first(d.get("RescaleSlope", 1.0)) if d.get("RescaleSlope") not in (None, "") else 1.0)
            intercept = float(first(d.get("RescaleIntercept", 0.0)) if d.get("RescaleIntercept") not in (None, "") else 0.0)
            return values * slope + intercept
    return values * 1.0 + 0.0


def window(ds):
    for d in frame_sources(ds, "FrameVOILUTSequence"):
        if "WindowCenter" in d and "WindowWidth" in d:
            c, w = float(first(d.WindowCenter)), float(first(d.WindowWidth))
            fn = str(d.get("VOILUTFunction", "LINEAR") or "LINEAR").strip()
            return c, w, fn
    return None


def voi(m, c, w, fn):
    if fn == "LINEAR_EXACT":
        y = ((m - c) / w + 0.5) * 255.0 if w > 0 else np.zeros_like(m)
        y = np.where(m <= c - max(w, 0.0) / 2.0, 0.0, np.where(m > c + max(w, 0.0) / 2.0, 255.0, y))
    elif fn == "SIGMOID":
        y = 255.0 / (1.0 + np.exp(-4.0 * (m - c) / w))
    else:
        w = 1.0 if w < 1.0 else w
        with np.errstate(divide="ignore", invalid="ignore"):
            y = ((m - (c - 0.5)) / (w - 1.0) + 0.5) * 255.0
        y = np.where(m <= c - 0.5 - (w - 1.0) / 2.0, 0.0, np.where(m > c - 0.5 + (w - 1.0) / 2.0, 255.0, y))
    return np.clip(np.floor(y + 0.5), 0, 255).astype(np.uint8)


def scale(v, mx):
    return np.clip(np.floor(np.clip(v, 0.0, mx) * 255.0 / mx + 0.5), 0, 255).astype(np.uint8)


def palette_lut(ds, colour):
    n, fm, bits = descriptor(ds, ds[f"{colour}PaletteColorLookupTableDescriptor"].value)
    key = f"{colour}PaletteColorLookupTableData"
    if key in ds:
        data = ds[key].value
        if len(data) >= 2 * n:
            lut = words(ds, data)[:n]
        else:
            lut = list(data[:n])
    else:
        seg = ds[f"SegmentedRed{''}PaletteColorLookupTableData".replace("Red", colour)].value
        little = ds.original_encoding[1] if ds.original_encoding[1] is not None else True
        fmt = ("<" if little else ">") + (f"{len(seg)}B" if bits <= 8 else f"{len(seg) // 2}H")
        lut = _expand_segmented_lut(struct.unpack(fmt, seg[: struct.calcsize(fmt)]), fmt)[:n]
        lut = lut + [lut[-1]] * (n - len(lut))
    return np.array(lut, dtype=np.float64), fm, float(2 ** bits - 1)


def rendered(ds, stored):
    pi = str(ds.PhotometricInterpretation).strip()
    bs = int(ds.get("BitsStored", ds.BitsAllocated) or ds.BitsAllocated)
    values = stored.astype(np.float64)
    if pi in ("MONOCHROME1", "MONOCHROME2"):
        m = modality(ds, values)
        win = window(ds)
        if win is None:
            lo, hi = float(m.min()), float(m.max())
            win = ((lo + hi) / 2.0, max(hi - lo, 1.0), "LINEAR")
        out = voi(m, *win)
        return 255 - out if pi == "MONOCHROME1" else out
    if pi == "PALETTE COLOR":
        chans = []
        for colour in ("Red", "Green", "Blue"):
            lut, fm, mx = palette_lut(ds, colour)
            chans.append(scale(lookup(lut, fm, stored), mx))
        return np.stack(chans, axis=-1)
    mx = float(2 ** bs - 1)
    if pi in ("YBR_FULL", "YBR_FULL_422"):
        half = float(2 ** (bs - 1))
        y, cb, cr = values[..., 0], values[..., 1] - half, values[..., 2] - half
        values = np.stack([y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb], axis=-1)
    elif pi not in ("RGB", "YBR_RCT", "YBR_ICT"):
        raise ValueError(f"no rendering defined for {pi}")
    return scale(values, mx)


def describe(path):
    entry = {}
    try:
        ds = pydicom.dcmread(path)
    except pydicom.errors.InvalidDicomError as e:
        # No preamble: a bare data set, or not DICOM at all. Forced reads of non-DICOM bytes
        # yield a single garbage element; a real data set has more.
        try:
            ds = pydicom.dcmread(path, force=True)
            if len(ds) < 2:
                raise ValueError("not a data set")
            entry["pydicom_forced"] = True
        except Exception:  # noqa: BLE001
            entry["pydicom_error"] = f"{type(e).__name__}: {e}"[:300]
            return entry
    except Exception as e:  # noqa: BLE001 - any failure is the answer
        entry["pydicom_error"] = f"{type(e).__name__}: {e}"[:300]
        return entry
    ts, guessed = transfer_syntax(ds)
    entry["transfer_syntax_uid"] = ts
    entry["transfer_syntax_guessed"] = guessed
    entry["attributes"] = {name: attribute(ds, name, numeric) for name, numeric in ATTRIBUTES}
    entry["stored_sha256"] = None
    entry["rendered_sha256"] = None
    if "PixelData" not in ds:
        entry["pixel_error"] = "no Pixel Data"
        return entry
    try:
        try:
            arr = pixel_array(path, index=0, raw=True)
        except Exception:  # noqa: BLE001 - e.g. deflated or bare data sets: decode from the Dataset
            if "TransferSyntaxUID" not in ds.file_meta:
                ds.file_meta.TransferSyntaxUID = ts
            ds.pixel_array_options(index=0, raw=True)
            arr = ds.pixel_array
        if int(ds.get("SamplesPerPixel", 1) or 1) > 1 and arr.ndim == 3 and arr.shape[0] == int(ds.SamplesPerPixel) and arr.shape[-1] != int(ds.SamplesPerPixel):
            arr = np.moveaxis(arr, 0, -1)
        stored = stored_values(ds, arr)
        entry["stored_sha256"] = sha(stored)
        if ts in LOSSY_SYNTAXES:
            entry["lossy"] = lossy_check(stored)
    except Exception as e:  # noqa: BLE001
        entry["pixel_error"] = f"{type(e).__name__}: {e}"[:300]
        return entry
    try:
        entry["rendered_sha256"] = sha(rendered(ds, stored))
    except Exception as e:  # noqa: BLE001
        entry["render_error"] = f"{type(e).__name__}: {e}"[:300]
    return entry


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else test_files_dir()
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            out[os.path.relpath(path, root).replace(os.sep, "/")] = describe(path)
    versions = {"pydicom": pydicom.__version__, "numpy": np.__version__}
    for pkg in ("pylibjpeg", "libjpeg", "openjpeg", "rle"):
        try:
            versions[pkg] = __import__(pkg).__version__
        except Exception:  # noqa: BLE001
            pass
    doc = {"generator": "make_fixtures.py", "versions": versions, "files": dict(sorted(out.items()))}
    target = os.path.join(os.path.dirname(os.path.abspath(__file__)), "expected.json")
    with open(target, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=False)
        f.write("\n")
    print(f"{len(out)} files -> expected.json")


if __name__ == "__main__":
    main()
