/* The `file` exporter's factory: config table, lifecycle on the exporter helper, and the
 * send function that encodes a batch and hands the bytes to file_writer.c. */
#include "exporters/file/file_exporter.h"
#include "exporters/file/file_writer.h"

#include "pipeline/core/err.h"
#include "pipeline/exporterhelper/exporter_base.h"
#include "pipeline/telemetry/log.h"
#include "pipeline/translate/otlp_codec.h"
#include "pipeline/translate/pprof.h"

#include <stdlib.h>
#include <string.h>

enum { FMT_OTLP_PROTO, FMT_OTLP_JSON, FMT_PPROF };

typedef struct file_exporter_config {
    char *directory;
    int format;
    char *prefix;
    int64_t max_files;
    uint64_t max_total_bytes;
    bool fsync;
    pg_exporter_helper_config helper;
} C;

static const char *const FORMATS[] = {"otlp_proto", "otlp_json", "pprof", NULL};
static const char *const EXTS[] = {".otlp.pb", ".otlp.json", ".pb.gz"};

static const pg_cfg_field TABLE[] = {
    {.key = "directory",
     .type = PG_CFG_STRING,
     .offset = offsetof(C, directory),
     .required = true,
     .doc = "where the files are written (created if missing)"},
    {.key = "format",
     .type = PG_CFG_ENUM,
     .offset = offsetof(C, format),
     .def = "otlp_proto",
     .enum_values = FORMATS,
     .doc = "otlp_proto (.otlp.pb), otlp_json (.otlp.json) or pprof (one .pb.gz per profile)"},
    {.key = "prefix",
     .type = PG_CFG_STRING,
     .offset = offsetof(C, prefix),
     .def = "profiles",
     .doc = "file names are <prefix>-<unix_ms>-<seq><ext>; [A-Za-z0-9._-] only"},
    {.key = "max_files",
     .type = PG_CFG_INT,
     .offset = offsetof(C, max_files),
     .def = "0",
     .min = "0",
     .doc = "keep at most this many files, deleting the oldest (0 = unlimited)"},
    {.key = "max_total_bytes",
     .type = PG_CFG_SIZE,
     .offset = offsetof(C, max_total_bytes),
     .def = "0",
     .doc = "keep at most this many bytes of files, oldest deleted (0 = unlimited)"},
    {.key = "fsync",
     .type = PG_CFG_BOOL,
     .offset = offsetof(C, fsync),
     .def = "false",
     .doc = "fsync each file and the directory before it counts as written"},
    PG_EXPORTER_HELPER_FIELDS(C, helper),
    {0},
};

typedef struct file_exporter {
    pg_exporter_base base; /* first: settings, helper */
    C cfg;                 /* strings copied */
    pg_file_writer *writer;
} file_exporter;

/* Borrows cfg. */
static int validate(const void *vcfg, char *err, size_t errlen)
{
    const C *c = vcfg;
    if (!c->directory || !c->directory[0])
        return pg_err(err, errlen, PG_EINVAL, "directory: must not be empty");
    if (!pg_file_writer_name_ok(c->prefix))
        return pg_err(err, errlen, PG_EINVAL,
                      "prefix: \"%s\" must be 1 to 64 of [A-Za-z0-9._-], not starting with '.'",
                      c->prefix ? c->prefix : "");
    return pg_exporter_helper_config_validate(&c->helper, err, errlen);
}

/* Encoding failures: out of memory may pass, anything else never will. */
static int encode_status(int rc)
{
    return rc == PG_ENOMEM ? PG_EAGAIN : rc;
}

/* Writes every pprof group of b (borrowed) as one gzipped file each, all or none. */
static int send_pprof(file_exporter *e, const pg_batch *b, char *err, size_t errlen)
{
    pg_pprof_group *groups = NULL;
    size_t ng = 0;
    int rc = pg_pprof_plan(b, &groups, &ng, err, errlen);
    if (rc) return encode_status(rc);
    pg_buf *bufs = ng ? calloc(ng, sizeof *bufs) : NULL;
    if (ng && !bufs) rc = pg_err(err, errlen, PG_EAGAIN, "out of memory");
    pg_pprof_encode_opts o = {.gzip = 1, .links_as_labels = 1};
    for (size_t i = 0; i < ng && !rc; i++)
        rc = encode_status(pg_pprof_encode(b, &groups[i], &o, &bufs[i], err, errlen));
    if (!rc) rc = pg_file_writer_write(e->writer, bufs, ng, err, errlen);
    for (size_t i = 0; bufs && i < ng; i++)
        pg_buf_free(&bufs[i]);
    free(bufs);
    pg_pprof_groups_free(groups, ng);
    return rc;
}

