/*
 * open.c - opening an untrusted raster, and refusing what must not be
 * opened.
 *
 * A file is opened only by the drivers its extension names that are also
 * on the allow-list (config "drivers"); VRT and the other drivers that
 * read files or URLs named inside the file are off unless an operator
 * turns them on.  Before opening, the content is identified among the
 * allowed drivers and a few that are worth naming (VRT, GPKG, netCDF,
 * ...), so a GeoTIFF named .png or a VRT named .tif is refused with what
 * it really is.  A .zip is read through /vsizip/ and must hold exactly
 * one raster (sidecars such as world files and .aux.xml may come along).
 * Then the raster is validated: size, bands, types, geotransform, CRS.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <cpl_string.h>
#include <cpl_vsi.h>

#include "raster.h"

/* GTiff, JP2, PNG, JPEG, ERDAS IMG, ...: formats that hold their pixels
 * and name no other file or URL */
static const char *const default_drivers[] = {
	"GTiff", "COG", "JP2OpenJPEG", "PNG", "JPEG", "HFA", "GIF", "BMP",
	"WEBP", "DTED", "SRTMHGT", "AAIGrid", NULL,
};

/* content worth naming in a refusal, even when not allowed */
static const char *const named_drivers[] = {
	"VRT", "GTiff", "PNG", "JPEG", "JP2OpenJPEG", "HFA", "GIF", "BMP",
	"WEBP", "GPKG", "netCDF", "HDF5", "HDF4", "NITF", "PDF", "MBTiles",
	"WMS", "WMTS", NULL,
};

static const struct {
	const char *ext;
	const char *drivers; /* comma-separated */
} by_ext[] = {
	{ "tif", "GTiff" }, { "tiff", "GTiff" }, { "gtif", "GTiff" },
	{ "jp2", "JP2OpenJPEG" }, { "j2k", "JP2OpenJPEG" },
	{ "jpx", "JP2OpenJPEG" }, { "png", "PNG" }, { "jpg", "JPEG" },
	{ "jpeg", "JPEG" }, { "img", "HFA" }, { "gif", "GIF" },
	{ "bmp", "BMP" }, { "webp", "WEBP" }, { "dt0", "DTED" },
	{ "dt1", "DTED" }, { "dt2", "DTED" }, { "hgt", "SRTMHGT" },
	{ "asc", "AAIGrid" }, { "ntf", "NITF" }, { "nitf", "NITF" },
	{ "gpkg", "GPKG" }, { "nc", "netCDF" }, { "h5", "HDF5" },
	{ "hdf5", "HDF5" }, { "hdf", "HDF4" }, { "vrt", "VRT" },
	{ "pdf", "PDF" }, { "mbtiles", "MBTiles" }, { "kea", "KEA" },
};

/* files a zip may carry beside its raster */
static const char *const sidecars[] = {
	"aux.xml", "xml", "ovr", "msk", "tfw", "tifw", "pgw", "pngw", "jgw",
	"jpgw", "wld", "j2w", "gfw", "bpw", "prj", "txt", "md", "pdf",
	"html", "rrd", "ige", "imd", "rpb", "til", NULL,
};

static const char *
extension(const char *name, char *buf, size_t n)
{
	const char *dot = strrchr(name, '.');
	size_t i;

	if (dot == NULL || dot[1] == '\0') {
		buf[0] = '\0';
		return buf;
	}
	for (i = 0; dot[1 + i] != '\0' && i + 1 < n; i++)
		buf[i] = (char)tolower((unsigned char)dot[1 + i]);
	buf[i] = '\0';
	return buf;
}

static const char *
ext_drivers(const char *ext)
{
	size_t i;

	for (i = 0; i < sizeof(by_ext) / sizeof(by_ext[0]); i++)
		if (strcmp(by_ext[i].ext, ext) == 0)
			return by_ext[i].drivers;
	return NULL;
}

static int
is_sidecar(const char *name)
{
	size_t i, ln = strlen(name);

	for (i = 0; sidecars[i] != NULL; i++) {
		size_t ls = strlen(sidecars[i]);

		if (ln > ls + 1 && name[ln - ls - 1] == '.' &&
		    strcasecmp(name + ln - ls, sidecars[i]) == 0)
			return 1;
	}
	return 0;
}

