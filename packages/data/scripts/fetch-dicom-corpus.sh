#!/usr/bin/env bash
# Fetches the real-DICOM test corpus into packages/data/.corpus/ (idempotent).
#
# - pydicom/: test files shipped in Debian's python3-pydicom package (written by
#   GDCM, dcmtk, vendors and the pydicom project — not by us).
# - dcmtk/:   variants made from those files with Debian's dcmtk tools (no
#   meta header, big endian, MONOCHROME1, RLE, JPEG lossless/baseline, JPEG-LS, 8-bit).
# - reference/: the compressed files decompressed again by dcmtk, read at test
#   time by pydicom + numpy (/usr/bin/python3) as the independent expectation.
#
# Installs with apt what it needs (python3-pydicom python3-numpy python3-pil dcmtk).
# Runs unattended (CI=true, no stdin) as root, or via sudo.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CORPUS="$HERE/.corpus"
STAMP="$CORPUS/.complete-v1"
PACKAGES=(python3-pydicom python3-numpy python3-pil dcmtk)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "fetch-dicom-corpus: installing ${missing[*]} with apt" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "fetch-dicom-corpus: need root or sudo to apt-get install ${missing[*]}" >&2; exit 1; }
    SUDO="sudo -n"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ -f "$STAMP" ] && exit 0

SRC="$(/usr/bin/python3 -c 'import os, pydicom; print(os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files"))')"
rm -rf "$CORPUS.tmp"
mkdir -p "$CORPUS.tmp/pydicom" "$CORPUS.tmp/dcmtk" "$CORPUS.tmp/reference"
cd "$CORPUS.tmp"

# Files used by the tests, as shipped.
for f in CT_small MR_small MR_small_implicit MR_small_bigendian MR_small_expb MR_small_RLE MR_small_padded MR_truncated \
  MR_small_jpeg_ls_lossless MR_small_jp2klossless JPEG2000 693_J2KI JPGExtended J2K_pixelrep_mismatch \
  ExplVR_BigEnd ExplVR_LitEndNoMeta ExplVR_BigEndNoMeta SC_rgb_rle SC_rgb_rle_16bit SC_rgb_jpeg_gdcm SC_rgb_small_odd \
  rtdose_1frame rtdose_rle_1frame image_dfl rtplan rtplan_truncated test-SR reportsi; do
  cp "$SRC/$f.dcm" "pydicom/$f.dcm"
done

P=pydicom
D=dcmtk
# Without Part-10 meta header (bare dataset), explicit and implicit VR.
dcmconv -F +te "$P/CT_small.dcm" "$D/CT_nometa_explicit.dcm"
dcmconv -F +ti "$P/CT_small.dcm" "$D/CT_nometa_implicit.dcm"
# Explicit VR big endian with a rescale (CT_small has intercept -1024).
dcmconv +tb "$P/CT_small.dcm" "$D/CT_bigendian.dcm"
# MONOCHROME1: same pixels, inverted display.
cp "$P/CT_small.dcm" "$D/CT_monochrome1.dcm"
dcmodify -nb -m "(0028,0004)=MONOCHROME1" "$D/CT_monochrome1.dcm"
# RLE lossless of a signed CT with rescale.
dcmcrle "$P/CT_small.dcm" "$D/CT_rle.dcm"
# JPEG lossless, first-order prediction (…4.70) and process 14 with predictor 6 (…4.57).
dcmcjpeg +e1 "$P/CT_small.dcm" "$D/CT_jpeg_lossless_sv1.dcm"
dcmcjpeg +el +sv 6 "$P/MR_small.dcm" "$D/MR_jpeg_lossless_p14.dcm"
# 16-bit unsigned (12 bits stored): the NM JPEG Extended file decompressed by dcmtk's IJG codec.
dcmdjpeg "$P/JPGExtended.dcm" "$D/NM_u12.dcm"
# JPEG-LS lossless, and near-lossless (dcmtk encodes near-lossless for unsigned data only).
dcmcjpls +el "$P/CT_small.dcm" "$D/CT_jpegls_lossless.dcm"
dcmcjpls +en +md 3 "$D/NM_u12.dcm" "$D/NM_jpegls_near.dcm"
# 8-bit unsigned grayscale: CT rendered to an 8-bit BMP, then wrapped as DICOM by img2dcm.
dcm2pnm +Wm +ob "$P/CT_small.dcm" gray8.bmp
img2dcm -i BMP gray8.bmp "$D/gray8.dcm"
rm gray8.bmp
# 8-bit signed: same bytes declared PixelRepresentation 1.
cp "$D/gray8.dcm" "$D/gray8_signed.dcm"
dcmodify -nb -m "(0028,0103)=1" "$D/gray8_signed.dcm"
# JPEG baseline (8-bit grayscale).
dcmcjpeg +eb "$D/gray8.dcm" "$D/gray8_jpeg_baseline.dcm"

# References: compressed files decompressed by dcmtk (not by any code under test).
R=reference
for f in "$D/CT_rle.dcm" "$P/MR_small_RLE.dcm" "$P/SC_rgb_rle.dcm" "$P/SC_rgb_rle_16bit.dcm" "$P/rtdose_rle_1frame.dcm"; do
  dcmdrle "$f" "$R/$(basename "$f")"
done
for f in "$D/CT_jpeg_lossless_sv1.dcm" "$D/MR_jpeg_lossless_p14.dcm" "$D/gray8_jpeg_baseline.dcm" "$P/SC_rgb_jpeg_gdcm.dcm"; do
  dcmdjpeg "$f" "$R/$(basename "$f")"
done
for f in "$D/CT_jpegls_lossless.dcm" "$D/NM_jpegls_near.dcm" "$P/MR_small_jpeg_ls_lossless.dcm"; do
  dcmdjpls "$f" "$R/$(basename "$f")"
done

{
  echo "Made by packages/data/scripts/fetch-dicom-corpus.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  dpkg-query -W -f='${Package} ${Version}\n' "${PACKAGES[@]}"
  echo "pydicom/ copied from $SRC"
} > PROVENANCE.txt

cd "$HERE"
rm -rf "$CORPUS"
mv "$CORPUS.tmp" "$CORPUS"
touch "$STAMP"
echo "fetch-dicom-corpus: corpus ready in $CORPUS" >&2
