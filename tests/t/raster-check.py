#!/usr/bin/python3
"""Independent checks of the raster worker's outputs, with GDAL's Python
bindings as the reference (never the worker's own numbers).  Used by
tests/t/raster-check.sh; each subcommand exits 0 when the check holds and
prints why not otherwise.

  task FILE DIR STAGE PARAMS CONFIG PLAN NAME...   write a task line
  answer FILE [KEY...]          print answer[KEY]... (JSON; strings raw)
  plans ANSWER DIR              write answer.next[i] to DIR/plan-i.json
  bounds METADATA RASTER        bounds vs TransformBounds(21), wgs84Extent
  preview PNG METADATA MAX      size, aspect of the EPSG:3857 extent, alpha
  finite FILE                   JSON without NaN/Infinity
  schema FILE SCHEMA            JSON Schema 2020-12
  hashes METADATA               outputs' BLAKE2b-256 match the files
  pixels A B                    every band's checksum equal
  palette COG CLASS...          colour table kept; overviews hold only CLASSes
  item ITEM                     assets: types, roles, relative hrefs present
  collection COLL               item links present, each Item's collection
"""
import hashlib
import json
import math
import os
import sys

from osgeo import gdal, osr

gdal.UseExceptions()
COG_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"
MERC_LAT = 85.0511287798
R = 6378137.0


def fail(msg):
    print(msg)
    sys.exit(1)


def load(path):
    def bad(c):
        raise ValueError("non-finite number %s" % c)
    with open(path, encoding="utf-8") as f:
        return json.load(f, parse_constant=bad)


def b2(path):
    h = hashlib.blake2b(digest_size=32)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def task(args):
    out, d, stage, params, config, plan = args[:6]
    inputs = []
    for name in args[6:]:
        p = os.path.join(d, "in", name)
        inputs.append({"name": name, "path": "in/" + name,
                       "size": os.path.getsize(p), "hash": b2(p)})
    t = {"v": 1, "task": "00000000-0000-7000-8000-000000000001",
         "job": "00000000-0000-7000-8000-000000000002",
         "request": "00000000-0000-7000-8000-000000000003",
         "kind": "raster", "stage": stage, "stage_index": 0, "index": 0,
         "count": 1, "attempt": 1, "dir": os.path.abspath(d),
         "inputs": inputs, "params": json.loads(params),
         "config": json.loads(config),
         "plan": json.loads(plan) if plan != "-" else None,
         "limits": {"timeout_ms": 300000, "memory": 2 << 30,
                    "threads": int(os.environ.get("RASTER_THREADS", "2")),
                    "cachemax": 256 << 20}}
    with open(out, "w") as f:
        f.write(json.dumps(t) + "\n")


def answer(args):
    a = load(args[0])
    for k in args[1:]:
        a = a.get(k) if isinstance(a, dict) else None
    print(a if isinstance(a, str) else json.dumps(a))


def plans(args):
    a = load(args[0])
    for i, p in enumerate(a.get("next") or []):
        with open(os.path.join(args[1], "plan-%d.json" % i), "w") as f:
            json.dump(p, f)
    print(len(a.get("next") or []))


def native_bbox(ds):
    gt = ds.GetGeoTransform()
    w, h = ds.RasterXSize, ds.RasterYSize
    xs, ys = [], []
    for px, py in ((0, 0), (w, 0), (0, h), (w, h)):
        xs.append(gt[0] + px * gt[1] + py * gt[2])
        ys.append(gt[3] + px * gt[4] + py * gt[5])
    return min(xs), min(ys), max(xs), max(ys)