/* The allow-list: config "drivers" (array or comma-separated string). */
static char **
allowed_drivers(const json_t *cfg)
{
	const json_t *v = json_object_get(cfg, "drivers");
	char **list = NULL;
	size_t i;
	json_t *e;

	if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			if (json_is_string(e))
				list = CSLAddString(list, json_string_value(e));
	} else if (json_is_string(v)) {
		char **parts = CSLTokenizeString2(json_string_value(v), ", ",
		    CSLT_STRIPLEADSPACES | CSLT_STRIPENDSPACES);

		for (i = 0; parts != NULL && parts[i] != NULL; i++)
			list = CSLAddString(list, parts[i]);
		CSLDestroy(parts);
	} else
		for (i = 0; default_drivers[i] != NULL; i++)
			list = CSLAddString(list, default_drivers[i]);
	/* the COG driver writes; GTiff reads what it writes */
	if (CSLFindString(list, "COG") >= 0 && CSLFindString(list, "GTiff") < 0)
		list = CSLAddString(list, "GTiff");
	return list;
}

static void
joined(char *buf, size_t n, char **list)
{
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; list != NULL && list[i] != NULL && off < n; i++)
		off += (size_t)snprintf(buf + off, n - off, "%s%s", i ? ", " : "",
		    list[i]);
}

static const char *
driver_long(const char *shortname)
{
	GDALDriverH d = GDALGetDriverByName(shortname);
	const char *l = d ? GDALGetDriverLongName(d) : NULL;

	return l ? l : shortname;
}

/* The one raster in a zip (recursively); 0, or -1 with the task failed. */
static int
zip_member(struct spool_worker_task *t, const char *zip, const char *name,
    char *out, size_t n)
{
	char vz[RASTER_PATH], ext[16], found[RASTER_PATH] = "", others[512] = "";
	char **list;
	int i, count = 0;

	snprintf(vz, sizeof(vz), "/vsizip/%s", zip);
	rerr_reset();
	list = VSIReadDirRecursive(vz);
	if (list == NULL) {
		char why[600];

		return spool_worker_fail(t, 1, "'%s' is not a readable zip: %s",
		    name, rerr_text(why, sizeof(why), "no entries"));
	}
	for (i = 0; list[i] != NULL; i++) {
		const char *m = list[i];
		size_t lm = strlen(m);
		VSIStatBufL sb;
		char full[RASTER_PATH];

		if (lm == 0 || m[lm - 1] == '/' || strstr(m, "__MACOSX") ||
		    is_sidecar(m))
			continue;
		if ((size_t)snprintf(full, sizeof(full), "%s/%s", vz, m) >=
		    sizeof(full))
			continue;
		if (VSIStatL(full, &sb) != 0 || VSI_ISDIR(sb.st_mode))
			continue;
		extension(m, ext, sizeof(ext));
		if (strcmp(ext, "zip") == 0) {
			/* m is list's: said before list goes */
			spool_worker_fail(t, 1, "'%s' holds another zip ('%s'): "
			    "send the raster in one zip", name, m);
			CSLDestroy(list);
			return -1;
		}
		if (ext_drivers(ext) == NULL)
			continue;
		if (count++ == 0)
			snprintf(found, sizeof(found), "%s", m);
		else if (strlen(others) + strlen(m) + 5 < sizeof(others)) {
			size_t off = strlen(others);

			if (off > 0) {
				memcpy(others + off, ", ", 2);
				off += 2;
			}
			others[off++] = '\'';
			memcpy(others + off, m, lm);
			off += lm;
			others[off++] = '\'';
			others[off] = '\0';
		}
	}
	CSLDestroy(list);
	if (count == 0)
		return spool_worker_fail(t, 1, "'%s' holds no raster file "
		    "(looked for .tif, .jp2, .png, .jpg, .img, ...)", name);
	if (count > 1)
		return spool_worker_fail(t, 1, "'%s' holds %d rasters ('%s', "
		    "%s): send one raster per zip", name, count, found, others);
	if ((size_t)snprintf(out, n, "%s/%s", vz, found) >= n)
		return spool_worker_fail(t, 1, "'%s': member name too long",
		    name);
	return 0;
}

