"""Independent reference decoder for the tests: pydicom + numpy (Debian packages).

usage: /usr/bin/python3 reference_pixels.py FILE...
Prints one JSON object per file: rows, cols, samples, photometric, and the
first frame's values with the modality LUT (RescaleSlope/Intercept) applied,
flattened row-major (interleaved for colour).
"""
import json
import sys
import warnings

import numpy as np
import pydicom
from pydicom.pixel_data_handlers.util import apply_modality_lut

warnings.simplefilter("ignore")

for path in sys.argv[1:]:
    try:
        ds = pydicom.dcmread(path, force=True)
        if "TransferSyntaxUID" not in ds.file_meta:
            # Bare dataset: pydicom guesses the encoding while reading; record it for pixel decoding.
            ds.file_meta.TransferSyntaxUID = (
                pydicom.uid.ImplicitVRLittleEndian if ds.is_implicit_VR else
                pydicom.uid.ExplicitVRLittleEndian if ds.is_little_endian else pydicom.uid.ExplicitVRBigEndian
            )
        arr = ds.pixel_array
        frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
        if frames > 1:
            arr = arr[0]
        samples = int(getattr(ds, "SamplesPerPixel", 1))
        if samples == 1:
            arr = apply_modality_lut(arr, ds)
        values = np.asarray(arr, dtype=np.float64).ravel()
        print(json.dumps({
            "file": path, "ok": True, "rows": int(ds.Rows), "cols": int(ds.Columns), "samples": samples,
            "photometric": str(ds.PhotometricInterpretation), "values": values.tolist(),
        }))
    except Exception as error:  # reported, the test decides what it means
        print(json.dumps({"file": path, "ok": False, "error": f"{type(error).__name__}: {error}"}))