def bounds(args):
    m = load(args[0])
    ds = gdal.Open(args[1])
    srs = ds.GetSpatialRef()
    if srs is None:
        if m["crs"] is not None or m["bounds"] is not None or m["leaflet_bounds"] is not None:
            fail("a raster without CRS must have crs, bounds, leaflet_bounds null")
        return
    b = m["bounds"]
    lb = m["leaflet_bounds"]
    if b is None or lb is None:
        fail("no bounds for a raster with a CRS")
    if lb != [[b[1], b[0]], [b[3], b[2]]]:
        fail("leaflet_bounds %r are not bounds %r reordered" % (lb, b))
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    wgs = osr.SpatialReference()
    wgs.ImportFromEPSG(4326)
    wgs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    ct = osr.CoordinateTransformation(srs, wgs)
    nb = native_bbox(ds)
    if m.get("native_bbox") is not None:
        for a, e in zip(m["native_bbox"], nb):
            if abs(a - e) > 1e-6 * max(1, abs(e)):
                fail("native_bbox %r, expected %r" % (m["native_bbox"], nb))
    try:
        ref = ct.TransformBounds(nb[0], nb[1], nb[2], nb[3], 21)
    except RuntimeError:
        ref = (math.inf,) * 4
    if all(math.isfinite(v) for v in ref):
        for a, e, k in zip(b, ref, ("west", "south", "east", "north")):
            if abs(a - e) > 1e-7:
                fail("%s %.12f, TransformBounds says %.12f" % (k, a, e))
        if m.get("bounds_method") != "transform_bounds":
            fail("bounds_method %r" % m.get("bounds_method"))
        ext = gdal.Info(ds, format="json").get("wgs84Extent")
        for ring in (ext or {}).get("coordinates", []):
            for lon, lat in ring:
                # gdalinfo rounds to 7 decimals
                if not (b[0] - 1e-7 <= lon <= b[2] + 1e-7 and b[1] - 1e-7 <= lat <= b[3] + 1e-7):
                    fail("wgs84Extent corner (%r, %r) outside bounds %r" % (lon, lat, b))
        return
    # corners off the planet: finite bounds from the pixels that transform,
    # around the sub-satellite point (the projection's central meridian)
    if not all(math.isfinite(v) for v in b):
        fail("non-finite bounds %r" % b)
    if m.get("bounds_method") != "sampled_grid":
        fail("bounds_method %r, want sampled_grid" % m.get("bounds_method"))
    lon0 = srs.GetProjParm(osr.SRS_PP_CENTRAL_MERIDIAN, 0.0)
    proj4 = srs.ExportToProj4()
    for tok in proj4.split():
        if tok.startswith("+lon_0="):
            lon0 = float(tok[7:])
    if not (b[0] < lon0 < b[2] and b[1] < 0 < b[3]):
        fail("bounds %r do not surround the sub-satellite point (%r, 0)" % (b, lon0))
    if not (-180 <= b[0] and b[2] <= 180 and -90 <= b[1] and b[3] <= 90):
        fail("bounds %r off the globe" % b)
    if b[2] - b[0] < 90 or b[3] - b[1] < 90:
        fail("bounds %r too small for a full disk" % b)


def merc_y(lat):
    lat = max(-MERC_LAT, min(MERC_LAT, lat))
    return R * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def preview(args):
    png, m, mx = gdal.Open(args[0]), load(args[1]), int(args[2])
    if png.GetDriver().ShortName != "PNG":
        fail("not a PNG")
    w, h = png.RasterXSize, png.RasterYSize
    if max(w, h) > mx:
        fail("preview %dx%d over %d px" % (w, h, mx))
    if png.RasterCount != 4 or png.GetRasterBand(4).GetColorInterpretation() != gdal.GCI_AlphaBand:
        fail("preview is not RGBA")
    if m["leaflet_bounds"] is None:
        ratio = m["width"] / m["height"]
    else:
        (s, west), (n, east) = m["leaflet_bounds"]
        if east < west:
            east += 360
        ratio = (R * math.radians(east - west)) / (merc_y(n) - merc_y(s))
    if abs(w - h * ratio) > 1 and abs(h - w / ratio) > 1:
        fail("preview %dx%d, the extent's aspect is %.6f" % (w, h, ratio))
    # some pixels shown, and (for a georeferenced raster) its real size
    alpha = png.GetRasterBand(4).ReadRaster()
    if not any(alpha):
        fail("preview is all transparent")
    if m.get("preview") and (m["preview"]["width"], m["preview"]["height"]) != (w, h):
        fail("metadata says preview %r, the file is %dx%d" % (m["preview"], w, h))