int
rsrc_open(struct spool_worker_task *t, const char *name, struct rsrc *s)
{
	char buf[RASTER_PATH], ext[16], why[1024], list_s[512];
	char **allowed = NULL, **expected = NULL, **usable = NULL;
	char **named = NULL;
	const char *in, *exp_s, *content = NULL;
	GDALDriverH drv;
	size_t i;
	json_t *e;
	int r = -1;

	memset(s, 0, sizeof(*s));
	if (name == NULL) {
		e = json_array_get(t->inputs, 0);
		name = json_string_value(json_object_get(e, "name"));
	}
	if (name == NULL || (in = spool_worker_input(t, name, buf,
	    sizeof(buf))) == NULL)
		return spool_worker_fail(t, 1, "the task names no input file");
	snprintf(s->name, sizeof(s->name), "%s", name);
	rstem(name, s->stem, sizeof(s->stem));
	snprintf(s->path, sizeof(s->path), "%s", in);

	extension(name, ext, sizeof(ext));
	if (strcmp(ext, "zip") == 0) {
		if (zip_member(t, in, name, s->path, sizeof(s->path)) != 0)
			return -1;
		extension(s->path, ext, sizeof(ext));
	}
	if ((exp_s = ext_drivers(ext)) == NULL)
		return spool_worker_fail(t, 1, "'%s': '.%s' is not a raster "
		    "extension this node knows (.tif, .jp2, .png, .jpg, .img, "
		    ".gif, .bmp, .webp, .dt0-2, .hgt, .asc, or a .zip of one)",
		    name, ext);
	expected = CSLTokenizeString2(exp_s, ",", 0);
	allowed = allowed_drivers(t->config);
	for (i = 0; expected[i] != NULL; i++)
		if (CSLFindString(allowed, expected[i]) >= 0 &&
		    GDALGetDriverByName(expected[i]) != NULL)
			usable = CSLAddString(usable, expected[i]);

	/* what the content is, among the drivers worth naming */
	for (i = 0; allowed[i] != NULL; i++)
		if (GDALGetDriverByName(allowed[i]) != NULL)
			named = CSLAddString(named, allowed[i]);
	for (i = 0; named_drivers[i] != NULL; i++)
		if (CSLFindString(named, named_drivers[i]) < 0 &&
		    GDALGetDriverByName(named_drivers[i]) != NULL)
			named = CSLAddString(named, named_drivers[i]);
	rerr_reset();
	drv = GDALIdentifyDriverEx(s->path, GDAL_OF_RASTER,
	    (const char *const *)named, NULL);
	if (drv != NULL)
		content = GDALGetDriverShortName(drv);
	if (content != NULL && CSLFindString(expected, content) < 0) {
		spool_worker_fail(t, 1, "'%s': its name (.%s) says %s (%s) but "
		    "its content is %s (%s): refused", name, ext, expected[0],
		    driver_long(expected[0]), content, driver_long(content));
		goto out;
	}
	if (usable == NULL) {
		joined(list_s, sizeof(list_s), allowed);
		spool_worker_fail(t, 1, "'%s': driver %s (%s) is not allowed on "
		    "this node%s (allowed: %s)", name, expected[0],
		    driver_long(expected[0]), strcmp(expected[0], "VRT") == 0 ?
		    ": a VRT names other files, which could be any file the "
		    "worker can read" : "", list_s);
		goto out;
	}
	rerr_reset();
	s->ds = GDALOpenEx(s->path, GDAL_OF_RASTER | GDAL_OF_READONLY |
	    GDAL_OF_VERBOSE_ERROR, (const char *const *)usable, NULL, NULL);
	if (s->ds == NULL) {
		spool_worker_fail(t, 1, "'%s' is not a readable %s raster: %s",
		    name, usable[0], rerr_text(why, sizeof(why),
		    "no driver recognised it"));
		goto out;
	}
	if (rinfo_read(s->ds, &s->info, why, sizeof(why)) != 0) {
		spool_worker_fail(t, 1, "'%s': %s", name, why);
		goto out;
	}
	/* limits: a tiny file may claim a huge raster */
	{
		int64_t max_bytes = rcfg_size(t->config, "max_bytes",
		    (int64_t)1 << 40);
		int64_t max_bands = rcfg_size(t->config, "max_bands", 4096);

		if (s->info.bands > max_bands) {
			spool_worker_fail(t, 1, "'%s' has %d bands; this node "
			    "takes at most %lld (config max_bands)", name,
			    s->info.bands, (long long)max_bands);
			goto out;
		}
		if (s->info.pixel_bytes > (uint64_t)max_bytes) {
			spool_worker_fail(t, 1, "'%s' is %dx%d with %d bands: "
			    "%llu bytes of pixels, over this node's limit of "
			    "%lld (config max_bytes)", name, s->info.width,
			    s->info.height, s->info.bands,
			    (unsigned long long)s->info.pixel_bytes,
			    (long long)max_bytes);
			goto out;
		}
	}
	r = 0;
out:
	if (r != 0 && s->ds != NULL) {
		GDALClose(s->ds);
		s->ds = NULL;
	}
	CSLDestroy(allowed);
	CSLDestroy(expected);
	CSLDestroy(usable);
	CSLDestroy(named);
	return r;
}