/* pg_send_fn: encodes b (borrowed) and writes it. PG_EAGAIN for I/O trouble, another
 * negative status for a batch that cannot be encoded. Runs on helper threads. */
static int send_batch(void *ctx, const pg_batch *b, int64_t deadline_ns, char *err, size_t errlen)
{
    (void)deadline_ns;
    file_exporter *e = ctx;
    if (!e->writer) return pg_err(err, errlen, PG_EAGAIN, "not started");
    if (pg_batch_profile_count(b) == 0) return 0; /* nothing worth a file */
    if (e->cfg.format == FMT_PPROF) return send_pprof(e, b, err, errlen);
    pg_buf out = {0};
    int rc = e->cfg.format == FMT_OTLP_JSON ? pg_otlp_encode_json(b, &out, err, errlen)
                                            : pg_otlp_encode(b, &out, err, errlen);
    if (!rc && out.failed) rc = pg_err(err, errlen, PG_ENOMEM, "out of memory");
    rc = rc ? encode_status(rc) : pg_file_writer_write(e->writer, &out, 1, err, errlen);
    pg_buf_free(&out);
    return rc;
}

static void destroy(void *self)
{
    file_exporter *e = self;
    if (!e) return;
    pg_exporter_base_fini(&e->base);
    pg_file_writer_free(e->writer);
    free(e->cfg.directory);
    free(e->cfg.prefix);
    free(e);
}

/* Builds the exporter and its helper; copies what it keeps of s and cfg. */
static int create(const pg_component_settings *s, const void *vcfg, pg_consumer next, void **self,
                  char *err, size_t errlen)
{
    (void)next;
    const C *c = vcfg;
    *self = NULL;
    file_exporter *e = calloc(1, sizeof *e);
    if (!e) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    e->cfg = *c;
    e->cfg.helper.sending_queue.directory = NULL; /* the base keeps its own copy */
    e->cfg.directory = strdup(c->directory);
    e->cfg.prefix = strdup(c->prefix ? c->prefix : "profiles");
    if (!e->cfg.directory || !e->cfg.prefix) {
        destroy(e);
        return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    }
    int rc = pg_exporter_base_init(&e->base, s, &c->helper, send_batch, e, err, errlen);
    if (rc) {
        destroy(e);
        return rc;
    }
    *self = e;
    return 0;
}

/* Creates the directory, lists files of earlier runs, starts the helper. */
static int start(void *self, char *err, size_t errlen)
{
    file_exporter *e = self;
    pg_file_writer_opts o = {
        .directory = e->cfg.directory,
        .prefix = e->cfg.prefix,
        .ext = EXTS[e->cfg.format],
        .max_files = e->cfg.max_files,
        .max_total_bytes = e->cfg.max_total_bytes,
        .fsync = e->cfg.fsync,
        .log_id = e->base.settings.id,
    };
    int rc = pg_file_writer_open(&o, &e->writer, err, errlen);
    if (rc) return rc;
    pg_log(PG_LOG_INFO, e->base.settings.id, "writing %s files to %s (%zu already there)",
           FORMATS[e->cfg.format], e->cfg.directory, pg_file_writer_count(e->writer));
    return pg_exporter_base_start(e, err, errlen);
}

const pg_component_factory pg_file_exporter_factory = {
    .type = "file",
    .kind = PG_CFG_EXPORTER,
    .config = {.table = TABLE, .size = sizeof(C), .validate = validate},
    .create = create,
    .start = start,
    .shutdown = pg_exporter_base_shutdown,
    .destroy = destroy,
    .consume = pg_exporter_base_consume,
};