def finite(args):
    try:
        load(args[0])
    except ValueError as e:
        fail("%s: %s" % (args[0], e))


def schema(args):
    import jsonschema
    doc, s = load(args[0]), load(args[1])
    errs = list(jsonschema.Draft202012Validator(s).iter_errors(doc))
    if errs:
        fail("; ".join("/%s: %s" % ("/".join(map(str, e.absolute_path)), e.message[:200]) for e in errs[:5]))


def hashes(args):
    m = load(args[0])
    d = os.path.dirname(os.path.abspath(args[0]))
    outs = m.get("outputs") or {}
    if not outs:
        fail("no output hashes")
    for name, h in outs.items():
        p = os.path.join(d, name)
        if not os.path.exists(p):
            fail("output %s is not beside metadata.json" % name)
        if b2(p) != h["blake2b_256"]:
            fail("%s: BLAKE2b-256 differs" % name)


def pixels(args):
    a, b = gdal.Open(args[0]), gdal.Open(args[1])
    if (a.RasterXSize, a.RasterYSize, a.RasterCount) != (b.RasterXSize, b.RasterYSize, b.RasterCount):
        fail("sizes differ: %dx%dx%d vs %dx%dx%d" % (a.RasterXSize, a.RasterYSize, a.RasterCount,
                                                    b.RasterXSize, b.RasterYSize, b.RasterCount))
    for i in range(1, a.RasterCount + 1):
        ca, cb = a.GetRasterBand(i).Checksum(), b.GetRasterBand(i).Checksum()
        if ca != cb:
            fail("band %d checksum %d vs %d" % (i, ca, cb))


def palette(args):
    ds = gdal.Open(args[0])
    classes = set(int(c) for c in args[1:])
    b = ds.GetRasterBand(1)
    ct = b.GetColorTable()
    if ct is None or b.GetColorInterpretation() != gdal.GCI_PaletteIndex:
        fail("colour table lost")
    if b.GetOverviewCount() < 1:
        fail("no overviews")
    for i in range(b.GetOverviewCount()):
        vals = set(b.GetOverview(i).ReadRaster())
        if not vals <= classes:
            fail("overview %d holds %r, not only %r" % (i, sorted(vals - classes), sorted(classes)))


def item(args):
    it = load(args[0])
    d = os.path.dirname(os.path.abspath(args[0]))
    data = [a for a in it["assets"].values() if "data" in a.get("roles", [])]
    if len(data) != 1 or data[0]["type"] != COG_TYPE:
        fail("the data asset: %r" % data)
    for k, a in it["assets"].items():
        href = a["href"]
        if href.startswith("/") or "://" in href or "/" in href.lstrip("./"):
            fail("asset %s href %r is not relative" % (k, href))
        if not os.path.exists(os.path.join(d, href)):
            fail("asset %s: %s missing" % (k, href))
    roles = sorted(r for a in it["assets"].values() for r in a["roles"])
    if "preview" in " ".join(it["assets"]) or "overview" in it["assets"]:
        if "overview" not in roles or "metadata" not in roles:
            fail("roles %r" % roles)


def collection(args):
    c = load(args[0])
    d = os.path.dirname(os.path.abspath(args[0]))
    items = [l["href"] for l in c["links"] if l["rel"] == "item"]
    if not items:
        fail("no item links")
    for h in items:
        p = os.path.join(d, h)
        if not os.path.exists(p):
            fail("item %s missing" % h)
        if load(p).get("collection") != c["id"]:
            fail("item %s does not name collection %s" % (h, c["id"]))


if __name__ == "__main__":
    cmd = sys.argv[1]
    globals()[cmd](sys.argv[2:])