void
rsrc_close(struct rsrc *s)
{
	if (s == NULL)
		return;
	rinfo_release(&s->info);
	if (s->ds != NULL)
		GDALClose(s->ds);
	s->ds = NULL;
}

void
rinfo_release(struct rinfo *ri)
{
	if (ri->srs != NULL)
		OSRDestroySpatialReference(ri->srs);
	ri->srs = NULL;
}

static int
supported_type(GDALDataType dt)
{
	switch (dt) {
	case GDT_Byte:
	case GDT_UInt16:
	case GDT_Int16:
	case GDT_UInt32:
	case GDT_Int32:
	case GDT_Float32:
	case GDT_Float64:
#if GDAL_VERSION_NUM >= 3050000
	case GDT_UInt64:
	case GDT_Int64:
#endif
#if GDAL_VERSION_NUM >= 3070000
	case GDT_Int8:
#endif
		return 1;
	default:
		return 0;
	}
}

int
rinfo_read(GDALDatasetH ds, struct rinfo *ri, char *why, size_t n)
{
	GDALRasterBandH b1;
	OGRSpatialReferenceH srs, wgs84;
	OGRCoordinateTransformationH ct;
	const char *auth, *nb;
	double det;
	int i;

	memset(ri, 0, sizeof(*ri));
	ri->width = GDALGetRasterXSize(ds);
	ri->height = GDALGetRasterYSize(ds);
	ri->bands = GDALGetRasterCount(ds);
	snprintf(ri->driver, sizeof(ri->driver), "%s",
	    GDALGetDriverShortName(GDALGetDatasetDriver(ds)));
	if (ri->width < 1 || ri->height < 1) {
		snprintf(why, n, "empty raster (%dx%d)", ri->width, ri->height);
		return -1;
	}
	if (ri->bands < 1) {
		snprintf(why, n, "no raster band (a container of subdatasets? "
		    "send one raster)");
		return -1;
	}
	b1 = GDALGetRasterBand(ds, 1);
	ri->type = GDALGetRasterDataType(b1);
	ri->all_nodata = 1;
	for (i = 1; i <= ri->bands; i++) {
		GDALRasterBandH b = GDALGetRasterBand(ds, i);
		GDALDataType dt = GDALGetRasterDataType(b);
		int has;

		if (!supported_type(dt)) {
			snprintf(why, n, "band %d has data type %s, which this "
			    "node does not process (complex or unknown)", i,
			    GDALGetDataTypeName(dt));
			return -1;
		}
		if (dt != ri->type) {
			ri->mixed_types = 1;
			ri->type = GDALDataTypeUnion(ri->type, dt);
		}
		GDALGetRasterNoDataValue(b, &has);
		if (!has)
			ri->all_nodata = 0;
		if (GDALGetRasterColorInterpretation(b) == GCI_AlphaBand &&
		    ri->alpha_band == 0)
			ri->alpha_band = i;
		if (GDALGetDefaultRAT(b) != NULL ||
		    GDALGetRasterCategoryNames(b) != NULL)
			ri->classified = 1;
	}
	if (GDALGetRasterColorTable(b1) != NULL) {
		ri->paletted = 1;
		ri->classified = 1;
	}
	ri->per_dataset_mask = (GDALGetMaskFlags(b1) & GMF_PER_DATASET) &&
	    !(GDALGetMaskFlags(b1) & (GMF_ALL_VALID | GMF_NODATA));
	GDALGetBlockSize(b1, &ri->block_x, &ri->block_y);
	nb = GDALGetMetadataItem(b1, "NBITS", "IMAGE_STRUCTURE");
	ri->nbits = nb != NULL ? atoi(nb) : 0;
	if (ri->block_x < 1 || ri->block_x > ri->width)
		ri->block_x = ri->width;
	if (ri->block_y < 1 || ri->block_y > ri->height)
		ri->block_y = ri->height;
	ri->pixel_bytes = (uint64_t)ri->width * (uint64_t)ri->height *
	    (uint64_t)ri->bands * (uint64_t)GDALGetDataTypeSizeBytes(ri->type);

	ri->has_gt = GDALGetGeoTransform(ds, ri->gt) == CE_None;
	if (ri->has_gt) {
		for (i = 0; i < 6; i++)
			if (!isfinite(ri->gt[i])) {
				snprintf(why, n, "geotransform holds a non-finite "
				    "number");
				return -1;
			}
		det = ri->gt[1] * ri->gt[5] - ri->gt[2] * ri->gt[4];
		if (det == 0 || !isfinite(det)) {
			snprintf(why, n, "degenerate geotransform (%g, %g, %g, "
			    "%g, %g, %g): pixels have no area", ri->gt[0],
			    ri->gt[1], ri->gt[2], ri->gt[3], ri->gt[4], ri->gt[5]);
			return -1;
		}
	} else {
		ri->gt[0] = 0;
		ri->gt[1] = 1;
		ri->gt[2] = 0;
		ri->gt[3] = 0;
		ri->gt[4] = 0;
		ri->gt[5] = 1;
	}
	srs = GDALGetSpatialRef(ds);
	if (srs != NULL) {
		ri->srs = OSRClone(srs);
		OSRSetAxisMappingStrategy(ri->srs, OAMS_TRADITIONAL_GIS_ORDER);
		auth = OSRGetAuthorityName(ri->srs, NULL);
		if (auth != NULL && strcmp(auth, "EPSG") == 0)
			ri->epsg = atoi(OSRGetAuthorityCode(ri->srs, NULL));
		if (ri->epsg == 0 && OSRAutoIdentifyEPSG(ri->srs) == OGRERR_NONE) {
			/* AutoIdentify sets the authority on a copy only when it
			 * is sure; read it back */
			auth = OSRGetAuthorityName(ri->srs, NULL);
			if (auth != NULL && strcmp(auth, "EPSG") == 0)
				ri->epsg = atoi(OSRGetAuthorityCode(ri->srs, NULL));
		}
		if (ri->has_gt) {
			wgs84 = OSRNewSpatialReference(NULL);
			OSRImportFromEPSG(wgs84, 4326);
			OSRSetAxisMappingStrategy(wgs84,
			    OAMS_TRADITIONAL_GIS_ORDER);
			ct = OCTNewCoordinateTransformation(ri->srs, wgs84);
			ri->georef = ct != NULL;
			OCTDestroyCoordinateTransformation(ct);
			OSRDestroySpatialReference(wgs84);
		}
	}
	return 0;
}

GDALDatasetH
ropen_own(const char *path)
{
	static const char *const own[] = { "GTiff", "VRT", NULL };
	GDALDatasetH ds;

	/* reading our outputs must not write .aux.xml beside them */
	CPLSetThreadLocalConfigOption("GDAL_PAM_ENABLED", "NO");
	ds = GDALOpenEx(path, GDAL_OF_RASTER | GDAL_OF_READONLY |
	    GDAL_OF_VERBOSE_ERROR, own, NULL, NULL);
	return ds;
}
